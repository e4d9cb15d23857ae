import Foundation

/// Text formatting as Go's `fmt` and `strconv` do it. Prometheus builds its error messages and its
/// printed queries with them, and matching them keeps our output byte-for-byte comparable.
public enum GoText {
    /// `strconv.Quote`, or `%.Nq` when `maxRunes` is given (the string cut to that many runes first).
    public static func quote(_ text: String, maxRunes: Int? = nil) -> String {
        var out = "\""
        for (index, scalar) in text.unicodeScalars.enumerated() {
            if let maxRunes, index >= maxRunes { break }
            out += escaped(scalar, quote: "\"")
        }
        return out + "\""
    }

    /// A string literal for printed queries: `quote`, but U+FFFD written `\ufffd`. Go writes it
    /// as is, yet Prometheus's lexer refuses it inside strings; escaped, printed queries parse back.
    /// Scalar by scalar: a string's replacing works on characters, and U+FFFD followed by a
    /// combining mark (U+0617) is one character that is not U+FFFD.
    static func queryLiteral(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            out += scalar == "\u{FFFD}" ? "\\ufffd" : escaped(scalar, quote: "\"")
        }
        return out + "\""
    }

    /// `strconv.QuoteRune`; `nil` stands for Go's `eof` (-1), which Go prints as U+FFFD.
    public static func quoteRune(_ scalar: Unicode.Scalar?) -> String {
        "'" + escaped(scalar ?? "\u{FFFD}", quote: "'") + "'"
    }

    /// `%#U`: `U+0063 'c'`, without the character when it is not printable.
    public static func unicodeNotation(_ scalar: Unicode.Scalar) -> String {
        var hex = String(scalar.value, radix: 16, uppercase: true)
        if hex.count < 4 { hex = String(repeating: "0", count: 4 - hex.count) + hex }
        return isPrint(scalar) ? "U+\(hex) '\(Character(scalar))'" : "U+\(hex)"
    }

    /// `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
    public static func isPrint(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
             .nonspacingMark, .spacingMark, .enclosingMark,
             .decimalNumber, .letterNumber, .otherNumber,
             .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation,
             .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }

    private static func escaped(_ scalar: Unicode.Scalar, quote: Unicode.Scalar) -> String {
        switch scalar {
        case quote, "\\": return "\\" + String(scalar)
        case "\u{07}": return "\\a"
        case "\u{08}": return "\\b"
        case "\u{0C}": return "\\f"
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        case "\u{0B}": return "\\v"
        default: break
        }
        if isPrint(scalar) { return String(scalar) }
        let hex = String(scalar.value, radix: 16)
        if scalar.value < 0x80 { return "\\x" + pad(hex, to: 2) }
        if scalar.value < 0x10000 { return "\\u" + pad(hex, to: 4) }
        return "\\U" + pad(hex, to: 8)
    }

    private static func pad(_ text: String, to width: Int) -> String {
        text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// `fmt.Sprint(float64)`: the shortest digits that round-trip, in `%e` form when the decimal
    /// exponent is below -4 or at least 6 (`1e+06`, `1e-05`), else plain (`123456`, `0.0001`).
    /// One difference: positive infinity is `Inf`, not `+Inf`. In a query a leading `+` is a unary
    /// operator, looser than `^`, so Go's form would not parse back: `+Inf ^ 2` is `+(Inf ^ 2)`.
    static func formatFloat(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "Inf" }
        let sign = value.sign == .minus ? "-" : ""
        if value == 0 { return sign + "0" }
        let (digits, pointPosition) = shortestDigits(abs(value))
        let exponent = pointPosition - 1
        if exponent < -4 || exponent >= 6 {
            var mantissa = String(digits.first!)
            if digits.count > 1 { mantissa += "." + digits.dropFirst() }
            let expSign = exponent < 0 ? "-" : "+"
            let expDigits = String(abs(exponent))
            return sign + mantissa + "e" + expSign + (expDigits.count < 2 ? "0" + expDigits : expDigits)
        }
        return sign + plainDecimal(digits, pointPosition)
    }

    /// 0.DIGITS × 10^pointPosition written out without an exponent.
    private static func plainDecimal(_ digits: String, _ pointPosition: Int) -> String {
        if pointPosition <= 0 { return "0." + String(repeating: "0", count: -pointPosition) + digits }
        if pointPosition >= digits.count { return digits + String(repeating: "0", count: pointPosition - digits.count) }
        let cut = digits.index(digits.startIndex, offsetBy: pointPosition)
        return digits[..<cut] + "." + digits[cut...]
    }

    /// The significant digits of a positive finite value (no leading or trailing zeros) and where
    /// the decimal point goes: value = 0.DIGITS × 10^pointPosition. Swift's `description` already
    /// prints the shortest round-tripping digits, as Go does; this only takes its layout apart.
    private static func shortestDigits(_ value: Double) -> (String, Int) {
        let text = value.description
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...])!
        }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let integerPart = String(parts[0])
        let fractionPart = parts.count > 1 ? String(parts[1]) : ""
        var digits = integerPart + fractionPart
        var pointPosition = integerPart.count + exponent
        while digits.hasPrefix("0") {
            digits.removeFirst()
            pointPosition -= 1
        }
        while digits.hasSuffix("0") { digits.removeLast() }
        return (digits, pointPosition)
    }

    /// `strconv.FormatFloat(value, 'f', -1, 64)`: the shortest round-tripping digits, never in
    /// exponent form (`1e+21` is `1000000000000000000000`); `+Inf`, `-Inf`, `NaN`. Prometheus
    /// writes `count_values`' label values and its API's sample values so.
    public static func formatFloatPlain(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        let sign = value.sign == .minus ? "-" : ""
        if value == 0 { return sign + "0" }
        let (digits, pointPosition) = shortestDigits(abs(value))
        return sign + plainDecimal(digits, pointPosition)
    }

    /// `fmt.Sprintf("%v", value)` for a float64: `formatFloat` with Go's `+Inf`.
    public static func formatFloatV(_ value: Double) -> String {
        value == .infinity ? "+Inf" : formatFloat(value)
    }

    /// `strconv.FormatFloat(value, 'e', -1, 64)`: the shortest round-tripping digits, always with
    /// an exponent (`1e+00`, `1.5e-07`); `+Inf`, `-Inf`, `NaN`. Prometheus's rules and alerts API
    /// writes alert values so.
    public static func formatFloatExponent(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        let sign = value.sign == .minus ? "-" : ""
        if value == 0 { return sign + "0e+00" }
        let (digits, pointPosition) = shortestDigits(abs(value))
        let exponent = pointPosition - 1
        var mantissa = String(digits.first!)
        if digits.count > 1 { mantissa += "." + digits.dropFirst() }
        let expDigits = String(abs(exponent))
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (expDigits.count < 2 ? "0" + expDigits : expDigits)
    }

    /// `fmt.Sprintf("%f", value)`.
    static func formatFixed6(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        return String(format: "%.6f", value)
    }
}
