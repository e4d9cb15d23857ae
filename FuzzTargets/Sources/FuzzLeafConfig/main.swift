import FuzzSupport
@testable import Leaf
import Shared

/// Any text either makes a leaf config or a `ConfigError` whose every issue names the file and
/// a line of the text; the same text always gives the same result.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let config = parseTwice(text(data, size), LeafConfig.parse, same: ==) else { return 0 }
    require(config.externalLabels[LabelName.team] != nil, "a config without a team was accepted")
    return 0
}
