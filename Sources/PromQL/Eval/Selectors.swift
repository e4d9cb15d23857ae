/// Instant and range selectors: what to ask the source for, and the value each series has at
/// each step (sampled series with Prometheus's lookback and staleness, step series exactly).
extension Evaluator {
    /// The request for a selector evaluated over this grid, as Prometheus's `SelectHints`: from
    /// the first step minus offset and range (or the lookback delta) to the last step minus offset;
    /// `@` pins both ends.
    func selectRequest(_ selector: VectorSelector, range: Timestamp, hint: String?) -> SelectRequest {
        let offset = selector.offset?.milliseconds ?? 0
        let pinned = pinnedTime(selector.at)
        let first = (pinned ?? grid.start) - offset
        let last = (pinned ?? grid.end) - offset
        return SelectRequest(
            matchers: selector.matchers, start: first - (range > 0 ? range : context.limits.lookbackDelta), end: last,
            range: range, step: requestStep, function: hint, evaluatedFrom: first)
    }

    /// An instant selector at every step. `series` are the source's, when already fetched (the
    /// `selectSummed` pushdown). With `timestamps`, each value is its sample's time in seconds
    /// (`timestamp(x)`): a sampled series' sample time, a step series' evaluation time.
    func evalVectorSelector(
        _ selector: VectorSelector, hint: String?, series fetched: [SourceSeries]? = nil, timestamps: Bool = false
    ) async throws(QueryError) -> [StepSeries] {
        let series: [SourceSeries]
        if let fetched { series = fetched } else { series = try await context.select(selectRequest(selector, range: 0, hint: hint)) }
        let offset = selector.offset?.milliseconds ?? 0
        // Plain values rather than optionals in the loops below: they run once per step and series.
        let pinned = pinnedTime(selector.at)
        let isPinned = pinned != nil, pinnedAt = pinned ?? 0
        let lookback = context.limits.lookbackDelta
        let steps = grid.count
        var out: [StepSeries] = []
        out.reserveCapacity(series.count)
        for item in series {
            try context.checkCancellation()
            var points: [Sample] = []
            points.reserveCapacity(steps)
            let isSampled: Bool
            let data: [Sample]
            switch item.data {
            case .samples(let samples): (isSampled, data) = (true, samples)
            case .steps(let steps): (isSampled, data) = (false, steps)
            }
            data.withUnsafeBufferPointer { buffer in
                // Evaluation times only grow, so one index walks the data once.
                var next = 0
                for step in 0..<steps {
                    let time = grid.start + Timestamp(step) * grid.interval
                    let reference = (isPinned ? pinnedAt : time) - offset
                    while next < buffer.count, buffer[next].t <= reference { next += 1 }
                    if next == 0 { continue }
                    let found = buffer[next - 1]
                    if isSampled {
                        // Sampled: at most the lookback delta old, and not a staleness marker.
                        if found.t < reference - lookback || found.v.isStaleMarker { continue }
                        points.append(Sample(t: time, v: timestamps ? Double(found.t) / 1000 : found.v))
                    } else {
                        // A step function holds its value; its "sample" is at the evaluation time.
                        points.append(Sample(t: time, v: timestamps ? Double(reference) / 1000 : found.v))
                    }
                }
            }
            if !points.isEmpty {
                try context.hold(points.count)
                out.append(StepSeries(labels: item.labels, points: points))
            }
        }
        return out
    }

    /// A range selector returned by an instant query: each series' samples in
    /// `[t - range, t]` (step series: their per-minute samples in `(t - range, t]`).
    func evalMatrixSelector(_ node: MatrixSelector, hint: String?) async throws(QueryError) -> [SeriesValues] {
        let range = node.range.milliseconds
        let series = try await context.select(selectRequest(node.selector, range: range, hint: hint))
        let offset = node.selector.offset?.milliseconds ?? 0
        let reference = (pinnedTime(node.selector.at) ?? grid.start) - offset
        var out: [SeriesValues] = []
        var buffer: [Sample] = []
        for item in series {
            try context.checkCancellation()
            let samples: [Sample]
            switch RangeSeries(item).data {
            case .samples(let all):
                samples = all.filter { $0.t >= reference - range && $0.t <= reference }
            case .steps(let function):
                function.minuteSamples(endingAt: reference, range: range, into: &buffer)
                samples = buffer
            }
            if !samples.isEmpty {
                try context.hold(samples.count)
                out.append(SeriesValues(labels: item.labels, samples: samples))
            }
        }
        return out
    }
}

/// A series as a range function reads it.
struct RangeSeries {
    enum Data {
        /// Samples without staleness markers, which range functions skip.
        case samples([Sample])
        case steps(StepFunction)
    }

    var labels: Labels
    var data: Data

    init(labels: Labels, data: Data) {
        self.labels = labels
        self.data = data
    }

    init(_ series: SourceSeries) {
        labels = series.labels
        switch series.data {
        case .samples(let samples):
            data = .samples(samples.contains { $0.v.isStaleMarker } ? samples.filter { !$0.v.isStaleMarker } : samples)
        case .steps(let points):
            data = .steps(StepFunction(points))
        }
    }
}
