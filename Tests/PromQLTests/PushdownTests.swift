import CanopyTestSupport
import Synchronization
import Testing
@testable import PromQL

/// The `selectSummed` pushdown gives the same results as evaluating over every series, and is
/// used exactly where it applies.
@Suite struct PushdownTests {
    /// Counters as the hub knows them: step series with integer counts, starting at different
    /// times, one point a minute where something happened.
    static let series: [SourceSeries] = {
        var random = SplitMix64(seed: 3)
        var out: [SourceSeries] = []
        for team in ["core", "edge", "data"] {
            for service in ["api", "worker", "cron"] {
                for instance in 0..<3 {
                    var value = Double(random.next(below: 20))
                    var points: [(Timestamp, Double)] = []
                    let first = minutes(Double(random.next(below: 90)))
                    for minute in stride(from: first, through: minutes(240), by: 60_000) where random.next(below: 3) == 0 || minute == first {
                        value += Double(random.next(below: 7))
                        points.append((minute, value))
                    }
                    out.append(stepped(
                        #"canopy_exceptions_total{team="\#(team)", service="\#(service)", instance="\#(instance)"}"#, points))
                }
            }
        }
        return out
    }()

    static let queries = [
        "sum by (team) (canopy_exceptions_total)", "sum(canopy_exceptions_total)",
        "sum by (team, service) (increase(canopy_exceptions_total[1h]))", "sum by (team) (increase(canopy_exceptions_total[10m]))",
        #"sum by (service) (delta(canopy_exceptions_total{team!="edge"}[30m] offset 5m))"#,
        "sum by (team) (increase(canopy_exceptions_total[1h] @ 7200))", "sum by (team) ((increase((canopy_exceptions_total[15m]))))",
        "sum by (nonexistent) (canopy_exceptions_total)", "sum by (team) (canopy_exceptions_total @ end())",
        // Rate divides the sum rather than each term: equal up to rounding (checked apart).
        "sum by (team) (rate(canopy_exceptions_total[5m]))",
    ]

    @Test(arguments: queries) func summedSourceGivesTheSameResults(query: String) async throws {
        let plain = RecordingSource(MemorySeriesSource(Self.series))
        let summing = RecordingSource(MemorySeriesSource(Self.series, summing: true))
        for time in [minutes(30), minutes(100), minutes(245)] {
            let expected = try await evalInstant(query, at: time, plain)
            let actual = try await evalInstant(query, at: time, summing)
            #expect(same(actual, expected, exact: !query.contains("rate")), "\(query) at \(time)")
        }
        let expected = try await evalRange(query, start: minutes(20), end: minutes(250), step: 60_000, plain)
        let actual = try await evalRange(query, start: minutes(20), end: minutes(250), step: 60_000, summing)
        #expect(same(actual, expected, exact: !query.contains("rate")), "\(query) as a range query")
        #expect(!render(expected).isEmpty)
        // The summing source was asked to sum and never for the series themselves.
        #expect(summing.calls.withLock { $0 } == ["summed", "summed", "summed", "summed"])
        #expect(plain.calls.withLock { $0 }.allSatisfy { $0 == "summed" || $0 == "select" })
    }

    @Test func theRequestIsTheSelectorsOwn() async throws {
        let summing = RecordingSource(MemorySeriesSource(Self.series, summing: true))
        _ = try await evalRange(
            "sum by (team) (increase(canopy_exceptions_total[1h] offset 10m))", start: minutes(100), end: minutes(200),
            step: 60_000, summing)
        let request = try #require(summing.requests.withLock { $0.first })
        #expect(request.start == minutes(100) - minutes(10) - minutes(60))
        #expect(request.end == minutes(200) - minutes(10))
        #expect(request.range == minutes(60))
        #expect(request.step == 60_000)
        #expect(request.function == "increase")
        #expect(summing.groupings.withLock { $0 } == [["team"]])
    }

    @Test(arguments: [
        "sum without (team) (canopy_exceptions_total)", "sum by (__name__) (canopy_exceptions_total)",
        "max by (team) (canopy_exceptions_total)", "sum by (team) (irate(canopy_exceptions_total[5m]))",
        "sum by (team) (canopy_exceptions_total * 2)", "sum by (team) (increase(canopy_exceptions_total[10m:1m]))",
    ])
    func notPushedDown(query: String) async throws {
        let summing = RecordingSource(MemorySeriesSource(Self.series, summing: true))
        _ = try await evalInstant(query, at: minutes(100), summing)
        #expect(summing.calls.withLock { $0 } == ["select"])
    }

    /// A source that sums but answers with sampled series is not used for the sum.
    @Test func summedSampledSeriesAreNotUsed() async throws {
        let source = SampledSumSource(inner: MemorySeriesSource(Self.series))
        let expected = try await evalInstant("sum by (team) (canopy_exceptions_total)", at: minutes(100), MemorySeriesSource(Self.series))
        let actual = try await evalInstant("sum by (team) (canopy_exceptions_total)", at: minutes(100), source)
        #expect(render(actual) == render(expected))
    }

    /// Step series with points at `SelectRequest.stepTimes` only, and only the top k sums where
    /// asked, give the same results: the contract the hub's SQL relies on to read one sum per hour
    /// instead of every minute.
    @Test(arguments: queries + [
        "canopy_exceptions_total", "increase(canopy_exceptions_total[1h])", "rate(canopy_exceptions_total[25m] offset 7m)",
        "canopy_exceptions_total @ 5000 - canopy_exceptions_total offset 1h", "changes(canopy_exceptions_total[30m])",
        "max_over_time(canopy_exceptions_total[30m:5m])", "timestamp(canopy_exceptions_total)",
        "topk(3, sum by (team, service, instance) (increase(canopy_exceptions_total[1h])))",
        "topk(2, sum by (team) (rate(canopy_exceptions_total[30m])))", "topk(100, sum by (team, service) (delta(canopy_exceptions_total[2h])))",
    ])
    func valuesAtStepTimesOnlyGiveTheSameResults(query: String) async throws {
        let plain = MemorySeriesSource(Self.series)
        let reduced = StepTimesSource(inner: MemorySeriesSource(Self.series, summing: true))
        for time in [minutes(30), minutes(100), minutes(245) + 17_000] {
            let expected = try await evalInstant(query, at: time, plain)
            let actual = try await evalInstant(query, at: time, reduced)
            if query.hasPrefix("topk"), case .vector(let got) = actual, case .vector(let wanted) = expected {
                // Which of several tied sums topk keeps, and their order, is the heap's: with
                // fewer inputs it may differ. The values may not, nor any element's own sum.
                // (A rate divides the sum rather than each term: equal up to rounding.)
                let equal = { (a: Double, b: Double) in query.contains("rate") ? DifferentialTests.close(a, b) : a == b }
                #expect(got.count == wanted.count && zip(got, wanted).allSatisfy { equal($0.sample.v, $1.sample.v) }, "\(query) at \(time)")
                let inner = String(query.dropFirst(5).drop { $0 != "," }.dropFirst().dropLast())
                guard case .vector(let sums) = try await evalInstant(inner, at: time, plain) else { throw Unexpected() }
                #expect(got.allSatisfy { element in sums.contains { $0.labels == element.labels && equal($0.sample.v, element.sample.v) } })
                continue
            }
            #expect(same(actual, expected, exact: !query.contains("rate")), "\(query) at \(time)")
        }
        for (start, step) in [(minutes(20), Timestamp(60_000)), (minutes(61) + 28_000, minutes(60)), (minutes(3) + 1, minutes(7))] {
            let expected = try await evalRange(query, start: start, end: minutes(250), step: step, plain)
            let actual = try await evalRange(query, start: start, end: minutes(250), step: step, reduced)
            #expect(same(actual, expected, exact: !query.contains("rate")), "\(query) from \(start) every \(step)")
        }
        if query.hasPrefix("topk(3") { #expect(reduced.trimmed.withLock { $0 } > 0) }
    }

    private func same(_ a: QueryValue, _ b: QueryValue, exact: Bool) -> Bool {
        if exact { return a == b }
        switch (a, b) {
        case (.vector(let x), .vector(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.labels == $1.labels && DifferentialTests.close($0.sample.v, $1.sample.v) }
        case (.matrix(let x), .matrix(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { s, t in
                s.labels == t.labels && s.samples.count == t.samples.count
                    && zip(s.samples, t.samples).allSatisfy { $0.t == $1.t && DifferentialTests.close($0.v, $1.v) }
            }
        default:
            return a == b
        }
    }
}

/// Records what the evaluator asks of a source.
final class RecordingSource: SeriesSource {
    let inner: MemorySeriesSource
    let calls = Mutex<[String]>([])
    let requests = Mutex<[SelectRequest]>([])
    let groupings = Mutex<[[String]]>([])

    init(_ inner: MemorySeriesSource) { self.inner = inner }

    func select(_ request: SelectRequest) async throws -> [SourceSeries] {
        calls.withLock { $0.append("select") }
        requests.withLock { $0.append(request) }
        return try await inner.select(request)
    }

    func selectSummed(_ request: SelectRequest, by labels: [String]) async throws -> [SourceSeries]? {
        let answer = try await inner.selectSummed(request, by: labels)
        if answer != nil {
            calls.withLock { $0.append("summed") }
            requests.withLock { $0.append(request) }
            groupings.withLock { $0.append(labels) }
        }
        return answer
    }
}

/// Answers `selectSummed` with the right sums, but as sampled series.
struct SampledSumSource: SeriesSource {
    let inner: MemorySeriesSource

    func select(_ request: SelectRequest) async throws -> [SourceSeries] { try await inner.select(request) }

    func selectSummed(_ request: SelectRequest, by labels: [String]) async throws -> [SourceSeries]? {
        [SourceSeries(labels: Labels(), data: .samples([Sample(t: request.end, v: 12345)]))]
    }
}

/// Keeps of each step series only its values at the request's `stepTimes`, and of the sums only
/// the top k where asked, as a source may.
final class StepTimesSource: SeriesSource {
    let inner: MemorySeriesSource
    /// Sums left out for `topK`.
    let trimmed = Mutex(0)

    init(inner: MemorySeriesSource) { self.inner = inner }

    func select(_ request: SelectRequest) async throws -> [SourceSeries] {
        reduce(try await inner.select(request), request)
    }

    func selectSummed(_ request: SelectRequest, by labels: [String]) async throws -> [SourceSeries]? {
        guard let summed = try await inner.selectSummed(request, by: labels) else { return nil }
        var series = reduce(summed, request)
        if let k = request.topK {
            // The window's increase at the evaluation time, and everything below the k-th dropped.
            let window = { (series: SourceSeries) -> Double in
                Self.value(series, at: request.end) - Self.value(series, at: request.end - request.range)
            }
            let kept = series.map(window).sorted(by: >)
            if kept.count > k {
                let cut = kept[k - 1]
                let before = series.count
                series = series.filter { window($0) >= cut }
                trimmed.withLock { $0 += before - series.count }
            }
        }
        return series
    }

    private func reduce(_ series: [SourceSeries], _ request: SelectRequest) -> [SourceSeries] {
        guard let times = request.stepTimes.map({ Array(Set($0)).sorted() }) else { return series }
        return series.compactMap { one in
            guard case .steps = one.data else { return one }
            let points = times.compactMap { time in Self.exists(one, at: time) ? Sample(t: time, v: Self.value(one, at: time)) : nil }
            return points.isEmpty ? nil : SourceSeries(labels: one.labels, data: .steps(points))
        }
    }

    private static func exists(_ series: SourceSeries, at time: Timestamp) -> Bool {
        guard case .steps(let points) = series.data else { return false }
        return points.first.map { $0.t <= time } ?? false
    }

    private static func value(_ series: SourceSeries, at time: Timestamp) -> Double {
        guard case .steps(let points) = series.data else { return 0 }
        return points.last { $0.t <= time }?.v ?? 0
    }
}

struct Unexpected: Error {}
