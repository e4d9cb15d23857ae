/// Evaluates parsed PromQL over a `SeriesSource`, with Prometheus's semantics (see `SeriesData`
/// for the one difference: exact step series).
///
/// ```swift
/// let engine = QueryEngine(limits: .default)
/// let expr = try PromQLParser.parse("sum by (team) (increase(canopy_exceptions_total[1h]))")
/// let value = try await engine.instant(expr, at: now, source: source)
/// ```
public struct QueryEngine: Sendable {
    public var limits: QueryLimits
    /// The step of a subquery written without one (`x[1h:]`): Prometheus's global evaluation
    /// interval, 1 minute unless configured, for instant and range queries alike.
    public var defaultSubqueryStep: Timestamp = 60_000
    /// Series-by-series forms of binary operators and aggregations where they give the same
    /// result as Prometheus's step-by-step ones; off only in tests, to check the step forms.
    var usesFastPaths = true

    public init(limits: QueryLimits = .default) {
        self.limits = limits
    }

    /// The value of `expr` at `time` (`/api/v1/query`): a scalar, a string, a vector or, for a
    /// range selector or subquery, a matrix.
    public func instant(_ expr: Expr, at time: Timestamp, source: some SeriesSource) async throws(QueryError)
        -> QueryValue
    {
        let context = QueryContext(
            source: source, limits: limits, queryStart: time, queryEnd: time, defaultSubqueryStep: defaultSubqueryStep,
            usesFastPaths: usesFastPaths)
        // An instant query is a range evaluation of one step, as in Prometheus.
        let evaluator = Evaluator(grid: StepGrid(start: time, end: time, interval: 1), requestStep: 0, context: context)
        switch try await evaluator.eval(expr, hint: nil) {
        case .scalar(let values):
            return .scalar(Sample(t: time, v: values.first ?? .nan))
        case .string(let value):
            return .string(t: time, value: value)
        case .matrix(let series):
            return .matrix(series.sorted { $0.labels < $1.labels })
        case .vector(let series):
            var elements = series.compactMap { item in
                item.points.first.map { VectorElement(labels: item.labels, sample: Sample(t: time, v: $0.v)) }
            }
            if !Self.keepsOrder(expr) { elements.sort { $0.labels < $1.labels } }
            return .vector(elements)
        }
    }

    /// Whether an instant query's result comes in the order the query gives it (sort,
    /// sort_desc, topk, bottomk at the top), not sorted by labels.
    static func keepsOrder(_ expr: Expr) -> Bool {
        switch unwrappingParens(expr) {
        case .call(let call): return call.function.name == "sort" || call.function.name == "sort_desc"
        case .aggregate(let node): return node.op == .topk || node.op == .bottomk
        default: return false
        }
    }

    /// `expr` evaluated at `start`, `start + step`, … up to `end` (`/api/v1/query_range`): always a
    /// matrix (a scalar becomes one series without labels). `expr` must be a scalar or an instant
    /// vector.
    public func range(
        _ expr: Expr, start: Timestamp, end: Timestamp, step: Timestamp, source: some SeriesSource
    ) async throws(QueryError) -> QueryValue {
        guard expr.type == .scalar || expr.type == .instantVector else {
            throw QueryError(
                .execution, "invalid expression type \(GoText.quote(expr.type.description)) for range query, must be Scalar or instant Vector")
        }
        guard step > 0 else {
            throw QueryError(.execution, "zero or negative query resolution step widths are not accepted. Try a positive integer")
        }
        guard end >= start else { throw QueryError(.execution, "end timestamp must not be before start time") }
        if (end - start) / step > Timestamp(limits.maxSteps) { throw QueryError.tooManySteps(limits.maxSteps) }
        let context = QueryContext(
            source: source, limits: limits, queryStart: start, queryEnd: end, defaultSubqueryStep: defaultSubqueryStep,
            usesFastPaths: usesFastPaths)
        let grid = StepGrid(start: start, end: end, interval: step)
        let evaluator = Evaluator(grid: grid, requestStep: step, context: context)
        switch try await evaluator.eval(expr, hint: nil) {
        case .scalar(let values):
            return .matrix([SeriesValues(labels: Labels(), samples: zip(grid.times, values).map { Sample(t: $0, v: $1) })])
        case .vector(let series):
            return .matrix(series.map { SeriesValues(labels: $0.labels, samples: $0.points) }.sorted { $0.labels < $1.labels })
        case .matrix, .string:
            throw QueryError(.execution, "range queries evaluate scalars and instant vectors only")
        }
    }
}

/// Bounds on what one query may cost. Every one is a clear error when crossed.
public struct QueryLimits: Sendable, Hashable {
    /// Samples held in memory at once, as Prometheus's `--query.max-samples` (50,000,000).
    /// Steps series count their points and the per-minute samples range functions expand.
    public var maxSamples: Int
    /// Series a selector may return (after the source's matching).
    public var maxSeriesPerSelector: Int
    /// Steps of a range query or subquery, as Prometheus's limit of 11,000 points per series.
    public var maxSteps: Int
    /// How far back an instant selector looks for a sample of a sampled series (5 minutes).
    public var lookbackDelta: Timestamp

    public init(
        maxSamples: Int = 50_000_000, maxSeriesPerSelector: Int = 200_000, maxSteps: Int = 11_000,
        lookbackDelta: Timestamp = 300_000
    ) {
        self.maxSamples = maxSamples
        self.maxSeriesPerSelector = maxSeriesPerSelector
        self.maxSteps = maxSteps
        self.lookbackDelta = lookbackDelta
    }

    public static let `default` = QueryLimits()
}

/// Why a query could not be evaluated. `description` is the message for the API's `error`.
public struct QueryError: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// The query is valid PromQL but cannot be evaluated on these values (Prometheus's
        /// `execution`: duplicate series after a function, many-to-one without group_left,
        /// a range query of a string …).
        case execution
        /// Over a `QueryLimits` bound.
        case limit
        /// The task was cancelled (a timeout or the client went away).
        case canceled
        /// The source failed; `message` says how.
        case source
    }

    public var kind: Kind
    public var message: String
    /// The source's own error, for a `source` failure: the caller may tell an outage from a bug.
    public var cause: (any Error)?

    public init(_ kind: Kind, _ message: String, cause: (any Error)? = nil) {
        self.kind = kind
        self.message = message
        self.cause = cause
    }

    public var description: String { message }
}
