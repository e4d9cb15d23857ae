import FuzzSupport
@testable import Shared

/// Any text either makes a web config or a `ConfigError` whose every issue names the file and a
/// line of the text; the same text always gives the same result; what is accepted is usable (every
/// header one a server may set, every user with a bcrypt hash).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let same = { (a: WebConfig, b: WebConfig) in a.users == b.users && a.headers.map(\.name) == b.headers.map(\.name) }
    guard let config = parseTwice(text(data, size), WebConfig.parse, same: same) else { return 0 }
    for (name, value) in config.headers { require(WebConfig.headerProblem(name, value) == nil, "header \(name) accepted with a problem") }
    for (user, hash) in config.users { require(hash.hasPrefix("$2"), "user \(user) accepted without a bcrypt hash") }
    return 0
}
