import Foundation

/// `label_replace`, `label_join` and the labels `absent` reports. Labels depend only on the
/// input series, so they are computed once per series.
extension Evaluator {
    func labelReplace(
        _ vector: [StepSeries], destination: String, replacement: String, source: String, regex: String
    ) throws(QueryError) -> [StepSeries] {
        let compiled: CapturingRegex
        do {
            compiled = try CapturingRegex("^(?:" + regex + ")$")
        } catch {
            throw QueryError(.execution, "invalid regular expression in label_replace(): \(regex)")
        }
        guard Labels.isValidName(destination) else {
            throw QueryError(.execution, "invalid destination label name in label_replace(): \(destination)")
        }
        let out = vector.map { item -> StepSeries in
            guard let expanded = compiled.expand(replacement, matching: item.labels[source] ?? "") else { return item }
            var labels = item.labels
            labels[destination] = expanded
            return StepSeries(labels: labels, points: item.points)
        }
        return try mergingEqualLabels(out)
    }

    func labelJoin(_ vector: [StepSeries], destination: String, separator: String, sources: [String]) throws(QueryError) -> [StepSeries] {
        for source in sources where !Labels.isValidName(source) {
            throw QueryError(.execution, "invalid source label name in label_join(): \(source)")
        }
        guard Labels.isValidName(destination) else {
            throw QueryError(.execution, "invalid destination label name in label_join(): \(destination)")
        }
        let out = vector.map { item -> StepSeries in
            var labels = item.labels
            labels[destination] = sources.map { item.labels[$0] ?? "" }.joined(separator: separator)
            return StepSeries(labels: labels, points: item.points)
        }
        return try mergingEqualLabels(out)
    }
}

/// What `absent(x{…})` and `absent_over_time(x{…}[r])` report: the labels the selector fixes
/// with `=`, except the name; a label matched more than once (or otherwise) is left out, as
/// Prometheus's `createLabelsForAbsentFunction` does.
func labelsForAbsent(_ selector: VectorSelector) -> Labels {
    var labels = Labels()
    var fixed = Set<String>()
    for matcher in selector.matchers where matcher.name != Labels.metricName {
        if matcher.type == .equal, !fixed.contains(matcher.name) {
            labels[matcher.name] = matcher.value
            fixed.insert(matcher.name)
        } else {
            labels[matcher.name] = nil
        }
    }
    return labels
}

/// An RE2 regex with its capturing groups, for `label_replace`'s `$1` and `${name}`; public for
/// the Rules module's template functions `match` and `reReplaceAll`, which are Go's regexp too.
public struct CapturingRegex: Sendable {
    private let compiled: CompiledRegex
    /// Group names in order, "" where unnamed.
    private let groupNames: [String]

    /// `regex` as Go compiles it (unanchored), or Go's error (`error parsing regexp: …`).
    public init(_ regex: String) throws(RegexError) {
        let (pattern, names) = try RE2Translator.translateCapturing(regex)
        do {
            // ICU refuses an empty pattern; Go's empty regex matches the empty string everywhere.
            compiled = CompiledRegex(try NSRegularExpression(pattern: pattern.isEmpty ? "(?:)" : pattern))
        } catch {
            throw RegexError(message: "error compiling regexp \(GoText.quote(regex)): not supported by this implementation")
        }
        groupNames = names
    }

    /// `replacement` expanded as Go's `Regexp.ExpandString` does, or nil when `value` does not match.
    func expand(_ replacement: String, matching value: String) -> String? {
        let text = value as NSString
        guard let match = compiled.expression.firstMatch(in: value, options: [], range: NSRange(location: 0, length: text.length))
        else { return nil }
        return expand(replacement, match, text)
    }

    /// Whether the regex matches anywhere in `value` (Go's `MatchString`).
    public func matches(in value: String) -> Bool {
        compiled.expression.firstMatch(in: value, options: [], range: NSRange(location: 0, length: (value as NSString).length)) != nil
    }

    /// Go's `ReplaceAllString`: every match, left to right and not overlapping, replaced by
    /// `replacement` with `$1` and `${name}` expanded; an empty match right after a match is not
    /// replaced, and the search moves on at least one character. Nil once the result would be
    /// longer than `maximumLength` UTF-16 units, so that a caller can bound what a hostile
    /// replacement makes.
    public func replacingAll(in value: String, with replacement: String, maximumLength: Int = .max) -> String? {
        let text = value as NSString
        let end = text.length
        var out = ""
        var lastMatchEnd = 0
        var searchPos = 0
        while searchPos <= end {
            // Anchors and word boundaries see the whole text, as Go's do, not just what is searched.
            guard let match = compiled.expression.firstMatch(
                in: value, options: [.withoutAnchoringBounds, .withTransparentBounds],
                range: NSRange(location: searchPos, length: end - searchPos))
            else { break }
            let range = match.range
            out += text.substring(with: NSRange(location: lastMatchEnd, length: range.location - lastMatchEnd))
            if range.upperBound > lastMatchEnd || range.location == 0 { out += expand(replacement, match, text) }
            if out.utf16.count > maximumLength { return nil }
            lastMatchEnd = range.upperBound
            // One character on: a surrogate pair is one, as a UTF-8 sequence is one rune in Go.
            let runeWidth = searchPos >= end ? 0 : (0xD800...0xDBFF).contains(text.character(at: searchPos)) ? 2 : 1
            if searchPos + runeWidth > range.upperBound {
                searchPos += runeWidth
            } else if searchPos + 1 > range.upperBound {
                searchPos += 1
            } else {
                searchPos = range.upperBound
            }
        }
        return out + text.substring(from: lastMatchEnd)
    }

    private func expand(_ replacement: String, _ match: NSTextCheckingResult, _ text: NSString) -> String {
        func group(_ index: Int) -> String {
            guard index <= groupNames.count, index < match.numberOfRanges else { return "" }
            let range = match.range(at: index)
            return range.location == NSNotFound ? "" : text.substring(with: range)
        }
        var out = ""
        var rest = Substring(replacement)
        while let dollar = rest.firstIndex(of: "$") {
            out += rest[..<dollar]
            rest = rest[rest.index(after: dollar)...]
            if rest.first == "$" {
                out += "$"
                rest = rest.dropFirst()
                continue
            }
            guard let (name, number, after) = Self.reference(rest) else {
                // Malformed: the `$` stays as text.
                out += "$"
                continue
            }
            rest = after
            if let number {
                out += group(number)
            } else if let index = groupNames.firstIndex(of: name) {
                out += group(index + 1)
            }
        }
        return out + rest
    }

    /// Go's `extract`: `name` or `{name}` (letters, digits, `_`), with its number when it is one
    /// (no leading zeros), and the text after it.
    private static func reference(_ text: Substring) -> (String, Int?, Substring)? {
        var rest = text
        let braced = rest.first == "{"
        if braced { rest = rest.dropFirst() }
        let name = rest.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        if name.isEmpty { return nil }
        rest = rest[name.endIndex...]
        if braced {
            guard rest.first == "}" else { return nil }
            rest = rest.dropFirst()
        }
        var number: Int? = 0
        for scalar in name.unicodeScalars {
            guard let current = number, scalar >= "0", scalar <= "9", current < 100_000_000 else {
                number = nil
                break
            }
            number = current * 10 + Int(scalar.value - 48)
        }
        if name.count > 1, name.first == "0" { number = nil }
        return (String(name), number, rest)
    }
}

/// `NSRegularExpression` is immutable once built and documented as safe to use from any thread.
private final class CompiledRegex: @unchecked Sendable {
    let expression: NSRegularExpression
    init(_ expression: NSRegularExpression) { self.expression = expression }
}
