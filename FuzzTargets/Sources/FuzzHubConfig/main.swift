import FuzzSupport
@testable import Hub
import Shared

/// Any text either makes a hub config or a `ConfigError` whose every issue names the file and a
/// line of the text; the same text always gives the same result.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let yaml = text(data, size)
    // `rule_files` reads the files it names (globs included): a fuzzer that writes `/dev/zero`
    // or `/**` would read the disk, not the config text. The rule reader has its own tests.
    guard !yaml.contains("rule_files") else { return 0 }
    let first = Result { () throws(ConfigError) in try HubConfig.parse(yaml, file: configFile) }
    let second = Result { () throws(ConfigError) in try HubConfig.parse(yaml, file: configFile) }
    switch (first, second) {
    case (.success(let a), .success(let b)):
        require(a == b, "the same text made two different configs")
    case (.failure(let a), .failure(let b)):
        require(a.issues == b.issues, "the same text gave different issues")
        checkIssues(a.issues.map { ($0.file, $0.line, $0.message) }, in: yaml)
    default:
        require(false, "the same text was accepted once and refused once")
    }
    return 0
}
