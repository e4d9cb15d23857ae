/// The tree `PromQLParser.parse` returns: a PromQL expression as Prometheus's parser builds it, after
/// type checking. Every node keeps its source span; `==` and hashing ignore spans, so trees of the
/// same query are equal however they were written. `description` prints canonical PromQL that
/// parses back to an equal tree.
public indirect enum Expr: Sendable, Hashable {
    case number(NumberLiteral)
    case string(StringLiteral)
    case vectorSelector(VectorSelector)
    case matrixSelector(MatrixSelector)
    case subquery(SubqueryExpr)
    case paren(ParenExpr)
    case unary(UnaryExpr)
    case binary(BinaryExpr)
    case aggregate(AggregateExpr)
    case call(Call)
}

/// What an expression evaluates to.
public enum ValueType: String, Sendable, Hashable, CustomStringConvertible {
    case scalar
    case instantVector
    case rangeVector
    case string

    /// The name the PromQL documentation and Prometheus's messages use: `instant vector`.
    public var description: String {
        switch self {
        case .scalar: return "scalar"
        case .instantVector: return "instant vector"
        case .rangeVector: return "range vector"
        case .string: return "string"
        }
    }

    /// Prometheus's internal name (`vector`, `matrix`), which one of its messages prints.
    var internalName: String {
        switch self {
        case .scalar: return "scalar"
        case .instantVector: return "vector"
        case .rangeVector: return "matrix"
        case .string: return "string"
        }
    }
}

// MARK: - Leaves

/// A number: `1`, `-2.5e3`, `0x1f`, `Inf`, `NaN`. A leading sign is folded into the value.
public struct NumberLiteral: Sendable, Hashable {
    public var value: Double
    @IgnoredInComparison public var span: SourceSpan

    public init(_ value: Double, span: SourceSpan = .unknown) {
        self.value = value
        self.span = span
    }

    /// NaN equals NaN here: the literal `NaN` is the same query wherever it appears.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.value == rhs.value || (lhs.value.isNaN && rhs.value.isNaN)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(value.isNaN ? Double.nan.bitPattern : (value == 0 ? 0 : value.bitPattern))
    }
}

/// A string, unquoted: `"a\n"` holds a newline.
public struct StringLiteral: Sendable, Hashable {
    public var value: String
    @IgnoredInComparison public var span: SourceSpan

    public init(_ value: String, span: SourceSpan = .unknown) {
        self.value = value
        self.span = span
    }
}

/// Where `@` pins a selector or subquery in time.
public enum AtModifier: Sendable, Hashable {
    /// `@ 1609746000` (seconds in the query; kept here as milliseconds since the Unix epoch).
    case timestamp(milliseconds: Int64)
    /// `@ start()`: the start of the query's range.
    case start
    /// `@ end()`: the end of the query's range.
    case end
}

/// `name{label="value", …}`: the series to select, and when.
public struct VectorSelector: Sendable, Hashable {
    /// The metric name written before the braces, if any.
    public var name: String?
    /// All matchers a series must pass. As in Prometheus, a name written before the braces is
    /// also here, as the last matcher, `__name__="name"`; a selector is thus fully described by
    /// this list, which is what a storage query needs.
    public var matchers: [LabelMatcher]
    /// `offset 5m` shifts the evaluation time back (a negative offset, forward).
    public var offset: PromDuration?
    public var at: AtModifier?
    @IgnoredInComparison public var span: SourceSpan

    public init(
        name: String?, matchers: [LabelMatcher], offset: PromDuration? = nil, at: AtModifier? = nil,
        span: SourceSpan = .unknown
    ) {
        self.name = name
        self.matchers = matchers
        self.offset = offset
        self.at = at
        self.span = span
    }

    /// Matchers are a conjunction, so their order does not matter to equality: the printer sorts
    /// them, as Prometheus does, and the reparsed selector must still equal the original.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.name == rhs.name && lhs.offset == rhs.offset && lhs.at == rhs.at
            && lhs.matchers.count == rhs.matchers.count && lhs.sortedMatchers == rhs.sortedMatchers
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(offset)
        hasher.combine(at)
        hasher.combine(sortedMatchers)
    }

    private var sortedMatchers: [LabelMatcher] {
        matchers.sorted { ($0.name, $0.type.rawValue, $0.value) < ($1.name, $1.type.rawValue, $1.value) }
    }

    /// The matchers written inside the braces, without the one the metric name implies.
    public var labelMatchers: [LabelMatcher] {
        guard let name, let last = matchers.last, last.isMetricNameEquality(name) else { return matchers }
        return Array(matchers.dropLast())
    }
}

/// `selector[5m]`: each series' samples over a range. The selector's `offset` and `@` apply to it
/// (Prometheus keeps them there too; the printer writes them after the range).
public struct MatrixSelector: Sendable, Hashable {
    public var selector: VectorSelector
    public var range: PromDuration
    @IgnoredInComparison public var span: SourceSpan

    public init(selector: VectorSelector, range: PromDuration, span: SourceSpan = .unknown) {
        self.selector = selector
        self.range = range
        self.span = span
    }
}

/// `expr[1h:5m]`: an instant-vector expression evaluated at steps over a range.
public struct SubqueryExpr: Sendable, Hashable {
    public var expr: Expr
    public var range: PromDuration
    /// `nil` for `expr[1h:]`: the query's own evaluation interval.
    public var step: PromDuration?
    public var offset: PromDuration?
    public var at: AtModifier?
    @IgnoredInComparison public var span: SourceSpan

    public init(
        expr: Expr, range: PromDuration, step: PromDuration?, offset: PromDuration? = nil, at: AtModifier? = nil,
        span: SourceSpan = .unknown
    ) {
        self.expr = expr
        self.range = range
        self.step = step
        self.offset = offset
        self.at = at
        self.span = span
    }
}

/// `(expr)`. Kept in the tree, as Prometheus keeps it, so printing restores the parentheses.
public struct ParenExpr: Sendable, Hashable {
    public var expr: Expr
    @IgnoredInComparison public var span: SourceSpan

    public init(_ expr: Expr, span: SourceSpan = .unknown) {
        self.expr = expr
        self.span = span
    }
}

public enum UnaryOperator: String, Sendable, Hashable {
    case plus = "+"
    case minus = "-"
}

/// `-expr` or `+expr` on anything but a number literal, which takes the sign into its value.
public struct UnaryExpr: Sendable, Hashable {
    public var op: UnaryOperator
    public var expr: Expr
    @IgnoredInComparison public var span: SourceSpan

    public init(op: UnaryOperator, expr: Expr, span: SourceSpan = .unknown) {
        self.op = op
        self.expr = expr
        self.span = span
    }
}

// MARK: - Binary expressions

public enum BinaryOperator: String, Sendable, Hashable, CaseIterable {
    case add = "+", sub = "-", mul = "*", div = "/", mod = "%", pow = "^", atan2
    case equal = "==", notEqual = "!=", greater = ">", less = "<", greaterOrEqual = ">=", lessOrEqual = "<="
    case and, or, unless

    /// Binding strength, loosest first, as in Prometheus's grammar: `or` < `and` `unless` <
    /// comparisons < `+` `-` < `*` `/` `%` `atan2` < `^`. Unary minus sits between the last two.
    public var precedence: Int {
        switch self {
        case .or: return 1
        case .and, .unless: return 2
        case .equal, .notEqual, .greater, .less, .greaterOrEqual, .lessOrEqual: return 3
        case .add, .sub: return 4
        case .mul, .div, .mod, .atan2: return 5
        case .pow: return 6
        }
    }

    /// Only `^` groups to the right: `2^3^2` is `2^(3^2)`.
    public var isRightAssociative: Bool { self == .pow }

    public var isComparison: Bool { precedence == 3 }

    public var isSetOperator: Bool { self == .and || self == .or || self == .unless }
}

/// How the series on either side of a vector-vector operation pair up.
public enum VectorMatchCardinality: String, Sendable, Hashable {
    case oneToOne = "one-to-one"
    case manyToOne = "many-to-one"
    case oneToMany = "one-to-many"
    case manyToMany = "many-to-many"
}

/// `on(…)`/`ignoring(…)` and `group_left(…)`/`group_right(…)`.
public struct VectorMatching: Sendable, Hashable {
    public var cardinality: VectorMatchCardinality
    /// The labels of `on(…)` or `ignoring(…)`.
    public var matchingLabels: [String]
    /// True for `on`, false for `ignoring` (and for no clause, which ignores no labels).
    public var on: Bool
    /// The labels of `group_left(…)`/`group_right(…)` to copy from the "one" side.
    public var include: [String]

    public init(
        cardinality: VectorMatchCardinality = .oneToOne, matchingLabels: [String] = [], on: Bool = false,
        include: [String] = []
    ) {
        self.cardinality = cardinality
        self.matchingLabels = matchingLabels
        self.on = on
        self.include = include
    }
}

public struct BinaryExpr: Sendable, Hashable {
    public var op: BinaryOperator
    public var lhs: Expr
    public var rhs: Expr
    /// `bool`: a comparison returns 0 or 1 instead of filtering.
    public var returnBool: Bool
    /// Set when both sides are instant vectors, nil otherwise. Set operators always match
    /// many-to-many.
    public var matching: VectorMatching?
    /// Where the operator is, for error messages.
    @IgnoredInComparison public var operatorOffset: Int
    @IgnoredInComparison public var span: SourceSpan

    public init(
        op: BinaryOperator, lhs: Expr, rhs: Expr, returnBool: Bool = false, matching: VectorMatching? = nil,
        operatorOffset: Int = 0, span: SourceSpan = .unknown
    ) {
        self.op = op
        self.lhs = lhs
        self.rhs = rhs
        self.returnBool = returnBool
        self.matching = matching
        self.operatorOffset = operatorOffset
        self.span = span
    }
}

// MARK: - Aggregations and calls

public enum AggregateOp: String, Sendable, Hashable, CaseIterable {
    case sum, avg, count, min, max, group, stddev, stdvar, topk, bottomk
    case countValues = "count_values"
    case quantile

    /// `topk(3, x)`, `bottomk`, `quantile(0.9, x)` and `count_values("label", x)` take a first
    /// argument, scalar or (for `count_values`) string.
    public var parameterType: ValueType? {
        switch self {
        case .topk, .bottomk, .quantile: return .scalar
        case .countValues: return .string
        default: return nil
        }
    }
}

/// `sum by (job) (x)`, `topk(3, x)`, …
public struct AggregateExpr: Sendable, Hashable {
    public var op: AggregateOp
    public var expr: Expr
    public var param: Expr?
    /// The labels of `by (…)` or, when `without` is true, of `without (…)`.
    public var grouping: [String]
    public var without: Bool
    @IgnoredInComparison public var span: SourceSpan

    public init(
        op: AggregateOp, expr: Expr, param: Expr? = nil, grouping: [String] = [], without: Bool = false,
        span: SourceSpan = .unknown
    ) {
        self.op = op
        self.expr = expr
        self.param = param
        self.grouping = grouping
        self.without = without
        self.span = span
    }
}

/// `rate(x[5m])`: a call of one of `Function.all`.
public struct Call: Sendable, Hashable {
    public var function: Function
    public var args: [Expr]
    @IgnoredInComparison public var span: SourceSpan

    public init(function: Function, args: [Expr], span: SourceSpan = .unknown) {
        self.function = function
        self.args = args
        self.span = span
    }
}

// MARK: - Inspection

extension Expr {
    /// What the expression evaluates to, as Prometheus's `Type()` works it out.
    public var type: ValueType {
        switch self {
        case .number: return .scalar
        case .string: return .string
        case .vectorSelector, .aggregate: return .instantVector
        case .matrixSelector, .subquery: return .rangeVector
        case .paren(let node): return node.expr.type
        case .unary(let node): return node.expr.type
        case .call(let node): return node.function.returnType
        case .binary(let node):
            return node.lhs.type == .scalar && node.rhs.type == .scalar ? .scalar : .instantVector
        }
    }

    public var span: SourceSpan {
        switch self {
        case .number(let node): return node.span
        case .string(let node): return node.span
        case .vectorSelector(let node): return node.span
        case .matrixSelector(let node): return node.span
        case .subquery(let node): return node.span
        case .paren(let node): return node.span
        case .unary(let node): return node.span
        case .binary(let node): return node.span
        case .aggregate(let node): return node.span
        case .call(let node): return node.span
        }
    }

    /// The direct subexpressions, in source order.
    public var children: [Expr] {
        switch self {
        case .number, .string, .vectorSelector: return []
        case .matrixSelector(let node): return [.vectorSelector(node.selector)]
        case .subquery(let node): return [node.expr]
        case .paren(let node): return [node.expr]
        case .unary(let node): return [node.expr]
        case .binary(let node): return [node.lhs, node.rhs]
        case .aggregate(let node): return (node.param.map { [$0] } ?? []) + [node.expr]
        case .call(let node): return node.args
        }
    }

    /// Every vector selector in the tree, those inside range selectors included, in source
    /// order: what a storage layer must fetch.
    public var vectorSelectors: [VectorSelector] {
        var found: [VectorSelector] = []
        var pending: [Expr] = [self]
        while let expr = pending.popLast() {
            if case .vectorSelector(let selector) = expr { found.append(selector) }
            pending.append(contentsOf: expr.children.reversed())
        }
        return found
    }
}
