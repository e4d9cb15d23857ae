import Periskop
import PromQL

/// A query's result as Prometheus's API writes it, by hand: times as seconds with at most three
/// decimals (`1435781451.781`) and values as strings in Go's shortest form without exponent
/// (`"12345678901234567"`, `"0.000001"`, `GoText.formatFloatPlain`), which no `JSONEncoder`
/// setting gives.
enum QueryResultJSON {
    /// The whole answer: `{"status":"success","data":{"resultType":"vector","result":[…]}}`.
    static func success(_ value: QueryValue) -> [UInt8] {
        var out = Array(#"{"status":"success","data":{"resultType":""#.utf8)
        out += value.resultType.utf8
        out += #"","result":"#.utf8
        switch value {
        case .scalar(let sample):
            pair(sample.t, GoText.formatFloatPlain(sample.v), &out)
        case .string(let t, let text):
            pair(t, text, &out)
        case .vector(let elements):
            out.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out += #"{"metric":"#.utf8
                metric(element.labels, &out)
                out += #","value":"#.utf8
                pair(element.sample.t, GoText.formatFloatPlain(element.sample.v), &out)
                out.append(UInt8(ascii: "}"))
            }
            out.append(UInt8(ascii: "]"))
        case .matrix(let series):
            out.append(UInt8(ascii: "["))
            for (index, one) in series.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out += #"{"metric":"#.utf8
                metric(one.labels, &out)
                out += #","values":["#.utf8
                for (position, sample) in one.samples.enumerated() {
                    if position > 0 { out.append(UInt8(ascii: ",")) }
                    pair(sample.t, GoText.formatFloatPlain(sample.v), &out)
                }
                out += "]}".utf8
            }
            out.append(UInt8(ascii: "]"))
        }
        out += "}}".utf8
        return out
    }

    private static func metric(_ labels: Labels, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (index, pair) in labels.pairs.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(pair.name, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONText.appendQuoted(pair.value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// `[seconds,"value"]`.
    private static func pair(_ t: Timestamp, _ value: String, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        out += seconds(t).utf8
        out.append(UInt8(ascii: ","))
        JSONText.appendQuoted(value, to: &out)
        out.append(UInt8(ascii: "]"))
    }

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
}
