/// Go's `strconv` readers of literals, as the template parser uses them: `Unquote`, `UnquoteChar`,
/// `ParseInt`/`ParseUint` with base 0 and `ParseFloat`. Errors are Go's texts (`invalid syntax`).
///
/// Go strings hold bytes; ours are Swift strings, so a `\xff` escape that makes invalid UTF-8
/// becomes U+FFFD.
enum GoLiteral {
    struct SyntaxError: Error { var message = "invalid syntax" }

    /// `strconv.Unquote` of a `"…"` or `` `…` `` literal.
    static func unquote(_ literal: String) throws(SyntaxError) -> String {
        let scalars = Array(literal.unicodeScalars)
        guard scalars.count >= 2, let quote = scalars.first, quote == scalars.last else { throw SyntaxError() }
        let body = Array(scalars[1..<(scalars.count - 1)])
        if quote == "`" {
            if body.contains("`") { throw SyntaxError() }
            return String(String.UnicodeScalarView(body.filter { $0 != "\r" }))
        }
        guard quote == "\"" else { throw SyntaxError() }
        var bytes: [UInt8] = []
        var index = 0
        while index < body.count {
            if body[index] == "\"" || body[index] == "\n" { throw SyntaxError() }
            let (value, isByte, next) = try unquoteChar(body, index, quote: "\"")
            if isByte { bytes.append(UInt8(value)) } else { bytes.append(contentsOf: Array(String(Unicode.Scalar(value)!).utf8)) }
            index = next
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A character constant `'x'`: its code point (Go's rune), or Go's error.
    static func unquoteRune(_ literal: String) throws(SyntaxError) -> UInt32 {
        let scalars = Array(literal.unicodeScalars)
        guard scalars.count >= 2, scalars[0] == "'" else { throw SyntaxError() }
        let body = Array(scalars[1...])
        let (value, _, next) = try unquoteChar(body, 0, quote: "'")
        if Array(body[next...]) != ["'"] { throw SyntaxError(message: "malformed character constant: \(literal)") }
        return value
    }

    /// One character or escape at `index`: the value, whether it is a single byte (`\x`, octal),
    /// and where the next one starts.
    private static func unquoteChar(_ s: [Unicode.Scalar], _ index: Int, quote: Unicode.Scalar) throws(SyntaxError) -> (UInt32, Bool, Int) {
        guard index < s.count else { throw SyntaxError() }
        let c = s[index]
        if c == quote, quote == "'" { throw SyntaxError() }
        if c != "\\" { return (c.value, false, index + 1) }
        guard index + 1 < s.count else { throw SyntaxError() }
        let escape = s[index + 1]
        var next = index + 2
        switch escape {
        case "a": return (7, false, next)
        case "b": return (8, false, next)
        case "f": return (12, false, next)
        case "n": return (10, false, next)
        case "r": return (13, false, next)
        case "t": return (9, false, next)
        case "v": return (11, false, next)
        case "\\": return (92, false, next)
        case "'", "\"":
            if escape != quote { throw SyntaxError() }
            return (escape.value, false, next)
        case "x", "u", "U":
            let count = escape == "x" ? 2 : escape == "u" ? 4 : 8
            var value: UInt32 = 0
            for _ in 0..<count {
                guard next < s.count, let digit = hexValue(s[next]) else { throw SyntaxError() }
                value = value << 4 | digit
                next += 1
            }
            if escape == "x" { return (value, quote != "'", next) }
            if value > 0x10FFFF || (0xD800...0xDFFF).contains(value) { throw SyntaxError() }
            return (value, false, next)
        case "0"..."7":
            var value = escape.value - 48
            for _ in 0..<2 {
                guard next < s.count, ("0"..."7").contains(s[next]) else { throw SyntaxError() }
                value = value * 8 + s[next].value - 48
                next += 1
            }
            if value > 255 { throw SyntaxError() }
            return (value, quote != "'", next)
        default:
            throw SyntaxError()
        }
    }

    private static func hexValue(_ c: Unicode.Scalar) -> UInt32? {
        switch c {
        case "0"..."9": return c.value - 48
        case "a"..."f": return c.value - 87
        case "A"..."F": return c.value - 55
        default: return nil
        }
    }

    // MARK: - Numbers

    /// `strconv.ParseUint(text, 0, 64)`: decimal, `0x`, `0o`, `0b` or a leading `0` for octal,
    /// underscores between digits when there is a prefix.
    static func parseUInt(_ text: String) -> UInt64? {
        var s = Substring(text)
        if s.first == "+" || s.first == "-" { return nil }
        return parseMagnitude(&s)
    }

    /// `strconv.ParseInt(text, 0, 64)`.
    static func parseInt(_ text: String) -> Int64? {
        var s = Substring(text)
        var negative = false
        if s.first == "+" || s.first == "-" {
            negative = s.first == "-"
            s = s.dropFirst()
        }
        guard let magnitude = parseMagnitude(&s) else { return nil }
        if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
        return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
    }

    private static func parseMagnitude(_ s: inout Substring) -> UInt64? {
        guard !s.isEmpty else { return nil }
        var base: UInt64 = 10
        let original = s
        if s.first == "0" {
            let second = s.dropFirst().first
            if second == "x" || second == "X" {
                base = 16
                s = s.dropFirst(2)
            } else if second == "o" || second == "O" {
                base = 8
                s = s.dropFirst(2)
            } else if second == "b" || second == "B" {
                base = 2
                s = s.dropFirst(2)
            } else {
                base = 8
                s = s.dropFirst()
            }
        }
        if s.isEmpty { return original == "0" ? 0 : nil }
        var value: UInt64 = 0
        var sawUnderscore = false
        for c in s {
            if c == "_" {
                sawUnderscore = true
                continue
            }
            guard let digit = c.hexDigitValue, UInt64(digit) < base else { return nil }
            let (times, overflow1) = value.multipliedReportingOverflow(by: base)
            let (sum, overflow2) = times.addingReportingOverflow(UInt64(digit))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        if sawUnderscore, !underscoreOK(String(original)) { return nil }
        return value
    }

    /// Go's `underscoreOK`: underscores only between digits, or after a base prefix.
    static func underscoreOK(_ text: String) -> Bool {
        var s = Array(text)
        if let first = s.first, first == "+" || first == "-" { s.removeFirst() }
        var saw: Character = "^"
        var index = 0
        var hex = false
        if s.count >= 2, s[0] == "0", let lower = s[1].lowercased().first, lower == "x" || lower == "o" || lower == "b" {
            index = 2
            saw = "0"
            hex = lower == "x"
        }
        while index < s.count {
            let c = s[index]
            if c.isASCII, c.isNumber || (hex && c.isHexDigit) {
                saw = "0"
            } else if c == "_" {
                if saw != "0" { return false }
                saw = "_"
            } else {
                if saw == "_" { return false }
                saw = "!"
            }
            index += 1
        }
        return saw != "_"
    }

    /// What `strconv.ParseFloat(text, 64)` gives: a value, an infinity with Go's range error, or a syntax error.
    enum FloatResult: Equatable {
        case value(Double)
        case outOfRange(Double)
        case invalid
    }

    /// `strconv.ParseFloat(text, 64)`: decimal and hex (`0x1p-2`) forms, `Inf`, `Infinity` and
    /// `NaN` in any case, underscores between digits.
    static func parseFloat(_ text: String) -> FloatResult {
        var body = Substring(text)
        var sign = ""
        if let first = body.first, first == "+" || first == "-" {
            sign = first == "-" ? "-" : ""
            body = body.dropFirst()
        }
        switch body.lowercased() {
        case "inf", "infinity": return .value(sign == "-" ? -.infinity : .infinity)
        case "nan": return sign.isEmpty && text.first != "+" ? .value(.nan) : .invalid
        default: break
        }
        guard isFloatSyntax(body), !body.contains("_") || underscoreOK(text) else { return .invalid }
        var cleaned = sign + body
        cleaned.removeAll { $0 == "_" }
        guard let value = Double(cleaned) else { return .invalid }
        return value.isInfinite ? .outOfRange(value) : .value(value)
    }

    /// Digits with an optional point and exponent; hexadecimal ones need a `p` exponent.
    private static func isFloatSyntax(_ s: Substring) -> Bool {
        let lower = Array(s.lowercased())
        var index = 0
        var hex = false
        if lower.count >= 2, lower[0] == "0", lower[1] == "x" {
            hex = true
            index = 2
        }
        func isDigit(_ c: Character) -> Bool { c == "_" || (c.isASCII && (hex ? c.isHexDigit : c.isNumber)) }
        var mantissaDigits = 0
        while index < lower.count, isDigit(lower[index]) {
            if lower[index] != "_" { mantissaDigits += 1 }
            index += 1
        }
        if index < lower.count, lower[index] == "." {
            index += 1
            while index < lower.count, isDigit(lower[index]) {
                if lower[index] != "_" { mantissaDigits += 1 }
                index += 1
            }
        }
        guard mantissaDigits > 0 else { return false }
        let exponentMark: Character = hex ? "p" : "e"
        if index < lower.count, lower[index] == exponentMark {
            index += 1
            if index < lower.count, lower[index] == "+" || lower[index] == "-" { index += 1 }
            var exponentDigits = 0
            while index < lower.count, lower[index].isASCII, lower[index].isNumber || lower[index] == "_" {
                exponentDigits += 1
                index += 1
            }
            if exponentDigits == 0 { return false }
        } else if hex {
            return false
        }
        return index == lower.count
    }
}
