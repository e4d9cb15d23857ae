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
/// The frames hashed are the lines of the sample's `stacktrace` that do not start with
/// `[inlined] `, each without the ` at <file>:<line>` that ends it where debug information
/// gives one. That is, per return address on the stack:
/// - `<function> in <image>` for a frame that Swift's `Runtime` module symbolicated: the
///   demangled function name (`TrafficService.report(_:random:)`, `closure #1 in
///   checkout(_:)`) and the file name of the binary or library holding it (`canopy-demo`,
///   `libswift_Concurrency.so`). An `async` function's caller is the function that awaits it,
///   not the executor running it.
/// - `<image>(+0x<offset>)` for a frame in a known image without a symbol (a stripped
///   binary): the return address's offset from where the image is loaded, as in
///   `Thread.callStackSymbols` (`addr2line -f -e app 0x1b40` names it, the offset minus one).
/// - A normalised `Thread.callStackSymbols` line (`normalise(frame:)`) for a frame in an image
///   loaded after the collector first looked (`dlopen`), or `<unknown>` if there is none.
/// - When the `Runtime` module is missing (macOS before 26) or fails, every frame is a
///   normalised `Thread.callStackSymbols` line, as before the module was used.
///
/// File and line, and the `[inlined] ` lines of functions inlined into a frame, are looked up
/// after the report, on a thread of their own (see `StackLocator`): in a large binary that
/// costs tens of milliseconds a frame. So the first samples of a new stack may show only
/// function names, and neither can be part of the key.
///
/// Why these parts: the type and the message say what went wrong, the frames say where it was
/// reported, so one bug at one call site is one group and the same message from two call sites
/// is two. No absolute address is hashed: ASLR moves them on every start, so a key is the same
/// in every run of one build, and as long as the functions keep their names, in the next build
/// too. FNV-1a is fixed and unseeded (Swift's `Hasher` is seeded per process, so it cannot be
/// used), and it is what periskop-go hashes with.
///
/// Line numbers are not hashed, on purpose: an edit anywhere above a frame's line (a comment,
/// an import) moves it, so every group reported below it would become a new group at the next
/// deploy, losing its history and its resolved or ignored status at the hub. The price: two
/// reports of the same class and message from two lines of one function, with the same callers,
/// are one group (its samples still show the lines). In an optimised build a function whose
/// last statement is the `report` call may hand its frame to `report` (a tail call), functions
/// with the same code may be merged into one, and inlined functions are not hashed: the first
/// frames hashed are then callers further up.
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
    struct CallStack: Sendable {
        /// What the sample shows: a line per frame (`<function> in <image>`, or a fallback
        /// form; see the type's documentation), with ` at <file>:<line>` and `[inlined] ` lines
        /// once `StackLocator` has looked them up.
        var lines: [String]
        /// What the key hashes: a line per return address, never with file and line.
        var keyFrames: [String]
    }

    /// The calling stack, without the `skipping` innermost frames (the collector's own).
    ///
    /// Symbolicating is the expensive part (tens of µs a stack for the names, against about
    /// 1 µs to walk it), and an error that happens at all tends to happen many times from the
    /// same place (an outage fails every request the same way): the result is kept per stack of
    /// return addresses, which identify a stack exactly within one process. The cache holds at
    /// most `symbolCacheSize` stacks and starts again empty when full.
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

    /// Replaces a cached stack's lines by ones with file and line, if it is still cached. The
    /// key frames stay: reports of this stack keep the key they had.
    static func update(_ key: StackKey, lines: (CallStack) -> [String]) {
        guard let stack = cached(key) else { return }
        let located = lines(stack)  // outside the lock: it may take a while
        symbolCache.withLock { cache in
            if cache[key] != nil { cache[key]?.lines = located }
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
/// tables, so names even in an executable that exports no symbols, and DWARF for file and line).
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

    /// Frames of a stack, from the top, given a file and line and their inlined functions.
    static let locatedFrames = 10

    /// The stack with function names only: those come from the symbol table, cheaply (about
    /// 40 µs a stack; the first on each thread about 1 ms). File and line need DWARF, which the
    /// `Runtime` module searches line table by line table (about 20 ms a frame in a 45 MB
    /// binary, 0.5–1 s for the first, and some 80 MB kept per thread that does it): that is
    /// left to `StackLocator`.
    ///
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
        guard let symbolicated = backtrace.symbolicated(with: images, options: []) else { return nil }

        var frames: [String] = []
        var symbolLines: [UInt64: String]?
        for frame in symbolicated.frames {
            guard let address = address(of: frame.captured) else { continue }
            if let name = name(of: frame) {
                frames.append(name)
            } else if let symbol = frame.symbol, images.indices.contains(symbol.imageIndex) {
                let base = UInt64(images[symbol.imageIndex].baseAddress) ?? 0
                frames.append("\(symbol.imageName)(+0x\(String(address &- base, radix: 16)))")
            } else {
                // In no image of the map: ask `dladdr` (through `callStackSymbols`), once per stack.
                if symbolLines == nil { symbolLines = callStackSymbolsByAddress() }
                frames.append(symbolLines?[address] ?? "<unknown>")
            }
        }
        frames = Array(frames.prefix(limit))
        AggregationKey.remember(AggregationKey.CallStack(lines: frames, keyFrames: frames), for: key)
        // The top frames again, for `StackLocator` (the same frames: same function, same depth).
        if let top = try? Backtrace.capture(limit: min(limit, locatedFrames) + 1, offset: skipping + 1, top: 0, images: images) {
            StackLocator.shared.locate(key, top)
        }
        return AggregationKey.CallStack(lines: frames, keyFrames: frames)
    }

    /// The lines of `stack` with file and line for the frames of `top` (its first frames) and
    /// lines for the functions inlined into them. Slow: for `StackLocator` only.
    static func locatedLines(of stack: AggregationKey.CallStack, top: Backtrace) -> [String] {
        guard let symbolicated = top.symbolicated(with: images, options: [.showSourceLocations, .showInlineFrames]) else {
            return stack.lines
        }
        var lines: [String] = []
        var frame = 0  // the frame of `stack` that `symbolicated`'s next real frame is
        for located in symbolicated.frames where address(of: located.captured) != nil {
            let location = location(of: located)
            if located.inlined {
                // Before the frame it was inlined into, innermost first, as a stack reads.
                if let name = name(of: located) { lines.append("[inlined] \(name)\(location)") }
            } else {
                guard frame < stack.keyFrames.count else { break }
                lines.append(stack.keyFrames[frame] + location)
                frame += 1
            }
        }
        return lines + stack.keyFrames.dropFirst(frame)
    }

    /// `<function> in <image>`, or nil for a frame without a symbol.
    private static func name(of frame: SymbolicatedBacktrace.Frame) -> String? {
        guard let symbol = frame.symbol, symbol.rawName != "<unknown>" else { return nil }
        let name = symbol.name.trimmingCharacters(in: .whitespaces)
        return "\(name.isEmpty ? symbol.rawName : name) in \(symbol.imageName)"
    }

    /// ` at <file>:<line>`, or nothing where the debug information has no line.
    private static func location(of frame: SymbolicatedBacktrace.Frame) -> String {
        guard let location = frame.symbol?.sourceLocation, location.line > 0, !location.path.hasPrefix("<"),
            !location.path.hasSuffix("<compiler-generated>")
        else { return "" }
        return " at \(location.path):\(location.line)"
    }

    /// The address of a frame, or nil for the markers of omitted and cut frames.
    static func address(of frame: Backtrace.Frame) -> UInt64? {
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

/// Adds file and line to the cached stacks, one at a time, on a thread of its own, so that no
/// reporting thread waits for DWARF, and only one thread holds what the `Runtime` module keeps
/// per thread to read it. The thread ends after `idleSeconds` without work, which frees that.
///
/// At most `maxPending` stacks wait; a stack that finds the queue full keeps names only (until
/// it leaves the cache and is reported again).
@available(macOS 26.0, iOS 26.0, tvOS 26.0, watchOS 26.0, visionOS 26.0, *)
final class StackLocator: Sendable {
    static let shared = StackLocator()
    static let maxPending = 64
    static let idleSeconds = 30

    private struct Job: Sendable {
        var key: AggregationKey.StackKey
        var top: Backtrace
    }

    private struct State {
        var jobs: [Job] = []
        var running = false
    }

    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)

    func locate(_ key: AggregationKey.StackKey, _ top: Backtrace) {
        enum Next { case start, wake, none }
        let next = state.withLock { state -> Next in
            guard state.jobs.count < Self.maxPending else { return .none }
            state.jobs.append(Job(key: key, top: top))
            if state.running { return .wake }
            state.running = true
            return .start
        }
        switch next {
        case .start: Thread { self.work() }.start()
        case .wake: wake.signal()
        case .none: break
        }
    }

    private func work() {
        while true {
            let job = state.withLock { $0.jobs.isEmpty ? nil : $0.jobs.removeFirst() }
            if let job {
                AggregationKey.update(job.key) { SymbolicatedStack.locatedLines(of: $0, top: job.top) }
                continue
            }
            if wake.wait(timeout: .now() + .seconds(Self.idleSeconds)) == .timedOut {
                // Only under the lock: a job added meanwhile is seen here, or starts a thread.
                let idle = state.withLock { state in
                    if state.jobs.isEmpty { state.running = false }
                    return !state.running
                }
                if idle { return }
            }
        }
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
