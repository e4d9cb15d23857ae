import Foundation
import Synchronization

#if canImport(Runtime)
internal import Runtime
#endif

/// How the collector names a group of errors: `<class>@<hash>`, the shape periskop-go uses.
///
/// - `<class>` is `ErrorDescription.className(of:)`, the module-qualified type name.
/// - `<hash>` is the first 8 hex digits of the FNV-1a 64-bit hash of the UTF-8 text
///   `message + "\n" + frame₁ + "\n" + … + frameₙ`: the error's message
///   (`ErrorDescription.message(of:)`) and the top `n` frames of the reporting call stack
///   (`ExceptionCollector.keyFrames`, 4 by default).
///
/// A frame is hashed as its line in the sample's `stacktrace` without the ` at <file>:<line>`
/// that ends it where debug information gives one:
/// - `<function> in <image>` for a frame that Swift's `Runtime` module symbolicated: the
///   demangled function name (`TrafficService.report(_:random:)`, `closure #1 in
///   checkout(_:)`) and the file name of the binary or library holding it (`canopy-demo`,
///   `libswift_Concurrency.so`). A function inlined into another is a frame of its own, and
///   an `async` function's caller is the function that awaits it (not the executor's frames).
/// - `<image>(+0x<offset>)` for a frame in a known image without a symbol (a stripped
///   binary): the return address's offset from where the image is loaded, as in
///   `Thread.callStackSymbols` (`addr2line -f -e app 0x1b40` names it, the offset minus one).
/// - A normalised `Thread.callStackSymbols` line (`normalise(frame:)`) for a frame in an image
///   loaded after the collector first looked (`dlopen`), or `<unknown>` if there is none.
/// - When the `Runtime` module is missing (macOS before 26) or fails, every frame is a
///   normalised `Thread.callStackSymbols` line, as before the module was used.
///
/// Why these parts: the type and the message say what went wrong, the frames say where it was
/// reported, so one bug at one call site is one group and the same message from two call sites
/// is two. No absolute address is hashed: ASLR moves them on every start, so a key is the same
/// in every run of one build. FNV-1a is fixed and unseeded (Swift's `Hasher` is seeded per
/// process, so it cannot be used), and it is what periskop-go hashes with.
///
/// Line numbers are not hashed, on purpose: an edit anywhere above a frame's line (a comment,
/// an import) moves it, so every group reported below it would start again under a new key at
/// the next deploy; function names change only when the code's structure does. The price: two
/// reports of the same class and message from two lines of one function, with the same callers,
/// are one group (its samples still show the lines). Also, in an optimised build a function
/// whose last statement is the `report` call may hand its frame to `report` (a tail call), and
/// then its caller is the first frame.
///
/// A message that embeds ids or times makes one group per distinct message: report such errors
/// with a key of your own (`ExceptionCollector.report(_:key:severity:httpContext:)`).
public enum AggregationKey {
    /// The key for an error of class `className` with `message`, reported at `frames` (each
    /// frame's stable part, top first).
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

    /// The absolute address in a `Thread.callStackSymbols` line (Linux: the trailing
    /// `[0x…]`; Darwin: the third column), to match the line to a frame of another capture.
    static func address(inSymbolLine line: String) -> UInt64? {
        if line.hasSuffix("]"), let open = line.range(of: " [0x", options: .backwards) {
            return UInt64(line[open.upperBound..<line.index(before: line.endIndex)], radix: 16)
        }
        let parts = line.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count > 2, parts[2].hasPrefix("0x") else { return nil }
        return UInt64(parts[2].dropFirst(2), radix: 16)
    }

    /// A reporting stack, top first: what a sample shows and what the key hashes.
    struct CallStack: Sendable, Equatable {
        /// One line per frame: `<function> in <image> at <file>:<line>`, or a fallback form
        /// (see the type's documentation).
        var lines: [String]
        /// Per line, the part that goes into the key: the line without ` at <file>:<line>`.
        var keyFrames: [String]
    }

    /// The calling stack, without the `skipping` innermost frames (the collector's own).
    ///
    /// Symbolicating is the expensive part (tens of µs a stack, against about 1 µs to walk
    /// it), and an error that happens at all tends to happen many times from the same place
    /// (an outage fails every request the same way): the result is kept per stack of return
    /// addresses, which identify a stack exactly within one process. The cache holds at most
    /// `symbolCacheSize` stacks and starts again empty when full.
    ///
    /// `@inline(never)` so that the number of frames to skip is the same in debug and release.
    @inline(never)
    static func callStack(skipping: Int, limit: Int) -> CallStack {
        guard limit > 0 else { return CallStack(lines: [], keyFrames: []) }
        #if canImport(Runtime)
        if #available(macOS 26.0, iOS 26.0, tvOS 26.0, watchOS 26.0, visionOS 26.0, *),
            let stack = SymbolicatedStack.capture(skipping: skipping + 1, limit: limit)
        {
            return stack
        }
        #endif
        // The fallback, `Thread.callStackSymbols`: function names only where the symbols are
        // exported (shared libraries, Darwin), offsets in the binary elsewhere.
        let addresses = Thread.callStackReturnAddresses.dropFirst(skipping + ownFrames).prefix(limit).map { UInt64($0.uintValue) }
        let key = StackKey(symbolicated: false, addresses: addresses)
        if let stack = cached(key) { return stack }
        // Both lists come from the same capture of the stack in this function: frame i of one is
        // frame i of the other.
        let frames = Thread.callStackSymbols.dropFirst(skipping + ownFrames).prefix(limit).map(normalise(frame:))
        let stack = CallStack(lines: frames, keyFrames: frames)
        remember(stack, for: key)
        return stack
    }

    static let symbolCacheSize = 256

    /// The two ways of capturing give different text for the same addresses, so each has its
    /// own entries.
    struct StackKey: Hashable, Sendable {
        var symbolicated: Bool
        var addresses: [UInt64]
    }

    private static let symbolCache = Mutex<[StackKey: CallStack]>([:])

    static func cached(_ key: StackKey) -> CallStack? {
        symbolCache.withLock { $0[key] }
    }

    static func remember(_ stack: CallStack, for key: StackKey) {
        symbolCache.withLock { cache in
            if cache.count >= symbolCacheSize { cache.removeAll(keepingCapacity: true) }
            cache[key] = stack
        }
    }

    /// Starts capturing the way reports do (see `SymbolicatedStack.images`), so that a
    /// collector made at startup does it before anything else in the process symbolicates.
    static func prepare() {
        #if canImport(Runtime)
        if #available(macOS 26.0, iOS 26.0, tvOS 26.0, watchOS 26.0, visionOS 26.0, *) { _ = SymbolicatedStack.images }
        #endif
    }
}

#if canImport(Runtime)
/// Stacks from Swift's `Runtime` module: `Backtrace.capture`, then `symbolicated()` (symbol
/// tables and DWARF, so names and lines even in an executable that exports no symbols).
@available(macOS 26.0, iOS 26.0, tvOS 26.0, watchOS 26.0, visionOS 26.0, *)
enum SymbolicatedStack {
    /// The process's images, captured once, at first use, and given to every capture and
    /// symbolication (which would otherwise capture them each time). Once because:
    /// - it costs about 250 µs (it reads `/proc/self/maps` and every image's headers), against
    ///   about 1 µs to walk the stack;
    /// - on Linux (Swift 6.3) a map captured after symbolication has started is wrong or worse:
    ///   the symbolicator maps each library's file into memory to read it, a later capture takes
    ///   that mapping for the library (whose frames then find no symbol), and a capture that
    ///   meets such a mapping as it goes away crashes.
    /// A library loaded after this (`dlopen`) is not in the map: its frames take the fallback.
    static let images = ImageMap.capture()

    /// `@inline(never)`, as `AggregationKey.callStack`: one frame of its own to skip.
    @inline(never)
    static func capture(skipping: Int, limit: Int) -> AggregationKey.CallStack? {
        let images = Self.images
        // `limit + 1`: the limit counts the marker that ends a cut stack. `top: 0`: the frames
        // nearest the report are wanted, not the stack's outermost ones.
        guard let backtrace = try? Backtrace.capture(limit: limit + 1, offset: skipping + 1, top: 0, images: images) else {
            return nil
        }
        let addresses = backtrace.frames.compactMap(address(of:))
        guard !addresses.isEmpty else { return nil }  // nothing unwound: the fallback may do better
        let key = AggregationKey.StackKey(symbolicated: true, addresses: addresses)
        if let stack = AggregationKey.cached(key) { return stack }
        guard let symbolicated = backtrace.symbolicated(with: images) else { return nil }

        var lines: [String] = []
        var keyFrames: [String] = []
        var symbolLines: [UInt64: String]?
        for frame in symbolicated.frames {
            guard let address = address(of: frame.captured) else { continue }
            if let symbol = frame.symbol, symbol.rawName != "<unknown>" {
                let name = symbol.name.trimmingCharacters(in: .whitespaces)
                let keyFrame = "\(name.isEmpty ? symbol.rawName : name) in \(symbol.imageName)"
                keyFrames.append(keyFrame)
                if let location = symbol.sourceLocation, location.line > 0, !location.path.hasPrefix("<"),
                    !location.path.hasSuffix("<compiler-generated>")
                {
                    lines.append("\(keyFrame) at \(location.path):\(location.line)")
                } else {
                    lines.append(keyFrame)
                }
            } else if frame.inlined {
                continue  // an inlined function without a name: its caller's frame follows.
            } else if let symbol = frame.symbol, images.indices.contains(symbol.imageIndex) {
                let base = UInt64(images[symbol.imageIndex].baseAddress) ?? 0
                let text = "\(symbol.imageName)(+0x\(String(address &- base, radix: 16)))"
                lines.append(text)
                keyFrames.append(text)
            } else {
                // In no image of the map: ask `dladdr` (through `callStackSymbols`), once per stack.
                if symbolLines == nil { symbolLines = callStackSymbolsByAddress() }
                let text = symbolLines?[address] ?? "<unknown>"
                lines.append(text)
                keyFrames.append(text)
            }
        }
        let stack = AggregationKey.CallStack(lines: Array(lines.prefix(limit)), keyFrames: Array(keyFrames.prefix(limit)))
        AggregationKey.remember(stack, for: key)
        return stack
    }

    /// The address of a frame, or nil for the markers of omitted and cut frames.
    private static func address(of frame: Backtrace.Frame) -> UInt64? {
        switch frame {
        case .programCounter, .returnAddress, .asyncResumePoint:
            return UInt64(frame.originalProgramCounter)
        default:
            return nil
        }
    }

    /// The normalised `Thread.callStackSymbols` lines of the current thread by absolute
    /// address: the same return addresses as the frames of `Backtrace.capture` up to the first
    /// `async` frame (which only the latter follows).
    private static func callStackSymbolsByAddress() -> [UInt64: String] {
        var lines: [UInt64: String] = [:]
        for line in Thread.callStackSymbols {
            if let address = AggregationKey.address(inSymbolLine: line) { lines[address] = AggregationKey.normalise(frame: line) }
        }
        return lines
    }
}
#endif

/// Frames of the fallback in `callStack` itself: on Linux the list starts with Foundation's
/// `callStackSymbols` getter and then this function; on Darwin with this function.
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
