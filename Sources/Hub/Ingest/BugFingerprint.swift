import Foundation
import Periskop

/// What identifies a bug rather than its reporter: the same shared-library bug reported by
/// several teams' services (each with its own aggregation key, made by its own client) has one
/// fingerprint. Computed at the hub from a group's class and newest stack trace; pure.
///
/// The fingerprint is the FNV-1a 64-bit hash (`FNV1a64`, fixed and unseeded), as 16 hex digits,
/// of `class + "\n" + frame₁ + "\n" + … + frameₙ`: the error's class and its `frameCount` innermost
/// frames, each normalised so that what differs between installations, builds and runs goes
/// (`frames(of:limit:)`). The message is not hashed: messages embed ids, and one bug has many. A stack
/// trace in which no line reads as a frame of a known client (none at all, or a shape not
/// listed below) falls back to the class and the message (`class + "\nmessage:" + message`).
///
/// Frames, per client (innermost first; Python's tracebacks are read from their end):
/// - Python (`File "/srv/app/lib/orders.py", line 12, in parse`): `orders.py:parse`. Only the
///   last traceback of a chained one (`During handling of…`) counts: it is what was raised.
/// - Java and Scala (`at com.x.Y.lambda$run$0(Y.java:42)`, with or without `at `, a module
///   prefix such as `java.base/`): `com.x.Y.lambda$run$`. The file and line go, and the digits
///   after a `$` and `/0x…` addresses go (generated lambda, anonymous class and `$anonfun`
///   names count in their order of appearance, which an edit changes). The frames of a
///   `Caused by:` or `Suppressed:` are not read.
/// - Go (periskop-go: `/dir/file.go:12` and then `\tName: source`; `debug.Stack`: `pkg.fn(…)`
///   and then `\t/dir/file.go:12 +0x1f`): `file.go:Name`, without the package's directories and
///   with `funcN` closures as `func`. Without the source on the machine periskop-go writes no
///   name line: the frame is `file.go` alone. A `created by` ends the frames.
/// - Ruby (`/app/lib/orders.rb:6:in `div'`, and `'Orders#div'` since Ruby 3.4):
///   `orders.rb:div`, with `block (2 levels) in` as `block in`.
/// - Swift, this project's client (`closure #1 in checkout(_:) in app at /src/x.swift:12`):
///   `closure in checkout(_:) in app`; `[inlined] ` lines are left out, as the client's key
///   leaves them out; a `Thread.callStackSymbols` line as `AggregationKey.normalise(frame:)`
///   makes it.
///
/// Limits, on purpose or not: two bugs at one call site (the same class raised in the same
/// innermost frames for different reasons) are one fingerprint; so are two files of the same
/// name with a function of the same name in different packages. A bug whose innermost `frameCount`
/// frames include the reporting service's own code (a library function that raises at the
/// first level down) has one fingerprint per calling site. A fix that renames a function, or a
/// client upgrade that changes the trace's shape, makes a new fingerprint. Line numbers are not
/// hashed (an edit above a frame would split the bug): two raises of one class in one function
/// with the same callers are one bug.
enum BugFingerprint {
    /// How many innermost frames are hashed: few, so that a library's bug called from several
    /// services' code is one fingerprint, and more than one, so that a library's every error of
    /// one class is not.
    static let frameCount = 3

    static func make(className: String, message: String, stacktrace: [String]) -> String {
        let top = Self.frames(of: stacktrace, limit: frameCount)
        var hash = FNV1a64(className)
        if top.isEmpty {
            hash.combine("\nmessage:")
            hash.combine(message)
        }
        for frame in top {
            hash.combine("\n")
            hash.combine(frame)
        }
        return hash.hex16
    }

    /// The fingerprint of a stack trace as the hub stores it (`groups.stacktrace`: the lines
    /// joined with newlines), so that a backfill from the column agrees with ingest.
    static func make(className: String, message: String, storedStacktrace: String) -> String {
        make(className: className, message: message, stacktrace: storedStacktrace.isEmpty ? [] : [storedStacktrace])
    }

    /// The innermost `limit` frames of `stacktrace` that read as frames, normalised, innermost first.
    static func frames(of stacktrace: [String], limit: Int = .max) -> [String] {
        var lines: [Substring] = []
        for entry in stacktrace { lines += entry.split(separator: "\n", omittingEmptySubsequences: true) }
        // Python: the last traceback is the exception raised; its frames run outermost first.
        if let header = lines.lastIndex(where: { trimmed($0).hasPrefix("Traceback (most recent call last)") }) {
            return Array(lines[header...].compactMap { python(trimmed($0)) }.reversed().prefix(limit))
        }
        var frames: [String] = []
        var index = lines.startIndex
        while index < lines.endIndex, frames.count < limit {
            let line = trimmed(lines[index])
            if line.hasPrefix("Caused by:") || line.hasPrefix("Suppressed:") || line.hasPrefix("created by ") { break }
            // debug.Stack's call line: its frame is read at the file line that follows.
            if index + 1 < lines.endIndex, goCall(line) != nil, goFile(trimmed(lines[index + 1])) != nil {
                index += 1
                continue
            }
            if let file = goFile(line) {
                var name: String?
                // periskop-go: the name follows its file line, as `Name: source`.
                let next = index + 1
                if next < lines.endIndex, lines[next].first?.isWhitespace == true, goFile(trimmed(lines[next])) == nil,
                    let colon = trimmed(lines[next]).range(of: ": ")
                {
                    name = String(trimmed(lines[next])[..<colon.lowerBound])
                    index = next
                } else if index > lines.startIndex, let call = goCall(trimmed(lines[index - 1])) {
                    // debug.Stack: the call precedes its file line.
                    name = String(call)
                }
                frames.append(name.map { "\(file):\(goName($0[...]))" } ?? String(file))
            } else if let frame = python(line) ?? ruby(line) ?? java(line) ?? swift(line) {
                frames.append(frame)
            }
            index += 1
        }
        return frames
    }

    // MARK: One line per client

    private static func trimmed(_ line: Substring) -> Substring {
        var line = line
        while line.first?.isWhitespace == true { line.removeFirst() }
        while line.last?.isWhitespace == true { line.removeLast() }
        return line
    }

    private static func basename(_ path: Substring) -> Substring {
        path.split(separator: "/").last ?? path
    }

    /// `File "/dir/x.py", line 12, in f` → `x.py:f`.
    private static func python(_ line: Substring) -> String? {
        guard line.hasPrefix("File \""), let close = line.dropFirst(6).firstIndex(of: "\"") else { return nil }
        let file = basename(line[line.index(line.startIndex, offsetBy: 6)..<close])
        guard let inRange = line[close...].range(of: ", in ") else { return String(file) }
        return "\(file):\(line[inRange.upperBound...])"
    }

    /// `/dir/x.rb:6:in `f'` (or `'A#f'`, or after `from `) → `x.rb:f`.
    private static func ruby(_ line: Substring) -> String? {
        var line = line
        if line.hasPrefix("from ") { line = line.dropFirst(5) }
        guard let inRange = line.range(of: ":in "), line.hasSuffix("'") else { return nil }
        let location = line[..<inRange.lowerBound]
        guard let colon = location.lastIndex(of: ":"), !location[location.index(after: colon)...].isEmpty,
            location[location.index(after: colon)...].allSatisfy(\.isNumber)
        else { return nil }
        var method = line[inRange.upperBound...].dropLast()
        guard let quote = method.first, quote == "`" || quote == "'" else { return nil }
        method = method.dropFirst()
        var name = String(method)
        // `block (2 levels) in f`: the depth changes with the code around the block.
        if name.hasPrefix("block ("), let close = name.range(of: ") in ") {
            name = "block in " + name[close.upperBound...]
        }
        return "\(basename(location[..<colon])):\(name)"
    }

    /// `/dir/file.go:12` or `/dir/file.go:12 +0x1f` → `file.go`.
    private static func goFile(_ line: Substring) -> Substring? {
        var line = line
        if let space = line.firstIndex(of: " ") {
            guard line[line.index(after: space)...].hasPrefix("+0x") else { return nil }
            line = line[..<space]
        }
        guard let colon = line.lastIndex(of: ":"), line[..<colon].hasSuffix(".go"),
            !line[line.index(after: colon)...].isEmpty, line[line.index(after: colon)...].allSatisfy(\.isNumber)
        else { return nil }
        return basename(line[..<colon])
    }

    /// `github.com/x/y.(*T).f(0x1, …)` → `github.com/x/y.(*T).f`: a `debug.Stack` call line.
    private static func goCall(_ line: Substring) -> Substring? {
        guard line.hasSuffix(")"), !line.contains(" "), let open = line.lastIndex(of: "("), open > line.startIndex else { return nil }
        return line[..<open]
    }

    /// Without the package's directories, and `func12` (`func1.2`) closures as `func`.
    private static func goName(_ name: Substring) -> String {
        numbered(String(name.split(separator: "/").last ?? name), after: ".func", continued: true, with: ".func")
    }

    /// `at java.base/com.x.Y.f(Y.java:42)` → `com.x.Y.f`, with generated names' numbers out.
    private static func java(_ line: Substring) -> String? {
        var line = line
        if line.hasPrefix("at ") { line = line.dropFirst(3) }
        guard line.hasSuffix(")"), let open = line.firstIndex(of: "("), open > line.startIndex else { return nil }
        let inside = line[line.index(after: open)..<line.index(before: line.endIndex)]
        let isJava =
            inside == "Unknown Source" || inside == "Native Method"
            || [".java", ".scala", ".kt", ".groovy", ".clj"].contains { inside.hasSuffix($0) }
            || endsInNumber(inside, after: ":")
        guard isJava, !line[..<open].contains(" ") else { return nil }
        // A hidden class's address (`$$Lambda/0x…`), then a module or class loader (`java.base/`).
        var name = numbered(String(line[..<open]), after: "/0x", digits: isHexDigit, with: "")
        if let slash = name.lastIndex(of: "/") { name = String(name[name.index(after: slash)...]) }
        // `lambda$run$0`, `Foo$1`, `$anonfun$run$1`, `$$Lambda$14`: numbered in order of appearance.
        return numbered(name, after: "$", with: "$")
    }

    /// `text` with each `marker` followed by one or more digits (and, `continued`, by more `.`
    /// digits runs, as `.func1.2`; then by `suffix`) replaced by `replacement`: what a regex
    /// replacement would do, left to right, without one (building the regexes took a tenth of the
    /// hub's CPU). ASCII digits only.
    static func numbered(
        _ text: String, after marker: String, digits isDigit: (UInt8) -> Bool = isDecimalDigit, continued: Bool = false, before suffix: String = "",
        with replacement: String
    ) -> String {
        let bytes = Array(text.utf8)
        let marker = Array(marker.utf8)
        let suffix = Array(suffix.utf8)
        func starts(_ part: [UInt8], at index: Int) -> Bool {
            index + part.count <= bytes.count && bytes[index..<(index + part.count)].elementsEqual(part)
        }
        func digitsEnd(from index: Int) -> Int {
            var end = index
            while end < bytes.count, isDigit(bytes[end]) { end += 1 }
            return end
        }
        var result: [UInt8] = []
        result.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            var end = starts(marker, at: index) ? digitsEnd(from: index + marker.count) : index
            if end > index + marker.count {
                while continued, end + 1 < bytes.count, bytes[end] == UInt8(ascii: "."), isDigit(bytes[end + 1]) { end = digitsEnd(from: end + 1) }
                if starts(suffix, at: end) {
                    result += replacement.utf8
                    index = end + suffix.count
                    continue
                }
            }
            result.append(bytes[index])
            index += 1
        }
        return String(decoding: result, as: UTF8.self)
    }

    static func isDecimalDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    static func isHexDigit(_ byte: UInt8) -> Bool {
        isDecimalDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
    }

    private static func endsInNumber(_ text: Substring, after separator: Character) -> Bool {
        guard let index = text.lastIndex(of: separator) else { return false }
        let number = text[text.index(after: index)...]
        return !number.isEmpty && number.allSatisfy(\.isNumber)
    }

    /// `<function> in <image>[ at <file>:<line>]` → `<function> in <image>`, closures without
    /// their numbers; `[inlined] ` lines left out; `callStackSymbols` lines normalised.
    private static func swift(_ line: Substring) -> String? {
        guard !line.hasPrefix("[inlined] ") else { return nil }
        var line = line
        if let at = line.range(of: " at ", options: .backwards), line[at.upperBound...].contains(":"),
            line[at.upperBound...].split(separator: ":").last?.allSatisfy(\.isNumber) == true
        {
            line = line[..<at.lowerBound]
        }
        if let inRange = line.range(of: " in ", options: .backwards) {
            let image = line[inRange.upperBound...]
            guard !image.isEmpty, !image.contains(" ") else { return nil }
            return numbered(String(line), after: "closure #", before: " in", with: "closure in")
        }
        // `Thread.callStackSymbols`: Linux `/dir/module(symbol+0x2e) [0x7f…]`, Darwin
        // `3   Module   0x0000000100003f2c symbol + 44`.
        let linux = (line.hasSuffix(")") || (line.hasSuffix("]") && line.contains(" [0x"))) && line.contains("(") && !line.hasPrefix("(")
        let darwin = line.first?.isNumber == true && line.contains(" 0x")
        guard linux || darwin else { return nil }
        if linux, line.prefix(while: { $0 != "(" }).contains(" ") { return nil }
        return AggregationKey.normalise(frame: String(line))
    }
}
