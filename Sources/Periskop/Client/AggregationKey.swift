import Foundation
import Synchronization

/// How the collector names a group of errors: `<class>@<hash>`, the shape periskop-go uses.
///
/// - `<class>` is `ErrorDescription.className(of:)`, the module-qualified type name.
/// - `<hash>` is the first 8 hex digits of the FNV-1a 64-bit hash of the UTF-8 text
///   `message + "\n" + frame₁ + "\n" + … + frameₙ`: the error's message
///   (`ErrorDescription.message(of:)`) and the top `n` frames of the reporting call stack, each
///   normalised by `normalise(frame:)`.
///
/// Why these parts: the type and the message say what went wrong, the frames say where it was
/// reported, so one bug at one call site is one group and the same message from two call sites
/// is two. Frames are normalised so that the key is the same in every run of the same binary:
/// absolute addresses move with ASLR on each start, and a symbol's `+0x…` offset moves with each
/// build. FNV-1a is fixed and unseeded (Swift's `Hasher` is seeded per process, so it cannot be
/// used), and it is what periskop-go hashes with.
///
/// What "call site" means follows from the frames: the return addresses of the reporting
/// function and of its callers. Where symbols are visible (shared libraries, executables linked
/// with `--export-dynamic`, Darwin), a frame is its function, so reports from two lines of one
/// function share a key. Where they are not (a SwiftPM executable on Linux), a frame is its
/// offset in the binary, so each calling line is its own site, as in periskop-go, and keys change
/// when the binary is rebuilt; such a frame is symbolised with `addr2line -f -e app 0x1b40`
/// (the offset minus one, since it is a return address).
///
/// A message that embeds ids or times makes one group per distinct message: report such errors
/// with a key of your own (`ExceptionCollector.report(_:key:severity:httpContext:)`).
public enum AggregationKey {
    /// The key for an error of class `className` with `message`, reported at `frames` (already
    /// normalised, top first).
    public static func make(className: String, message: String, frames: some Sequence<String>) -> String {
        var hash = FNV1a64()
        hash.combine(message)
        for frame in frames {
            hash.combine("\n")
            hash.combine(frame)
        }
        return "\(className)@\(hash.hex8)"
    }

    /// A `Thread.callStackSymbols` line without the parts that change between runs or builds.
    ///
    /// - Linux (`/path/module(symbol+0x2e) [0x7f35…]`): `module(symbol)`. The directory goes
    ///   (the same binary may be installed elsewhere), the absolute address goes (ASLR), the
    ///   offset inside the symbol goes (it changes when the function's code does).
    ///   Where there is no symbol (`/path/app(+0x1b41) [0x55d6…]`, the usual case for an
    ///   executable linked without `--export-dynamic`), `app(+0x1b41)` is kept: the offset from
    ///   the module's start is the only name the frame has, and it is the same on every start
    ///   of the same binary (it changes with a rebuild, so keys of such frames do too).
    /// - Darwin (`3   MyApp   0x0000000100003f2c $s5MyApp4mainyyF + 44`): `MyApp $s5MyApp4mainyyF`,
    ///   without the frame number, the address and the offset.
    public static func normalise(frame: String) -> String {
        var line = Substring(frame)
        // Linux: drop the trailing " [0x…]" absolute address.
        if line.hasSuffix("]"), let open = line.range(of: " [0x", options: .backwards) {
            line = line[..<open.lowerBound]
        }
        if line.hasSuffix(")"), let open = line.lastIndex(of: "(") {
            let module = line[..<open].split(separator: "/").last.map(String.init) ?? ""
            var inside = line[line.index(after: open)..<line.index(before: line.endIndex)]
            if let plus = inside.range(of: "+0x", options: .backwards), plus.lowerBound != inside.startIndex {
                inside = inside[..<plus.lowerBound]
            }
            return "\(module)(\(inside))"
        }
        // Darwin: number, module, address, symbol, "+", offset.
        var parts = line.split(separator: " ", omittingEmptySubsequences: true)
        if let first = parts.first, Int(first) != nil { parts.removeFirst() }
        parts.removeAll { $0.hasPrefix("0x") }
        if parts.count >= 2, parts[parts.count - 2] == "+", Int(parts[parts.count - 1]) != nil {
            parts.removeLast(2)
        }
        return parts.joined(separator: " ")
    }

    /// The calling stack, normalised, without the `skipping` innermost frames (the stack
    /// capture itself and the collector's own frames).
    ///
    /// Symbolising is the expensive part (about 40 µs a stack on Linux, against 1 µs for the bare
    /// return addresses), and an error that happens at all tends to happen many times from the
    /// same place (an outage fails every request the same way): the normalised frames are kept
    /// per stack of return addresses, which identify a stack exactly within one process. The
    /// cache holds at most `symbolCacheSize` stacks and starts again empty when full.
    ///
    /// `@inline(never)` so that the number of frames to skip is the same in debug and release.
    @inline(never)
    static func callStack(skipping: Int, limit: Int) -> [String] {
        let addresses = Thread.callStackReturnAddresses.dropFirst(skipping + ownFrames).prefix(limit).map(\.uintValue)
        if let frames = symbolCache.withLock({ $0[addresses] }) { return frames }
        // Both lists come from the same capture of the stack in this function: frame i of one is
        // frame i of the other.
        let frames = Thread.callStackSymbols.dropFirst(skipping + ownFrames).prefix(limit).map(normalise(frame:))
        symbolCache.withLock { cache in
            if cache.count >= symbolCacheSize { cache.removeAll(keepingCapacity: true) }
            cache[addresses] = frames
        }
        return frames
    }

    static let symbolCacheSize = 256
    private static let symbolCache = Mutex<[[UInt]: [String]]>([:])
}

/// Frames of `callStack` itself: on Linux the list starts with Foundation's `callStackSymbols`
/// getter and then this function; on Darwin with this function.
#if os(Linux) || os(Android)
private let ownFrames = 2
#else
private let ownFrames = 1
#endif

/// FNV-1a, 64 bits: the same bytes give the same hash on every machine and in every run.
struct FNV1a64 {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func combine(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01b3
        }
    }

    /// The high 32 bits as 8 lower-case hex digits.
    var hex8: String {
        let high = String(value >> 32, radix: 16)
        return String(repeating: "0", count: 8 - high.count) + high
    }
}
