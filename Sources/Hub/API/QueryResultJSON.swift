import PromQL

/// A query's result as Prometheus's API writes it, by hand: times as seconds with at most three
/// decimals (`1435781451.781`) and values as strings in Go's shortest form without exponent
/// (`"12345678901234567"`, `"0.000001"`), which no `JSONEncoder` setting gives.
enum QueryResultJSON {
    /// The `data` object: `{"resultType":"vector","result":[…]}`.
    static func data(_ value: QueryValue) -> String {
        var out = "{\"resultType\":\"\(value.resultType)\",\"result\":"
        switch value {
        case .scalar(let sample):
            out += pair(sample.t, number(sample.v))
        case .string(let t, let text):
            out += pair(t, quoted(text))
        case .vector(let elements):
            out += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { out += "," }
                out += "{\"metric\":\(metric(element.labels)),\"value\":\(pair(element.sample.t, number(element.sample.v)))}"
            }
            out += "]"
        case .matrix(let series):
            out += "["
            for (index, one) in series.enumerated() {
                if index > 0 { out += "," }
                out += "{\"metric\":\(metric(one.labels)),\"values\":["
                for (position, sample) in one.samples.enumerated() {
                    if position > 0 { out += "," }
                    out += pair(sample.t, number(sample.v))
                }
                out += "]}"
            }
            out += "]"
        }
        return out + "}"
    }

    static func metric(_ labels: Labels) -> String {
        "{" + labels.pairs.map { quoted($0.name) + ":" + quoted($0.value) }.joined(separator: ",") + "}"
    }

    private static func pair(_ t: Timestamp, _ value: String) -> String { "[\(seconds(t)),\(value)]" }

    private static func number(_ value: Double) -> String { "\"\(goFloat(value))\"" }

    /// Milliseconds as seconds: `1500`, `1500.5`, `-0.25`.
    static func seconds(_ t: Timestamp) -> String {
        let sign = t < 0 ? "-" : ""
        let magnitude = t.magnitude
        let whole = magnitude / 1000, fraction = magnitude % 1000
        guard fraction != 0 else { return sign + String(whole) }
        var digits = String(fraction)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        return "\(sign)\(whole).\(digits)"
    }

    /// Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits that read back as `v`,
    /// never an exponent; `+Inf`, `-Inf`, `NaN` as Prometheus writes them.
    static func goFloat(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        let text = "\(value)"
        guard let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) else {
            return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
        }
        let exponent = Int(text[text.index(after: e)...]) ?? 0
        var mantissa = String(text[..<e])
        let negative = mantissa.hasPrefix("-")
        if negative { mantissa.removeFirst() }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let integer = String(parts[0]), fraction = parts.count > 1 ? String(parts[1]) : ""
        var digits = integer + fraction
        var point = integer.count + exponent
        if point <= 0 {
            digits = String(repeating: "0", count: 1 - point) + digits
            point = 1
        } else if point > digits.count {
            digits += String(repeating: "0", count: point - digits.count)
        }
        var result = String(digits.prefix(point))
        var rest = String(digits.dropFirst(point))
        while rest.hasSuffix("0") { rest.removeLast() }
        if !rest.isEmpty { result += "." + rest }
        return (negative ? "-" : "") + result
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
