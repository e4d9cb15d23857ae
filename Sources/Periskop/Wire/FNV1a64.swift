/// FNV-1a, 64 bits: fixed and unseeded, so the same in every process and on every machine
/// (Swift's `Hasher` is seeded per process). Canopy's one stable hash: aggregation keys (as
/// periskop-go hashes them), derived sample uuids, asset versions, scrape offsets, seeds.
public struct FNV1a64: Sendable {
    public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    public init() {}

    public init(_ text: String) { combine(text) }

    public mutating func combine(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01b3
        }
    }

    /// The high 32 bits as 8 lower-case hex digits.
    public var hex8: String {
        let high = String(value >> 32, radix: 16)
        return String(repeating: "0", count: 8 - high.count) + high
    }

    /// All 64 bits as 16 lower-case hex digits.
    public var hex16: String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
