import PromQL
import Shared

/// A selector's matchers as SQL over `groups g` (and, for the exception counters, `series s`),
/// with what SQL cannot decide left for Swift: regexes, which PostgreSQL reads differently from
/// RE2, unless they are only a list of literal alternatives (`a|b\.c`, what Grafana's
/// multi-value variables write), which become `IN`.
struct SeriesFilter {
    /// The labels every group-based series has, and the SQL that gives each.
    static let groupColumns: [String: String] = [
        "team": "g.team", "service": "g.service", "aggregation_key": "g.aggregation_key", "class": "g.class",
        "severity": "(CASE g.severity WHEN 0 THEN 'info' WHEN 1 THEN 'warning' ELSE 'error' END)",
    ]

    private(set) var conditions: [String] = []
    /// Matchers to apply to the rows SQL returns.
    private(set) var inSwift: [LabelMatcher] = []
    /// Whether any matcher is on a series' own labels (so `groups` alone cannot answer).
    private(set) var usesOwnLabels = false

    /// `ownLabels`: whether the series has `s.labels` (target and external labels); where it has
    /// not, a matcher on any other name sees "" and so passes or fails every row. `extra` adds
    /// columns of the metric's own (`status`).
    init(_ matchers: [LabelMatcher], ownLabels: Bool, extra: [String: String] = [:], sql: inout SQLBuilder) throws {
        for matcher in matchers where matcher.name != Labels.metricName {
            if let column = Self.groupColumns[matcher.name] ?? extra[matcher.name] {
                if let condition = try Self.condition(matcher, column: column, &sql) { conditions.append(condition) } else { inSwift.append(matcher) }
            } else if ownLabels {
                usesOwnLabels = true
                if let condition = try Self.ownLabelCondition(matcher, &sql) { conditions.append(condition) } else { inSwift.append(matcher) }
            } else if !matcher.matches("") {
                conditions.append("false")
            }
        }
    }

    /// Whether the rows' labels pass what SQL left out.
    func passes(_ labels: PromQL.Labels) -> Bool {
        inSwift.allSatisfy { $0.matches(labels[$0.name] ?? "") }
    }

    var whereClause: String { (["true"] + conditions).joined(separator: " AND ") }

    private static func condition(_ matcher: LabelMatcher, column: String, _ sql: inout SQLBuilder) throws -> String? {
        switch matcher.type {
        case .equal: return "\(column) = \(try sql.bind(matcher.value))"
        case .notEqual: return "\(column) <> \(try sql.bind(matcher.value))"
        case .regexMatch, .regexNoMatch:
            guard let literals = matcher.regex.flatMap({ Self.literalAlternatives($0.source) }) else { return nil }
            return "\(matcher.type == .regexMatch ? "" : "NOT ")(\(column) = ANY(\(try sql.bind(literals))))"
        }
    }

    /// A label in `s.labels`: absent means "".
    private static func ownLabelCondition(_ matcher: LabelMatcher, _ sql: inout SQLBuilder) throws -> String? {
        let key = try sql.bind(matcher.name)
        let value = "coalesce(s.labels ->> \(key), '')"
        switch matcher.type {
        case .equal, .notEqual:
            if matcher.value.isEmpty { return matcher.type == .equal ? "NOT (s.labels ? \(key))" : "s.labels ? \(key)" }
            return "\(value) \(matcher.type == .equal ? "=" : "<>") \(try sql.bind(matcher.value))"
        case .regexMatch, .regexNoMatch:
            guard let literals = matcher.regex.flatMap({ Self.literalAlternatives($0.source) }) else { return nil }
            return "\(matcher.type == .regexMatch ? "" : "NOT ")(\(value) = ANY(\(try sql.bind(literals))))"
        }
    }

    /// The strings a regex made only of literal alternatives matches (`a|b\.c` → a, b.c), or nil
    /// when it has any other syntax. Letters, digits and `_-:/@ ,` are literal; other
    /// punctuation must be escaped with a backslash, as Grafana escapes it.
    static func literalAlternatives(_ source: String) -> [String]? {
        var alternatives: [String] = []
        var current = ""
        var escaped = false
        for character in source {
            if escaped {
                guard character.isPunctuation || character.isSymbol else { return nil }
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == "|" {
                alternatives.append(current)
                current = ""
            } else if character.isLetter || character.isNumber || "_-:/@ ,".contains(character) {
                current.append(character)
            } else {
                return nil
            }
        }
        guard !escaped else { return nil }
        alternatives.append(current)
        return alternatives
    }
}
