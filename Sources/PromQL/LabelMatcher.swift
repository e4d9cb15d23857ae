import Foundation

/// One `label op "value"` condition of a selector.
public struct LabelMatcher: Sendable, Hashable, CustomStringConvertible {
    public enum MatchType: String, Sendable, Hashable, CaseIterable {
        case equal = "="
        case notEqual = "!="
        case regexMatch = "=~"
        case regexNoMatch = "!~"
    }

    public let type: MatchType
    public let name: String
    public let value: String
    /// The compiled, fully anchored regex for `=~` and `!~`; nil for `=` and `!=`.
    public let regex: LabelRegex?

    /// Compiles the regex of `=~` and `!~` matchers; throws for regexes RE2 rejects.
    public init(_ type: MatchType, name: String, value: String) throws(RegexError) {
        self.type = type
        self.name = name
        self.value = value
        switch type {
        case .equal, .notEqual: regex = nil
        case .regexMatch, .regexNoMatch: regex = try LabelRegex(value)
        }
    }

    /// Whether a label's value passes. A missing label has the value "".
    public func matches(_ candidate: String) -> Bool {
        switch type {
        case .equal: return candidate == value
        case .notEqual: return candidate != value
        case .regexMatch: return regex!.matches(candidate)
        case .regexNoMatch: return !regex!.matches(candidate)
        }
    }

    /// `name="value"`, the value quoted as Go does.
    public var description: String { name + type.rawValue + GoText.queryLiteral(value) }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.type == rhs.type && lhs.name == rhs.name && lhs.value == rhs.value
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(type)
        hasher.combine(name)
        hasher.combine(value)
    }

    func isMetricNameEquality(_ metric: String) -> Bool {
        type == .equal && name == "__name__" && value == metric
    }
}

/// A label regex as Prometheus compiles it: RE2 syntax, anchored at both ends (`^(?:re)$`).
///
/// Matching runs on ICU's engine via `NSRegularExpression`, on a pattern `RE2Translator` writes
/// with RE2's meaning. ICU backtracks where RE2 does not, so a hostile pattern can take long on
/// a long value; the query length limit bounds the pattern.
public struct LabelRegex: Sendable, Hashable {
    /// The regex as written in the query, unanchored.
    public let source: String
    /// The ICU pattern matching is done with, anchors included.
    public let icuPattern: String
    private let compiled: CompiledPattern

    public init(_ source: String) throws(RegexError) {
        self.source = source
        // Prometheus compiles the anchored text, then parses the bare one (for its optimizations):
        // either may fail, the first with the anchors in its message. `a)(b` passes only the first.
        icuPattern = try RE2Translator.translate("^(?:" + source + ")$")
        _ = try RE2Translator.translate(source)
        do {
            compiled = CompiledPattern(try NSRegularExpression(pattern: icuPattern))
        } catch {
            throw RegexError(message: "error compiling regexp \(GoText.quote(source)): not supported by this implementation")
        }
    }

    /// Whether the whole of `value` matches.
    public func matches(_ value: String) -> Bool {
        let whole = NSRange(location: 0, length: value.utf16.count)
        return compiled.expression.firstMatch(in: value, options: [], range: whole) != nil
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.source == rhs.source }
    public func hash(into hasher: inout Hasher) { hasher.combine(source) }
}

/// `NSRegularExpression` is immutable once built and documented as safe to use from any thread.
private final class CompiledPattern: @unchecked Sendable {
    let expression: NSRegularExpression
    init(_ expression: NSRegularExpression) { self.expression = expression }
}
