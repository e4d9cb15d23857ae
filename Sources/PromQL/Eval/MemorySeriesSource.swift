/// Series held in memory: for tests, and for whatever the hub evaluates without storage.
///
/// `select` returns the series that pass every matcher, their data cut to the request: sampled
/// series to the samples in `start...end`, step series to the point in force at `start` (kept
/// at its own time) and those after it up to `end`, which is all an exact step function needs.
/// With `summing`, `selectSummed` sums step series by the requested labels, as a source whose
/// storage can group would.
public struct MemorySeriesSource: SeriesSource {
    public var series: [SourceSeries]
    /// Whether `selectSummed` answers (for step series only; nil otherwise).
    public var summing: Bool

    public init(_ series: [SourceSeries], summing: Bool = false) {
        self.series = series
        self.summing = summing
    }

    public func select(_ request: SelectRequest) async throws -> [SourceSeries] {
        matching(request).map { SourceSeries(labels: $0.labels, data: Self.cut($0.data, request)) }
    }

    /// The matching series summed by `labels`, each sum a step function whose value at any time
    /// is the sum of its members' values then (a member not yet started counts 0), existing from
    /// its first member's first point. Nil unless `summing`, or if a matching series is sampled.
    public func selectSummed(_ request: SelectRequest, by labels: [String]) async throws -> [SourceSeries]? {
        guard summing else { return nil }
        var groups: [Labels: [[Sample]]] = [:]
        var order: [Labels] = []
        // Members in label order, so sums add up in the order the evaluator's `sum` adds them.
        for item in matching(request).sorted(by: { $0.labels < $1.labels }) {
            guard case .steps = item.data, case .steps(let points) = Self.cut(item.data, request) else { return nil }
            let key = item.labels.keeping(labels)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(points)
        }
        return order.map { key in
            SourceSeries(labels: key, data: .steps(Self.sum(groups[key] ?? [])))
        }
    }

    private func matching(_ request: SelectRequest) -> [SourceSeries] {
        series.filter { item in request.matchers.allSatisfy { $0.matches(item.labels[$0.name] ?? "") } }
    }

    private static func cut(_ data: SeriesData, _ request: SelectRequest) -> SeriesData {
        switch data {
        case .samples(let samples):
            let function = StepFunction(samples)
            let from = function.countThrough(request.start - 1), through = function.countThrough(request.end)
            return .samples(from < through ? Array(samples[from..<through]) : [])
        case .steps(let points):
            let inForce = StepFunction(points).countThrough(request.start)
            let from = max(0, inForce - 1)
            return .steps(Array(points[from...].prefix { $0.t <= request.end }))
        }
    }

    /// The sum of step functions, at every time any of them changes.
    private static func sum(_ members: [[Sample]]) -> [Sample] {
        let times = Set(members.flatMap { $0.map(\.t) }).sorted()
        let functions = members.map(StepFunction.init)
        return times.map { time in
            var total = 0.0
            for function in functions {
                if let value = function.value(at: time) { total += value }
            }
            return Sample(t: time, v: total)
        }
    }
}
