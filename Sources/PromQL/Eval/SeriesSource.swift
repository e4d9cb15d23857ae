/// Where the evaluator gets series from. Implemented by the hub over PostgreSQL and by tests
/// in memory (`MemorySeriesSource`).
public protocol SeriesSource: Sendable {
    /// Every series that passes all of `request.matchers`, with its data over
    /// `request.start...request.end`. The evaluator asks once per selector in the query.
    func select(_ request: SelectRequest) async throws -> [SourceSeries]

    /// The same series summed by the labels `by` (and nothing else: the results carry only those
    /// labels), or nil where the source cannot do that cheaply. Only step series sum exactly (a
    /// sum of step functions is one), so the evaluator asks this only for `sum by (…)` over a
    /// selector, or over `increase`, `rate` or `delta` of a range selector, and uses the answer
    /// only if every series it returns is `.steps`. Sources whose storage can group (the hub's
    /// SQL) answer without loading each series.
    func selectSummed(_ request: SelectRequest, by labels: [String]) async throws -> [SourceSeries]?
}

extension SeriesSource {
    public func selectSummed(_ request: SelectRequest, by labels: [String]) async throws -> [SourceSeries]? { nil }
}

/// What one selector needs from storage, as Prometheus's `SelectHints` describe it.
public struct SelectRequest: Sendable, Hashable {
    public var matchers: [LabelMatcher]
    /// The first and last time (inclusive) any of the series' data is needed at: for `x[1h]`
    /// evaluated from `s` to `e`, `s - 1h` (minus the lookback delta for sampled series) to `e`,
    /// offsets and `@` applied.
    public var start: Timestamp
    public var end: Timestamp
    /// The range of a range selector, 0 for an instant selector.
    public var range: Timestamp
    /// The step of the range query (or subquery) evaluating the selector, 0 for instant queries.
    public var step: Timestamp
    /// The function the selector is an argument of (`rate`), if any.
    public var function: String?
    /// The first time the selector is evaluated at, offsets and `@` applied; then every `step`
    /// up to `end`. Nil when not known.
    public var evaluatedFrom: Timestamp?
    /// For `topk(k, sum by (…) (increase|rate|delta(x[r])))` in an instant query: the source may
    /// leave out every summed series whose value is below the k-th largest (keeping all tied with it).
    public var topK: Int?

    public init(
        matchers: [LabelMatcher], start: Timestamp, end: Timestamp, range: Timestamp = 0, step: Timestamp = 0,
        function: String? = nil, evaluatedFrom: Timestamp? = nil, topK: Int? = nil
    ) {
        self.matchers = matchers
        self.start = start
        self.end = end
        self.range = range
        self.step = step
        self.function = function
        self.evaluatedFrom = evaluatedFrom
        self.topK = topK
    }

    /// The only times whose values decide the result for a step series, or nil when every
    /// minute's may (a range function other than `increase`, `rate` and `delta`, or unknown
    /// evaluation times): each evaluation time, and for those three each one minus the range.
    /// A source may then return a step series with a point at these times only.
    public var stepTimes: [Timestamp]? {
        guard let first = evaluatedFrom, first <= end else { return nil }
        if range > 0 && !["increase", "rate", "delta"].contains(function ?? "") { return nil }
        let evaluations = step > 0 ? Array(stride(from: first, through: end, by: Int64.Stride(step))) : [end]
        let times = range > 0 ? evaluations.flatMap { [$0 - range, $0] } : evaluations
        // More times than minutes: reading every minute is no dearer.
        return times.count > Int((end - start) / 60_000) + 2 ? nil : times
    }
}

/// One series as a source returns it.
public struct SourceSeries: Sendable, Hashable {
    public var labels: Labels
    public var data: SeriesData

    public init(labels: Labels, data: SeriesData) {
        self.labels = labels
        self.data = data
    }
}

/// How a series' values are known.
public enum SeriesData: Sendable, Hashable {
    /// Scraped samples, in time order, with Prometheus's meaning: an instant selector sees the
    /// latest sample at most the lookback delta (5 minutes) old; `rate` and `increase`
    /// extrapolate. Recorded and pushed series are like this.
    case samples([Sample])
    /// An exact step function, in time order: the value `points[i].v` holds from `points[i].t`
    /// until the next point, the last one forever; before the first point the series does not
    /// exist. The hub's counters are known like this (one point per minute with occurrences,
    /// and one at `start` with the value then), so:
    /// - an instant selector sees the value at the evaluation time, never stale;
    /// - `increase(x[r])` at `t` is exactly `value(t) - value(t - r)` (0 before the series
    ///   existed), `rate` that over `r` in seconds, `delta` the same as `increase`;
    /// - every other range function sees one sample per minute, at `t`, `t - 1m`, … inside
    ///   `(t - r, t]` (not before the first point), as if the series were scraped each minute.
    case steps([Sample])
}
