/// Turns a number token into its value as Prometheus does: Go's `strconv.ParseInt(text, 0, 64)`
/// first (so `0x1f` is hex and `0755` octal), then `strconv.ParseFloat`.
enum NumberText {
    static func value(of text: String) -> Result<Double, NumberError> {
        if let integer = parseGoInteger(text) { return .success(Double(integer)) }
        return parseGoFloat(text)
    }

    /// `ParseInt` with base 0, for the shapes the lexer produces: `0x` hex, `0` octal, decimal.
    /// Returns nil where Go reports an error, including overflow.
    private static func parseGoInteger(_ text: String) -> Int64? {
        var digits = Substring(text)
        var radix = 10
        if digits.count >= 2, digits.hasPrefix("0x") || digits.hasPrefix("0X") {
            radix = 16
            digits = digits.dropFirst(2)
        } else if digits.count >= 2, digits.hasPrefix("0") {
            radix = 8
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isHexDigit }) else { return nil }
        return Int64(digits, radix: radix)
    }

    /// `ParseFloat` for decimal text, `inf`/`nan` in any case. Hex text reaches here only when it
    /// has a fraction or overflows, which Go rejects: a hex float needs a `p` exponent.
    private static func parseGoFloat(_ text: String) -> Result<Double, NumberError> {
        let invalid = NumberError(message: "strconv.ParseFloat: parsing \(GoText.quote(text)): invalid syntax")
        switch text.lowercased() {
        case "inf", "+inf", "infinity": return .success(.infinity)
        case "nan": return .success(.nan)
        default: break
        }
        let allowed = Set("0123456789.eE+-")
        guard !text.isEmpty, text.allSatisfy({ allowed.contains($0) }), let value = Double(text) else {
            return .failure(invalid)
        }
        if value.isInfinite {
            return .failure(NumberError(message: "strconv.ParseFloat: parsing \(GoText.quote(text)): value out of range"))
        }
        return .success(value)
    }
}

/// Why a number token's text was rejected.
struct NumberError: Error, Sendable {
    var message: String
}
