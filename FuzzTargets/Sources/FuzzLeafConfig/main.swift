import FuzzSupport
@testable import Leaf
import Shared

/// Any text either makes a leaf config or a `ConfigError` whose every issue names the file and
/// a line of the text; the same text always gives the same result.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let yaml = text(data, size)
    let first = Result { () throws(ConfigError) in try LeafConfig.parse(yaml, file: configFile) }
    let second = Result { () throws(ConfigError) in try LeafConfig.parse(yaml, file: configFile) }
    switch (first, second) {
    case (.success(let a), .success(let b)):
        require(a == b, "the same text made two different configs")
        require(a.externalLabels[LabelName.team] != nil, "a config without a team was accepted")
    case (.failure(let a), .failure(let b)):
        require(a.issues == b.issues, "the same text gave different issues")
        checkIssues(a.issues.map { ($0.file, $0.line, $0.message) }, in: yaml)
    default:
        require(false, "the same text was accepted once and refused once")
    }
    return 0
}
