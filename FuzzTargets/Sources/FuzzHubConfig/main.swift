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
    _ = parseTwice(yaml, { text, file throws(ConfigError) in try HubConfig.parse(text, file: file) }, same: ==)
    return 0
}
