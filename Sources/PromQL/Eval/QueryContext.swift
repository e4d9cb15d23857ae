/// What every part of one query's evaluation shares: the source, the limits, the samples held so
/// far. One per query, used by one task only (never shared across tasks, so not `Sendable`).
final class QueryContext {
    let source: any SeriesSource
    let limits: QueryLimits
    /// The query's own start and end, which `@ start()` and `@ end()` name at any depth.
    let queryStart: Timestamp
    let queryEnd: Timestamp
    /// The step of `expr[1h:]`, Prometheus's global evaluation interval.
    let defaultSubqueryStep: Timestamp
    /// See `QueryEngine.usesFastPaths`.
    let usesFastPaths: Bool
    /// Samples held by values not yet consumed, as Prometheus's `currentSamples`.
    private(set) var heldSamples = 0

    init(
        source: any SeriesSource, limits: QueryLimits, queryStart: Timestamp, queryEnd: Timestamp, defaultSubqueryStep: Timestamp,
        usesFastPaths: Bool = true
    ) {
        self.usesFastPaths = usesFastPaths
        self.source = source
        self.limits = limits
        self.queryStart = queryStart
        self.queryEnd = queryEnd
        self.defaultSubqueryStep = defaultSubqueryStep
    }

    /// Counts `count` more samples as held; over `maxSamples` is Prometheus's error.
    func hold(_ count: Int) throws(QueryError) {
        heldSamples += count
        if heldSamples > limits.maxSamples { throw QueryError.tooManySamples }
    }

    func release(_ count: Int) { heldSamples = max(0, heldSamples - count) }

    /// Whether `count` samples more could be held for a moment (a range function's window).
    func ensureRoom(_ count: Int) throws(QueryError) {
        if heldSamples + count > limits.maxSamples { throw QueryError.tooManySamples }
    }

    /// Cooperative cancellation: evaluation loops call this per step or per series.
    func checkCancellation() throws(QueryError) {
        if Task.isCancelled { throw QueryError.canceled }
    }

    /// The source's series for one selector, sorted by labels as Prometheus's storage returns
    /// them (so results come out in the same order), bounded by `maxSeriesPerSelector`.
    func select(_ request: SelectRequest) async throws(QueryError) -> [SourceSeries] {
        try checkCancellation()
        let series: [SourceSeries]
        do {
            series = try await source.select(request)
        } catch {
            throw sourceError(error)
        }
        return try checked(series, request: request)
    }

    /// `selectSummed`, with the same error handling; nil where the source cannot sum.
    func selectSummed(_ request: SelectRequest, by labels: [String]) async throws(QueryError) -> [SourceSeries]? {
        try checkCancellation()
        let series: [SourceSeries]?
        do {
            series = try await source.selectSummed(request, by: labels)
        } catch {
            throw sourceError(error)
        }
        guard let series else { return nil }
        return try checked(series, request: request)
    }

    private func checked(_ series: [SourceSeries], request: SelectRequest) throws(QueryError) -> [SourceSeries] {
        try checkCancellation()
        if series.count > limits.maxSeriesPerSelector {
            let selector = "{" + request.matchers.map(\.description).joined(separator: ", ") + "}"
            throw QueryError(
                .limit, "the selector \(selector) matches \(series.count) series, over the limit of \(limits.maxSeriesPerSelector)")
        }
        return series.sorted { $0.labels < $1.labels }
    }

    /// A source that fails because the task was cancelled reports a cancellation.
    private func sourceError(_ error: any Error) -> QueryError {
        if let error = error as? QueryError { return error }
        if Task.isCancelled || error is CancellationError { return QueryError.canceled }
        return QueryError(.source, String(describing: error), cause: error)
    }
}
