import Foundation
import PromQL

/// One verb's formatting state (Go's `fmt.fmt` flags) and the printers by type.
struct Printer {
    var sharp = false, zero = false, plus = false, minus = false, space = false
    var sharpV = false, plusV = false
    var width: Int?
    var precision: Int?

    func printed(_ value: TemplateValue, verb: Unicode.Scalar, depth: Int = 0) -> String {
        let value = value.concrete
        if verb == "T" { return value.isNil ? pad("<nil>") : pad(truncated(value.typeName)) }
        switch value {
        case .invalid, .interface:
            if verb == "v" { return pad("<nil>") }
            return badVerb(value, verb)
        case .bool(let b):
            if verb == "t" || verb == "v" { return pad(b ? "true" : "false") }
            return badVerb(value, verb)
        case .int(let n):
            return integer(n, verb: verb) ?? badVerb(value, verb)
        case .float(let x):
            return float(x, verb: verb) ?? badVerb(value, verb)
        case .complex(let re, let im):
            // Go formats each part on its own, width and flags included; the imaginary one signed.
            guard "vbgGxXfFeE".unicodeScalars.contains(verb) else { return badVerb(value, verb) }
            var imaginary = self
            imaginary.plus = true
            return "(" + (float(re, verb: verb) ?? "") + (imaginary.float(im, verb: verb) ?? "") + "i)"
        case .string(let s), .html(let s):
            return string(s, verb: verb) ?? badVerb(value, verb)
        case .time(let nanoseconds):
            // A `time.Time` is a GoStringer for `%#v`, a Stringer for the string verbs; otherwise
            // fmt prints its fields.
            if sharpV, verb == "v" { return pad(truncated(GoTime.goString(nanoseconds))) }
            if let text = string(GoTime.string(nanoseconds), verb: verb) { return text }
            if depth > 0 { return pointer(index: 0, verb: verb) }
            return "&" + timeFields(nanoseconds, verb: verb)
        case .stringMap(let map):
            return mapText(map.mapValues { .string($0) }, type: "map[string]string", verb: verb, depth: depth)
        case .anyMap(let map):
            return mapText(map, type: "map[string]interface {}", verb: verb, depth: depth)
        case .alert(let data):
            let fields: [(String, TemplateValue)] = [
                ("Labels", .stringMap(data.labels)), ("ExternalLabels", .stringMap(data.externalLabels)),
                ("ExternalURL", .string(data.externalURL)), ("Value", .float(data.value)),
            ]
            if sharpV { return Self.alertTypeName(fields, self, depth: depth) }
            return structure(fields, verb: verb, depth: depth)
        case .queryResult(let samples):
            return "[" + samples.indices.map { pointer(index: $0, verb: verb) }.joined(separator: " ") + "]"
        case .sample(let sample):
            guard let sample else { return verb == "v" ? pad("<nil>") : badVerb(value, verb) }
            if depth > 0 { return pointer(index: 0, verb: verb) }
            return "&" + structure([("Labels", .stringMap(sample.labels)), ("Value", .float(sample.value))], verb: verb, depth: depth + 1)
        }
    }

    /// A map as Go prints it: `map[k:v k:v]` in key order, `map[string]string{"k":"v", …}` under `%#v`.
    private func mapText(_ map: [String: TemplateValue], type: String, verb: Unicode.Scalar, depth: Int) -> String {
        let keys = map.keys.sorted(by: goLess)
        let pairs = keys.map { key -> String in
            let value = map[key]!
            let printedValue = sharpV && value.isNil ? "interface {}(nil)" : printed(value, verb: verb, depth: depth + 1)
            return printed(.string(key), verb: verb, depth: depth + 1) + ":" + printedValue
        }
        return sharpV ? type + "{" + pairs.joined(separator: ", ") + "}" : "map[" + pairs.joined(separator: " ") + "]"
    }

    /// The alert data under `%#v`: `struct { … }{Labels:map[string]string{…}, …}`.
    private static func alertTypeName(_ fields: [(String, TemplateValue)], _ printer: Printer, depth: Int) -> String {
        let values = fields.map { $0.0 + ":" + printer.printed($0.1, verb: "v", depth: depth + 1) }
        return TemplateValue.alertTypeName + "{" + values.joined(separator: ", ") + "}"
    }

    /// A struct as Go prints it: `{a b}`, or `{A:a B:b}` under `%+v`.
    func structure(_ fields: [(String, TemplateValue)], verb: Unicode.Scalar, depth: Int) -> String {
        "{" + fields.map { (plusV ? $0.0 + ":" : "") + printed($0.1, verb: verb, depth: depth + 1) }.joined(separator: " ") + "}"
    }

    /// The fields of a UTC `time.Time` from `time.Unix`: `{wall ext loc}`, that is nanoseconds,
    /// seconds since year 1 and a nil location.
    private func timeFields(_ nanoseconds: Int64, verb: Unicode.Scalar) -> String {
        var seconds = nanoseconds / 1_000_000_000
        var wall = nanoseconds % 1_000_000_000
        if wall < 0 {
            wall += 1_000_000_000
            seconds -= 1
        }
        func field(_ n: Int64, _ type: String) -> String {
            integer(Int(n), verb: verb) ?? "%!\(verb)(\(type)=\(printed(.int(Int(n)), verb: "v")))"
        }
        let location = "bodxX".unicodeScalars.contains(verb) ? (integer(0, verb: verb) ?? "0") : "%!\(verb)(*time.Location=\(pad("<nil>")))"
        return "{" + field(wall, "uint64") + " " + field(seconds + 62_135_596_800, "int64") + " " + location + "}"
    }

    /// A pointer's address. Go's are where the value happens to live; these only look like them.
    private func pointer(index: Int, verb: Unicode.Scalar) -> String {
        let address = 0xc000_0100_00 + index * 0x10
        let hex = "0x" + String(address, radix: 16)
        switch verb {
        case "v", "p": return pad(hex)
        case "b", "o", "d", "x", "X": return integer(address, verb: verb) ?? hex
        default: return "%!\(verb)(*template.sample=\(hex))"
        }
    }

    /// `%!d(string=x)`; the value is printed with `%v` under the same flags, width and precision.
    func badVerb(_ value: TemplateValue, _ verb: Unicode.Scalar) -> String {
        if value.isNil { return "%!\(verb)(<nil>)" }
        return "%!\(verb)(\(value.typeName)=\(printed(value, verb: "v")))"
    }

    // MARK: - Padding

    /// Go's `pad`: to the width in runes, with spaces or (flag `0`, on the left) zeros.
    func pad(_ text: String) -> String {
        guard let width, width > 0 else { return text }
        let count = text.unicodeScalars.count
        guard width > count else { return text }
        let padding = String(repeating: zero && !minus ? "0" : " ", count: width - count)
        return minus ? text + String(repeating: " ", count: width - count) : padding + text
    }

    // MARK: - Strings

    private func string(_ s: String, verb: Unicode.Scalar) -> String? {
        switch verb {
        case "v":
            return sharpV ? pad(GoText.quote(truncated(s))) : pad(truncated(s))
        case "s": return pad(truncated(s))
        case "q":
            let text = truncated(s)
            let canBackquote = !text.unicodeScalars.contains { $0 == "`" || $0 == "\u{FEFF}" || $0 == "\u{7F}" || ($0.value < 0x20 && $0 != "\t") }
            if sharp, canBackquote { return pad("`" + text + "`") }
            return pad(plus ? Self.asciiQuoted(text, quote: "\"") : GoText.quote(text))
        case "x", "X":
            let digits = verb == "x" ? "0123456789abcdef" : "0123456789ABCDEF"
            let table = Array(digits)
            var out = ""
            // The precision counts bytes here, not characters.
            for (index, byte) in Array(s.utf8.prefix(precision ?? Int.max)).enumerated() {
                if space, index > 0 { out += " " }
                if sharp, space || index == 0 { out += verb == "x" ? "0x" : "0X" }
                out.append(table[Int(byte >> 4)])
                out.append(table[Int(byte & 15)])
            }
            return pad(out)
        default: return nil
        }
    }

    private func truncated(_ s: String) -> String {
        guard let precision, s.unicodeScalars.count > precision else { return s }
        return String(String.UnicodeScalarView(s.unicodeScalars.prefix(precision)))
    }

    // MARK: - Integers

    private func integer(_ n: Int, verb: Unicode.Scalar) -> String? {
        switch verb {
        case "v", "d": return integer(n, base: 10, verb: verb)
        case "b": return integer(n, base: 2, verb: verb)
        case "o", "O": return integer(n, base: 8, verb: verb)
        case "x": return integer(n, base: 16, verb: verb)
        case "X": return integer(n, base: 16, verb: verb, upper: true)
        case "c": return pad(String(Self.rune(n)))
        case "q": return pad(plus ? Self.asciiQuoted(String(Self.rune(n)), quote: "'") : GoText.quoteRune(Self.rune(n)))
        case "U":
            let u = UInt64(bitPattern: Int64(n))
            var hex = String(u, radix: 16, uppercase: true)
            let digits = max(4, precision ?? 0)
            if hex.count < digits { hex = String(repeating: "0", count: digits - hex.count) + hex }
            var text = "U+" + hex
            if sharp, u <= 0x10FFFF, let scalar = Unicode.Scalar(UInt32(u)), GoText.isPrint(scalar) { text += " '\(scalar)'" }
            var unpadded = self
            unpadded.zero = false
            return unpadded.pad(text)
        default: return nil
        }
    }

    /// An integer as a character: U+FFFD where it is none (negative, a surrogate, past U+10FFFF).
    private static func rune(_ n: Int) -> Unicode.Scalar {
        guard n >= 0, n <= 0x10FFFF, let scalar = Unicode.Scalar(UInt32(n)) else { return "\u{FFFD}" }
        return scalar
    }

    /// Go's `fmtInteger`.
    private func integer(_ n: Int, base: Int, verb: Unicode.Scalar, upper: Bool = false) -> String {
        let negative = n < 0
        let magnitude = n.magnitude
        var minimumDigits = 0
        if let precision {
            if precision == 0, magnitude == 0 {
                var blank = self
                blank.zero = false
                return blank.pad("")
            }
            minimumDigits = precision
        } else if zero, let width {
            minimumDigits = width - (negative || plus || space ? 1 : 0)
        }
        var digits = String(magnitude, radix: base, uppercase: upper)
        if digits.count < minimumDigits { digits = String(repeating: "0", count: minimumDigits - digits.count) + digits }
        if sharp {
            switch base {
            case 2: digits = "0b" + digits
            case 8: if !digits.hasPrefix("0") { digits = "0" + digits }
            case 16: digits = (upper ? "0X" : "0x") + digits
            default: break
            }
        }
        if verb == "O" { digits = "0o" + digits }
        if negative {
            digits = "-" + digits
        } else if plus {
            digits = "+" + digits
        } else if space {
            digits = " " + digits
        }
        var unpadded = self
        unpadded.zero = false
        return unpadded.pad(digits)
    }

    // MARK: - Floats

    private func float(_ x: Double, verb: Unicode.Scalar) -> String? {
        let text: String
        switch verb {
        case "v", "g", "G":
            if let precision {
                text = Self.cFormat(x, "%+.\(precision)\(verb == "G" ? "G" : "g")")
            } else {
                let shortest = GoText.formatFloatV(x)
                let spelled = verb == "G" && x.isFinite ? shortest.uppercased() : shortest
                text = (spelled.hasPrefix("-") || spelled.hasPrefix("+") ? "" : "+") + spelled
            }
        case "e", "E", "f", "F":
            text = Self.cFormat(x, "%+.\(precision ?? 6)\(verb == "F" ? "f" : String(verb))")
        case "x", "X":
            text = x.isFinite ? (x.sign == .minus ? "-" : "+") + Self.hexFloat(abs(x), precision: precision, upper: verb == "X") : Self.cFormat(x, "")
        case "b":
            text = x.isFinite ? (x.sign == .minus ? "-" : "+") + Self.binaryFloat(abs(x)) : Self.cFormat(x, "")
        default:
            return nil
        }
        return signed(sharp && verb != "b" ? sharpened(text, verb: verb) : text)
    }

    /// Go's `#` on floats: a decimal point always, and `%g`'s trailing zeros kept (to the
    /// precision, 6 by default).
    private func sharpened(_ text: String, verb: Unicode.Scalar) -> String {
        guard let second = text.dropFirst().first, second != "I", second != "N" else { return text }
        var digits = 0
        if "vgGx".unicodeScalars.contains(verb) { digits = precision ?? 6 }
        var num = Array(text)
        var tail: [Character] = []
        var hasDecimalPoint = false
        var sawNonzeroDigit = false
        var i = 1
        while i < num.count {
            let c = num[i]
            if c == "." {
                hasDecimalPoint = true
            } else if c == "p" || c == "P" || ((c == "e" || c == "E") && verb != "x" && verb != "X") {
                tail = Array(num[i...])
                num = Array(num[..<i])
                break
            } else {
                if c != "0" { sawNonzeroDigit = true }
                if sawNonzeroDigit { digits -= 1 }
            }
            i += 1
        }
        if !hasDecimalPoint {
            if num.count == 2, num[1] == "0" { digits -= 1 }
            num.append(".")
        }
        while digits > 0 {
            num.append("0")
            digits -= 1
        }
        return String(num + tail)
    }

    /// strconv's `%b` of a float: the mantissa and a power of two, `4503599627370496p-52`.
    private static func binaryFloat(_ x: Double) -> String {
        var exponent = Int(x.exponentBitPattern)
        var mantissa = x.significandBitPattern
        if exponent == 0 {
            exponent += 1
        } else {
            mantissa |= 1 << 52
        }
        exponent -= 1023 + 52
        return String(mantissa) + "p" + (exponent >= 0 ? "+" : "") + String(exponent)
    }

    /// `strconv.QuoteToASCII`: what is not printable ASCII escaped.
    static func asciiQuoted(_ text: String, quote: Unicode.Scalar) -> String {
        var out = String(quote)
        for scalar in text.unicodeScalars {
            if scalar.value < 0x80 {
                let quoted = quote == "'" ? GoText.quoteRune(scalar) : GoText.quote(String(scalar))
                out += quoted.dropFirst().dropLast()
            } else if scalar.value <= 0xFFFF {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                let hex = String(scalar.value, radix: 16)
                out += "\\U" + String(repeating: "0", count: 8 - hex.count) + hex
            }
        }
        return out + String(quote)
    }

    /// strconv's `%x` of a float: `0x1.4p+01`, the fraction cut to `precision` hex digits
    /// (rounded half to even) when one is given.
    private static func hexFloat(_ x: Double, precision: Int?, upper: Bool) -> String {
        var exponent = Int(x.exponentBitPattern)
        var mantissa = x.significandBitPattern
        if exponent == 0 {
            exponent += 1
        } else {
            mantissa |= 1 << 52
        }
        exponent -= 1023
        if mantissa == 0 { exponent = 0 }
        mantissa <<= 8
        while mantissa != 0, mantissa & (1 << 60) == 0 {
            mantissa <<= 1
            exponent -= 1
        }
        if let precision, precision < 15 {
            let shift = UInt64(precision * 4)
            let extra = (mantissa << shift) & ((1 << 60) - 1)
            mantissa >>= 60 - shift
            if extra | (mantissa & 1) > 1 << 59 { mantissa += 1 }
            mantissa <<= 60 - shift
            if mantissa & (1 << 61) != 0 {
                mantissa >>= 1
                exponent += 1
            }
        }
        let digits = Array(upper ? "0123456789ABCDEF" : "0123456789abcdef")
        var out = (upper ? "0X" : "0x") + String((mantissa >> 60) & 1)
        mantissa <<= 4
        if precision == nil, mantissa != 0 {
            out += "."
            while mantissa != 0 {
                out.append(digits[Int((mantissa >> 60) & 15)])
                mantissa <<= 4
            }
        } else if let precision, precision > 0 {
            out += "."
            for _ in 0..<precision {
                out.append(digits[Int((mantissa >> 60) & 15)])
                mantissa <<= 4
            }
        }
        out += (upper ? "P" : "p") + (exponent < 0 ? "-" : "+")
        let magnitude = String(abs(exponent))
        return out + (magnitude.count < 2 ? "0" + magnitude : magnitude)
    }

    /// `text` starts with its sign; Go's `fmtFloat` decides which sign to show and how to pad.
    private func signed(_ text: String) -> String {
        var num = text
        if space, num.hasPrefix("+"), !plus { num = " " + num.dropFirst() }
        let body = num.dropFirst()
        if body.hasPrefix("I") || body.hasPrefix("N") {
            var unpadded = self
            unpadded.zero = false
            if body.hasPrefix("N"), !space, !plus { num = String(body) }
            return unpadded.pad(num)
        }
        if plus || !num.hasPrefix("+") {
            if zero, let width, width > num.count {
                return String(num.first!) + String(repeating: "0", count: width - num.count) + body
            }
            return pad(num)
        }
        return pad(String(body))
    }

    /// C's printf for the digits (glibc rounds exactly, as Go does), with Go's spelling of
    /// infinities and NaN.
    private static func cFormat(_ x: Double, _ format: String) -> String {
        if x.isNaN { return "+NaN" }
        if x.isInfinite { return x < 0 ? "-Inf" : "+Inf" }
        return String(format: format, x)
    }
}

extension TemplateValue {
    /// Go's nil interface as an operand of `fmt`.
    var isNil: Bool {
        switch self {
        case .invalid, .interface(nil): return true
        default: return false
        }
    }
}
