/// What a scrape remembers of the body it consumed: its length and XXH64 hash. A body with the
/// same fingerprint next time is taken as the same body and not decoded again.
///
/// XXH64 (Yann Collet's xxHash, 64 bits) reads a body four words at a time: about four times
/// the speed of Swift's SipHash-based `Hasher`, which took 6 % of an unchanged scrape's CPU.
/// It is seeded once per process, so that a body cannot be made to collide with another without
/// knowing the seed; a collision of two different bodies of the same length is then a chance of
/// 2⁻⁶⁴ per scrape.
public struct BodyFingerprint: Equatable, Sendable {
    public var length: Int
    public var hash: UInt64

    static let seed = UInt64.random(in: .min ... .max)

    public init(_ bytes: UnsafeRawBufferPointer) {
        length = bytes.count
        hash = XXH64.hash(bytes, seed: Self.seed)
    }
}

public enum XXH64 {
    private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    private static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let count = bytes.count
        guard let base = bytes.baseAddress else { return avalanche(seed &+ p5) }
        var offset = 0
        var h: UInt64
        if count >= 32 {
            var v1 = seed &+ p1 &+ p2, v2 = seed &+ p2, v3 = seed, v4 = seed &- p1
            while offset + 32 <= count {
                v1 = round(v1, word(base, offset))
                v2 = round(v2, word(base, offset + 8))
                v3 = round(v3, word(base, offset + 16))
                v4 = round(v4, word(base, offset + 24))
                offset += 32
            }
            h = rotate(v1, 1) &+ rotate(v2, 7) &+ rotate(v3, 12) &+ rotate(v4, 18)
            for v in [v1, v2, v3, v4] { h = (h ^ round(0, v)) &* p1 &+ p4 }
        } else {
            h = seed &+ p5
        }
        h &+= UInt64(count)
        while offset + 8 <= count {
            h = rotate(h ^ round(0, word(base, offset)), 27) &* p1 &+ p4
            offset += 8
        }
        if offset + 4 <= count {
            let half = UInt64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            h = rotate(h ^ (half &* p1), 23) &* p2 &+ p3
            offset += 4
        }
        while offset < count {
            h = rotate(h ^ (UInt64(base.load(fromByteOffset: offset, as: UInt8.self)) &* p5), 11) &* p1
            offset += 1
        }
        return avalanche(h)
    }

    @inline(__always) private static func word(_ base: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always) private static func round(_ accumulator: UInt64, _ input: UInt64) -> UInt64 {
        rotate(accumulator &+ input &* p2, 31) &* p1
    }

    @inline(__always) private static func rotate(_ value: UInt64, _ bits: UInt64) -> UInt64 {
        (value << bits) | (value >> (64 - bits))
    }

    private static func avalanche(_ value: UInt64) -> UInt64 {
        var h = value
        h ^= h >> 33
        h &*= p2
        h ^= h >> 29
        h &*= p3
        h ^= h >> 32
        return h
    }
}
