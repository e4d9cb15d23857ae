import FuzzSupport
@testable import Shared

/// Any text either makes a web config or a `ConfigError` whose every issue names the file and a
/// line of the text; the same text always gives the same result; what is accepted is usable (every
/// header one a server may set, every user with a bcrypt hash).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let yaml = text(data, size)
    let first = Result { () throws(ConfigError) in try WebConfig.parse(yaml, file: configFile) }
    let second = Result { () throws(ConfigError) in try WebConfig.parse(yaml, file: configFile) }
    switch (first, second) {
    case (.success(let a), .success(let b)):
        require(a.users == b.users && a.headers.map(\.name) == b.headers.map(\.name), "the same text made two different web configs")
        for (name, value) in a.headers { require(WebConfig.headerProblem(name, value) == nil, "header \(name) accepted with a problem") }
        for (user, hash) in a.users { require(hash.hasPrefix("$2"), "user \(user) accepted without a bcrypt hash") }
    case (.failure(let a), .failure(let b)):
        require(a.issues == b.issues, "the same text gave different issues")
        checkIssues(a.issues.map { ($0.file, $0.line, $0.message) }, in: yaml)
    default:
        require(false, "the same text was accepted once and refused once")
    }
    return 0
}
