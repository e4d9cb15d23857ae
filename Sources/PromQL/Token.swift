/// The kinds of token PromQL's lexer produces, named after Prometheus's item types.
enum TokenKind: Sendable, Hashable {
    case eof
    case identifier
    /// An identifier with a colon, such as a recording rule's name `job:rate5m`.
    case metricIdentifier
    case number
    case string
    case duration
    case leftParen, rightParen, leftBrace, rightBrace, leftBracket, rightBracket
    case comma
    /// Inside `[...]`: the subquery's `:`. Prometheus's lexer also turns a letter there into this
    /// token, which is why `foo[5m x]` parses as `foo[5m:]`; we keep that quirk.
    case colon
    /// `=`, inside braces.
    case assign
    /// `=~` and `!~`, inside braces. (`!=` is `.binaryOperator(.notEqual)` everywhere.)
    case regexMatch, regexNoMatch
    /// A binary operator other than `!=`; `+` and `-` are also the unary operators.
    case binaryOperator(BinaryOperator)
    case at
    case aggregator(AggregateOp)
    case keyword(Keyword)
    /// `start` and `end`, the `@` modifier's preprocessors.
    case preprocessor(AtModifier)
}

/// PromQL's keywords other than operators and aggregators.
enum Keyword: String, Sendable, Hashable {
    case bool, by, groupLeft = "group_left", groupRight = "group_right", ignoring, offset, on, without
}

struct Token: Sendable {
    var kind: TokenKind
    /// The token's text exactly as written, quotes included for strings.
    var text: String
    /// Byte offset of the first character.
    var offset: Int

    var end: Int { offset + text.utf8.count }

    /// How Prometheus names this token in "unexpected …" messages (its `Item.desc`).
    var description: String {
        switch kind {
        case .eof: return "end of input"
        case .identifier: return "identifier " + GoText.quote(text)
        case .metricIdentifier: return "metric identifier " + GoText.quote(text)
        case .number: return "number " + Self.quotedValue(text)
        case .string: return "string " + Self.quotedValue(text)
        case .duration: return "duration " + Self.quotedValue(text)
        case .binaryOperator, .at, .regexMatch, .regexNoMatch: return "<op:\(text)>"
        case .aggregator: return "<aggr:\(text)>"
        case .keyword: return "<\(text)>"
        case .leftParen, .rightParen, .leftBrace, .rightBrace, .leftBracket, .rightBracket,
             .comma, .colon, .assign, .preprocessor:
            return Self.quotedValue(text)
        }
    }

    /// Prometheus quotes values of more than ten bytes as their first ten runes and `...`.
    private static func quotedValue(_ text: String) -> String {
        text.utf8.count > 10 ? GoText.quote(text, maxRunes: 10) + "..." : GoText.quote(text)
    }

    /// Tokens that may name a metric: identifiers, and keywords that Prometheus's grammar lets
    /// stand as a metric name (`sum`, `offset`, `by`, `and`, `start`, …).
    var canBeMetricName: Bool {
        switch kind {
        case .identifier, .metricIdentifier, .aggregator, .preprocessor: return true
        case .binaryOperator(let op): return op == .and || op == .or || op == .unless
        case .keyword(let keyword): return keyword == .by || keyword == .offset || keyword == .without
        default: return false
        }
    }

    /// Tokens an operand can begin with.
    var canStartExpression: Bool {
        switch kind {
        case .number, .string, .leftParen, .leftBrace: return true
        case .binaryOperator(let op): return op == .add || op == .sub || canBeMetricName
        default: return canBeMetricName
        }
    }

    /// Tokens that may name a label in `by (…)`, `on (…)` and the like: any word, keywords
    /// included but for `without`, which Prometheus's grammar leaves out. Whether the word is a
    /// valid label name is checked separately.
    var canBeGroupingLabel: Bool {
        switch kind {
        case .identifier, .metricIdentifier, .aggregator, .preprocessor: return true
        case .keyword(let keyword): return keyword != .without
        case .binaryOperator(let op): return op == .and || op == .or || op == .unless || op == .atan2
        default: return false
        }
    }
}
