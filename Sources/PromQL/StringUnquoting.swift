/// Turns a string token into its value with Go's escape rules, as Prometheus's `strutil.Unquote`
/// does. The lexer has already checked every escape.
///
/// Go strings may hold any bytes, so `"\xff"` is a one-byte string in Prometheus. Ours are Swift
/// strings, UTF-8 like the label values in storage: bytes that form no valid UTF-8 become U+FFFD,
/// as Swift decodes any invalid text (and so as the hub stores such label values).
enum StringUnquoting {
    static func unquote(_ token: String) -> String {
        let scalars = Array(token.unicodeScalars)
        guard scalars.count >= 2 else { return "" }
        let body = scalars[1..<(scalars.count - 1)]
        if scalars[0] == "`" { return String(String.UnicodeScalarView(body)) }

        // `\x` and octal escapes give single bytes, `\u` and `\U` code points, so the value is
        // built as UTF-8 bytes.
        var bytes: [UInt8] = []
        var index = body.startIndex
        func appendScalar(_ scalar: Unicode.Scalar) { bytes.append(contentsOf: Array(String(scalar).utf8)) }
        while index < body.endIndex {
            let c = body[index]
            index += 1
            guard c == "\\", index < body.endIndex else {
                appendScalar(c)
                continue
            }
            let escape = body[index]
            index += 1
            switch escape {
            case "a": bytes.append(0x07)
            case "b": bytes.append(0x08)
            case "f": bytes.append(0x0C)
            case "n": bytes.append(0x0A)
            case "r": bytes.append(0x0D)
            case "t": bytes.append(0x09)
            case "v": bytes.append(0x0B)
            case "0"..."7":
                var value = escape.value - 48
                for _ in 0..<2 where index < body.endIndex {
                    value = value * 8 + body[index].value - 48
                    index += 1
                }
                bytes.append(UInt8(truncatingIfNeeded: value))
            case "x", "u", "U":
                let count = escape == "x" ? 2 : escape == "u" ? 4 : 8
                var value: UInt32 = 0
                for _ in 0..<count where index < body.endIndex {
                    value = value * 16 + (RE2Translator.hexValue(body[index]) ?? 0)
                    index += 1
                }
                if escape == "x" {
                    bytes.append(UInt8(truncatingIfNeeded: value))
                } else if let scalar = Unicode.Scalar(value) {
                    appendScalar(scalar)
                }
            default:
                // `\\`, `\'`, `\"`.
                appendScalar(escape)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
