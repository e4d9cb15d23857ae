/// Reads a regular expression in RE2 syntax, as Go's `regexp/syntax` does with Prometheus's
/// flags, and writes an equivalent ICU pattern for `NSRegularExpression`.
///
/// Prometheus compiles label matchers with Go's regexp, whose syntax is RE2's. ICU accepts more
/// (backreferences, lookaround) and means some things differently (`\d`, `\w`, `\s` and `\b` are
/// Unicode-aware there, ASCII in RE2; `$` also matches before a final newline; `[a&&b]` is a set
/// intersection). So we parse RE2 ourselves, reject what Go rejects with Go's message, and emit
/// ICU in a narrow, explicit form: literals as `\x{…}`, classes as ranges, anchors as `\A`/`\z`.
///
/// Supported, with RE2's meaning: literals and all of Go's escapes; `.`; `[…]` classes with ranges,
/// negation, `[:alpha:]`-style ASCII classes, `\d \s \w` and their negations, `\pL`, `\p{Greek}`
/// and `\P…` (Go 1.19's categories and scripts); `^ $ \A \z \b \B`; `(…)`, `(?:…)`, `(?P<name>…)`;
/// flags `i m s U` in `(?flags)` and `(?flags:…)`; `* + ? {n} {n,} {n,m}` and their lazy forms,
/// with RE2's limit of 1000 on counted repetition. Case-insensitive matching is ICU's, which
/// folds a few characters RE2 does not (such as `ß` against `ss`).
struct RE2Translator {
    private let s: [Unicode.Scalar]
    private var t = 0

    private struct Flags {
        var foldCase = false
        var dotNL = false
        var oneLine = true
        var nonGreedy = false
    }

    private var flags = Flags()

    /// One translated piece that a repetition operator may apply to.
    private struct Atom {
        var icu: String
        /// The largest product of counted repetitions (`{n}`) along any path inside: RE2 rejects
        /// a regexp whose product exceeds 1000.
        var repeatWeight: Int
    }

    /// An open group: the alternatives seen so far and the concatenation being built.
    private struct Frame {
        var alternatives: [Atom] = []
        var current: [Atom] = []
        var flagsAtOpen: Flags
        /// Written as an ICU capturing group (only in capturing mode, for `(…)` and `(?P<name>…)`).
        var capturing = false
    }

    /// Capturing mode keeps RE2's capturing groups capturing, numbered as RE2 numbers them, for
    /// `label_replace`'s `$1` and `${name}`; matchers need no captures and get `(?:…)` throughout.
    private let keepCaptures: Bool
    /// The names of the capturing groups in order ("" for unnamed ones), in capturing mode.
    private(set) var groupNames: [String] = []

    private var frames: [Frame]

    /// Groups may nest this deep; Go allows about 1000, but each level costs us stack when ICU
    /// compiles the pattern, and no real matcher nests past a handful.
    static let maximumNesting = 100

    private init(_ regex: String, keepCaptures: Bool = false) {
        self.keepCaptures = keepCaptures
        s = Array(regex.unicodeScalars)
        frames = [Frame(flagsAtOpen: Flags())]
    }

    /// The ICU pattern for `regex`, or Go's error for it (`error parsing regexp: …`).
    static func translate(_ regex: String) throws(RegexError) -> String {
        var translator = RE2Translator(regex)
        return try translator.run()
    }

    /// The ICU pattern with RE2's capturing groups kept, and the groups' names in order (""
    /// where unnamed): group `i + 1` of the ICU match is RE2's group `i + 1`.
    static func translateCapturing(_ regex: String) throws(RegexError) -> (pattern: String, groupNames: [String]) {
        var translator = RE2Translator(regex, keepCaptures: true)
        let pattern = try translator.run()
        return (pattern, translator.groupNames)
    }

    // MARK: - The main loop, after Go's `parse`

    private mutating func run() throws(RegexError) -> String {
        var lastRepeat: Int?
        while t < s.count {
            var repeatStart: Int?
            let c = s[t]
            switch c {
            case "(":
                if t + 1 < s.count, s[t + 1] == "?" {
                    try parsePerlFlags()
                } else {
                    try openGroup(capturingName: "")
                    t += 1
                }
            case "|":
                closeConcatenation()
                t += 1
            case ")":
                try closeGroup()
                t += 1
            case "^":
                push(flags.oneLine ? "\\A" : "(?:\\A|(?<=\\n))")
                t += 1
            case "$":
                push(flags.oneLine ? "\\z" : "(?:\\z|(?=\\n))")
                t += 1
            case ".":
                push(flags.dotNL ? "[\\x{0}-\\x{10FFFF}]" : "[^\\n]")
                t += 1
            case "[":
                try parseClass()
            case "*", "+", "?":
                let before = t
                t += 1
                try applyRepeat(c == "*" ? "*" : c == "+" ? "+" : "?", min: 0, max: 0, counted: false,
                                before: before, lastRepeat: lastRepeat)
                repeatStart = before
            case "{":
                let before = t
                guard let (min, max, after) = parseRepeatCount() else {
                    pushLiteral("{")
                    t += 1
                    break
                }
                if min < 0 || min > 1000 || max > 1000 || (max >= 0 && min > max) {
                    throw error("invalid repeat count", from: before, to: after)
                }
                t = after
                let quantifier = max == min ? "{\(min)}" : max < 0 ? "{\(min),}" : "{\(min),\(max)}"
                try applyRepeat(quantifier, min: min, max: max, counted: true, before: before, lastRepeat: lastRepeat)
                repeatStart = before
            case "\\":
                try parseBackslash()
            default:
                pushLiteral(c)
                t += 1
            }
            lastRepeat = repeatStart
        }
        closeConcatenation()
        guard frames.count == 1 else { throw error("missing closing )", from: 0, to: s.count) }
        return joinAlternatives(frames[0].alternatives).icu
    }

    // MARK: - Groups and alternation

    /// `capturingName` is nil for a non-capturing group, else the group's name ("" for none).
    private mutating func openGroup(capturingName: String? = nil) throws(RegexError) {
        if frames.count > Self.maximumNesting {
            throw RegexError(message: "error parsing regexp: expression nests too deeply (more than \(Self.maximumNesting) groups)")
        }
        let capturing = keepCaptures && capturingName != nil
        if capturing, let capturingName { groupNames.append(capturingName) }
        frames.append(Frame(flagsAtOpen: flags, capturing: capturing))
    }

    /// Ends the concatenation being built, at `|` or `)`, as one alternative of its group.
    private mutating func closeConcatenation() {
        let concatenation = frames[frames.count - 1].current
        let joined = Atom(icu: concatenation.map(\.icu).joined(), repeatWeight: concatenation.map(\.repeatWeight).max() ?? 1)
        frames[frames.count - 1].alternatives.append(joined)
        frames[frames.count - 1].current = []
    }

    private mutating func closeGroup() throws(RegexError) {
        closeConcatenation()
        guard frames.count > 1 else { throw error("unexpected )", from: 0, to: s.count) }
        let frame = frames.removeLast()
        flags = frame.flagsAtOpen
        var group = joinAlternatives(frame.alternatives)
        group.icu = (frame.capturing ? "(" : "(?:") + group.icu + ")"
        frames[frames.count - 1].current.append(group)
    }

    private func joinAlternatives(_ alternatives: [Atom]) -> Atom {
        Atom(icu: alternatives.map(\.icu).joined(separator: "|"), repeatWeight: alternatives.map(\.repeatWeight).max() ?? 1)
    }

    /// `(?i)`, `(?i:…)`, `(?P<name>…)`, after Go's `parsePerlFlags`.
    private mutating func parsePerlFlags() throws(RegexError) {
        let begin = t
        if s.count - t > 4, s[t + 2] == "P", s[t + 3] == "<" {
            guard let close = s[t...].firstIndex(of: ">") else {
                throw error("invalid named capture", from: begin, to: s.count)
            }
            let name = s[(t + 4)..<close]
            let valid = !name.isEmpty && name.allSatisfy { $0 == "_" || Self.isAlphaNumeric($0) }
            if !valid { throw error("invalid named capture", from: begin, to: close + 1) }
            try openGroup(capturingName: String(String.UnicodeScalarView(name)))
            t = close + 1
            return
        }
        var newFlags = flags
        var negated = false
        var sawFlag = false
        t += 2
        while t < s.count {
            let c = s[t]
            t += 1
            switch c {
            case "i":
                newFlags.foldCase = !negated
                sawFlag = true
            case "m":
                newFlags.oneLine = negated
                sawFlag = true
            case "s":
                newFlags.dotNL = !negated
                sawFlag = true
            case "U":
                newFlags.nonGreedy = !negated
                sawFlag = true
            case "-":
                if negated { throw error("invalid or unsupported Perl syntax", from: begin, to: t) }
                negated = true
                sawFlag = false
            case ":", ")":
                if negated, !sawFlag { throw error("invalid or unsupported Perl syntax", from: begin, to: t) }
                if c == ":" { try openGroup() }
                flags = newFlags
                return
            default:
                throw error("invalid or unsupported Perl syntax", from: begin, to: t)
            }
        }
        throw error("invalid or unsupported Perl syntax", from: begin, to: t)
    }

    // MARK: - Repetition

    /// `{n}`, `{n,}` or `{n,m}` at `t`: the counts (-1 for no maximum, min -1 for too large) and
    /// where the text after it starts; nil when it is not a repetition, so `{` is a literal.
    private func parseRepeatCount() -> (Int, Int, Int)? {
        var i = t + 1
        func parseInt() -> Int? {
            guard i < s.count, Self.isDigit(s[i]) else { return nil }
            if s[i] == "0", i + 1 < s.count, Self.isDigit(s[i + 1]) { return nil }
            var value = 0
            while i < s.count, Self.isDigit(s[i]) {
                value = value >= 100_000_000 ? -1 : value * 10 + Int(s[i].value - 48)
                if value < 0 {
                    while i < s.count, Self.isDigit(s[i]) { i += 1 }
                    return -1
                }
                i += 1
            }
            return value
        }
        guard var min = parseInt(), i < s.count else { return nil }
        var max = min
        if s[i] == "," {
            i += 1
            guard i < s.count else { return nil }
            if s[i] == "}" {
                max = -1
            } else {
                guard let parsed = parseInt() else { return nil }
                max = parsed
                if max < 0 { min = -1 }
            }
        }
        guard i < s.count, s[i] == "}" else { return nil }
        return (min, max, i + 1)
    }

    /// Applies a repetition operator to the last atom, after Go's `repeat`. `t` is just past the
    /// operator; a `?` there makes it lazy.
    private mutating func applyRepeat(
        _ quantifier: String, min: Int, max: Int, counted: Bool, before: Int, lastRepeat: Int?
    ) throws(RegexError) {
        var greedy = !flags.nonGreedy
        if t < s.count, s[t] == "?" {
            t += 1
            greedy.toggle()
        }
        if let lastRepeat { throw error("invalid nested repetition operator", from: lastRepeat, to: t) }
        guard var atom = frames[frames.count - 1].current.popLast() else {
            throw error("missing argument to repetition operator", from: before, to: t)
        }
        if counted {
            // As Go's repeatIsValid: counts multiply along nesting; `{0}` cuts the chain.
            let count = max < 0 ? min : max
            atom.repeatWeight = count == 0 ? 1 : atom.repeatWeight * count
            if (min >= 2 || max >= 2), atom.repeatWeight > 1000 {
                throw error("invalid repeat count", from: before, to: t)
            }
        }
        atom.icu = "(?:" + atom.icu + ")" + quantifier + (greedy ? "" : "?")
        frames[frames.count - 1].current.append(atom)
    }

    // MARK: - Escapes

    private mutating func parseBackslash() throws(RegexError) {
        if t + 1 < s.count {
            switch s[t + 1] {
            case "A":
                push("\\A")
                t += 2
                return
            case "z":
                push("\\z")
                t += 2
                return
            case "b":
                push("(?:(?<=[0-9A-Za-z_])(?![0-9A-Za-z_])|(?<![0-9A-Za-z_])(?=[0-9A-Za-z_]))")
                t += 2
                return
            case "B":
                push("(?:(?<=[0-9A-Za-z_])(?=[0-9A-Za-z_])|(?<![0-9A-Za-z_])(?![0-9A-Za-z_]))")
                t += 2
                return
            case "C":
                throw error("invalid escape sequence", from: t, to: t + 2)
            case "Q":
                t += 2
                while t < s.count {
                    if s[t] == "\\", t + 1 < s.count, s[t + 1] == "E" {
                        t += 2
                        return
                    }
                    pushLiteral(s[t])
                    t += 1
                }
                return
            default:
                break
            }
        }
        var set = ClassSet()
        if try parseUnicodeClass(into: &set) || parsePerlClass(into: &set) {
            push(set.icu(foldCase: flags.foldCase))
            return
        }
        pushLiteral(try parseEscape())
    }

    /// A single-character escape at `t` (which is at the backslash), after Go's `parseEscape`.
    private mutating func parseEscape() throws(RegexError) -> Unicode.Scalar {
        let begin = t
        t += 1
        guard t < s.count else { throw error("trailing backslash at end of expression", from: t, to: t) }
        let c = s[t]
        t += 1
        func invalid() -> RegexError { error("invalid escape sequence", from: begin, to: t) }
        switch c {
        case "1"..."7" where !(t < s.count && s[t] >= "0" && s[t] <= "7"):
            throw invalid()
        case "0"..."7":
            var value = c.value - 48
            for _ in 1..<3 {
                guard t < s.count, s[t] >= "0", s[t] <= "7" else { break }
                value = value * 8 + s[t].value - 48
                t += 1
            }
            return Unicode.Scalar(value)!
        case "x":
            guard t < s.count else { throw invalid() }
            let first = s[t]
            t += 1
            if first == "{" {
                var value: UInt32 = 0
                var digits = 0
                while true {
                    guard t < s.count else { throw invalid() }
                    let d = s[t]
                    t += 1
                    if d == "}" { break }
                    guard let v = Self.hexValue(d) else { throw invalid() }
                    value = value * 16 + v
                    if value > 0x10FFFF { throw invalid() }
                    digits += 1
                }
                guard digits > 0, let scalar = Unicode.Scalar(value) else { throw invalid() }
                return scalar
            }
            guard t < s.count else { throw invalid() }
            let second = s[t]
            t += 1
            guard let x = Self.hexValue(first), let y = Self.hexValue(second) else { throw invalid() }
            return Unicode.Scalar(x * 16 + y)!
        case "a": return "\u{07}"
        case "f": return "\u{0C}"
        case "n": return "\n"
        case "r": return "\r"
        case "t": return "\t"
        case "v": return "\u{0B}"
        default:
            if c.isASCII, !Self.isAlphaNumeric(c) { return c }
            throw invalid()
        }
    }

    // MARK: - Character classes

    /// `[…]`, after Go's `parseClass`.
    private mutating func parseClass() throws(RegexError) {
        let classStart = t
        t += 1
        var set = ClassSet()
        if t < s.count, s[t] == "^" {
            set.negated = true
            t += 1
        }
        var first = true
        while t >= s.count || s[t] != "]" || first {
            first = false
            if s.count - t > 2, s[t] == "[", s[t + 1] == ":", try parseNamedClass(into: &set) { continue }
            if try parseUnicodeClass(into: &set) { continue }
            if parsePerlClass(into: &set) { continue }
            let rangeStart = t
            let lo = try parseClassChar(classStart: classStart)
            var hi = lo
            if s.count - t >= 2, s[t] == "-", s[t + 1] != "]" {
                t += 1
                hi = try parseClassChar(classStart: classStart)
                if hi.value < lo.value { throw error("invalid character class range", from: rangeStart, to: t) }
            }
            set.ranges.append(lo.value...hi.value)
        }
        t += 1
        push(set.icu(foldCase: flags.foldCase))
    }

    private mutating func parseClassChar(classStart: Int) throws(RegexError) -> Unicode.Scalar {
        guard t < s.count else { throw error("missing closing ]", from: classStart, to: s.count) }
        if s[t] == "\\" { return try parseEscape() }
        defer { t += 1 }
        return s[t]
    }

    /// `[:alpha:]` or `[:^alpha:]` at `t`; false when there is no closing `:]`.
    private mutating func parseNamedClass(into set: inout ClassSet) throws(RegexError) -> Bool {
        var end = t + 2
        while end + 1 < s.count, !(s[end] == ":" && s[end + 1] == "]") { end += 1 }
        guard end + 1 < s.count else { return false }
        var name = String(String.UnicodeScalarView(s[(t + 2)..<end]))
        let negated = name.hasPrefix("^")
        if negated { name.removeFirst() }
        guard let ranges = Self.posixClasses[name] else {
            throw error("invalid character class range", from: t, to: end + 2)
        }
        set.add(ranges, negated: negated)
        t = end + 2
        return true
    }

    /// `\d \D \s \S \w \W` at `t`.
    private mutating func parsePerlClass(into set: inout ClassSet) -> Bool {
        guard s.count - t >= 2, s[t] == "\\" else { return false }
        let ranges: [ClosedRange<UInt32>]
        switch s[t + 1] {
        case "d", "D": ranges = Self.posixClasses["digit"]!
        case "s", "S": ranges = [9...10, 12...13, 32...32]
        case "w", "W": ranges = Self.posixClasses["word"]!
        default: return false
        }
        set.add(ranges, negated: s[t + 1].properties.isUppercase)
        t += 2
        return true
    }

    /// `\pL`, `\p{Greek}`, `\P{…}`, `\p{^…}` at `t`, after Go's `parseUnicodeClass`.
    private mutating func parseUnicodeClass(into set: inout ClassSet) throws(RegexError) -> Bool {
        guard s.count - t >= 2, s[t] == "\\", s[t + 1] == "p" || s[t + 1] == "P" else { return false }
        var negated = s[t + 1] == "P"
        let sequenceEnd: Int
        var name: String
        if t + 2 < s.count, s[t + 2] == "{" {
            guard let close = s[t...].firstIndex(of: "}") else {
                throw error("invalid character class range", from: t, to: s.count)
            }
            sequenceEnd = close + 1
            name = String(String.UnicodeScalarView(s[(t + 3)..<close]))
        } else {
            sequenceEnd = min(t + 3, s.count)
            name = String(String.UnicodeScalarView(s[(t + 2)..<sequenceEnd]))
        }
        if name.hasPrefix("^") {
            negated.toggle()
            name.removeFirst()
        }
        let property: String
        if name == "Any" {
            property = "Any"
        } else if UnicodeNames.categories.contains(name) {
            property = "gc=" + name
        } else if UnicodeNames.scripts.contains(name) {
            property = "sc=" + name
        } else {
            throw error("invalid character class range", from: t, to: sequenceEnd)
        }
        set.properties.append((negated ? "\\P{" : "\\p{") + property + "}")
        t = sequenceEnd
        return true
    }

    // MARK: - Output

    private mutating func push(_ icu: String) {
        frames[frames.count - 1].current.append(Atom(icu: icu, repeatWeight: 1))
    }

    private mutating func pushLiteral(_ c: Unicode.Scalar) {
        let text = Self.isAlphaNumeric(c) ? String(c) : "\\x{\(String(c.value, radix: 16))}"
        push(flags.foldCase ? "(?i:" + text + ")" : text)
    }

    private func error(_ code: String, from: Int, to: Int) -> RegexError {
        let expr = String(String.UnicodeScalarView(s[min(from, s.count)..<min(to, s.count)]))
        return RegexError(message: "error parsing regexp: \(code): `\(expr)`")
    }

    static func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }

    static func isAlphaNumeric(_ c: Unicode.Scalar) -> Bool {
        isDigit(c) || (c >= "a" && c <= "z") || (c >= "A" && c <= "Z")
    }

    static func hexValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c {
        case "0"..."9": return c.value - 48
        case "a"..."f": return c.value - 87
        case "A"..."F": return c.value - 55
        default: return nil
        }
    }

    /// POSIX classes as RE2 defines them: ASCII only.
    static let posixClasses: [String: [ClosedRange<UInt32>]] = [
        "alnum": [48...57, 65...90, 97...122], "alpha": [65...90, 97...122], "ascii": [0...0x7F],
        "blank": [9...9, 32...32], "cntrl": [0...0x1F, 0x7F...0x7F], "digit": [48...57],
        "graph": [33...126], "lower": [97...122], "print": [32...126],
        "punct": [33...47, 58...64, 91...96, 123...126], "space": [9...13, 32...32], "upper": [65...90],
        "word": [48...57, 65...90, 95...95, 97...122], "xdigit": [48...57, 65...70, 97...102],
    ]
}

/// The contents of one `[…]` class, or of an escape such as `\d`, on the way to ICU syntax.
private struct ClassSet {
    var negated = false
    var ranges: [ClosedRange<UInt32>] = []
    /// `\p{…}`/`\P{…}` items, already in ICU syntax.
    var properties: [String] = []

    /// Adds a class, or its complement over all of Unicode.
    mutating func add(_ class: [ClosedRange<UInt32>], negated: Bool) {
        guard negated else {
            ranges += `class`
            return
        }
        var next: UInt32 = 0
        for range in `class`.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            if range.lowerBound > next { ranges.append(next...(range.lowerBound - 1)) }
            next = max(next, range.upperBound + 1)
        }
        if next <= 0x10FFFF { ranges.append(next...0x10FFFF) }
    }

    func icu(foldCase: Bool) -> String {
        var out = negated ? "[^" : "["
        for range in ranges {
            out += "\\x{\(String(range.lowerBound, radix: 16))}"
            if range.upperBound != range.lowerBound { out += "-\\x{\(String(range.upperBound, radix: 16))}" }
        }
        out += properties.joined() + "]"
        return foldCase ? "(?i:" + out + ")" : out
    }
}

/// Why a regular expression was rejected: Go's message, `error parsing regexp: …`.
public struct RegexError: Error, Sendable, Hashable {
    public var message: String
}
