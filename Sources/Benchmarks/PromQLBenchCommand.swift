import ArgumentParser
import Foundation
import PromQL

/// `canopy-bench promql`: the evaluator alone (no database, no HTTP) on series shaped like the
/// hub benchmark's, so that a query's time at the hub can be split into what PostgreSQL and the
/// hub's decoding cost and what evaluation costs.
struct PromQLBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "promql",
        abstract: "Times the PromQL evaluator on in-memory step series like the hub's (one per group).",
        discussion: "Run a release build: swift run -c release canopy-bench promql"
    )

    @Option(help: "Groups, one counter series each, in 8 teams of 25 services.")
    var groups = 100_000

    @Option(help: "Groups with occurrences in every hour of the last week.")
    var active = 5_000

    @Option(help: "Timed runs per query, after one warm-up.")
    var runs = 15

    func run() async throws {
        let now = Timestamp(Date().timeIntervalSince1970 * 1000) / 60_000 * 60_000
        let week: Timestamp = 7 * 86_400_000
        var series: [SourceSeries] = []
        series.reserveCapacity(groups)
        for index in 0..<groups {
            let labels = Labels([
                (Labels.metricName, "canopy_exceptions_total"), ("team", "team-\(index % 8)"), ("service", "service-\(index % 200)"),
                ("aggregation_key", "key-\(index)"), ("class", "Error\(index % 50)"), ("severity", "error"),
            ])
            var points = [Sample(t: now - week - 3_600_000, v: Double(1 + index % 17))]
            if index < active {
                // One point an hour for a week: the hourly shape the hub's rollup has.
                for hour in 0..<168 { points.append(Sample(t: now - week + Timestamp(hour) * 3_600_000 + 60_000, v: points.last!.v + Double(1 + hour % 3))) }
            }
            series.append(SourceSeries(labels: labels, data: .steps(points)))
        }
        let source = MemorySeriesSource(series, summing: true)
        let engine = QueryEngine()
        let queries: [(name: String, text: String, range: Bool)] = [
            ("topk of increase 1h per group", "topk(10, sum by (team, service, aggregation_key) (increase(canopy_exceptions_total[1h])))", false),
            ("sum by team of increase 24h", "sum by (team) (increase(canopy_exceptions_total[24h]))", false),
            ("7 days at 1 h, sum by team of rate 1h", "sum by (team) (rate(canopy_exceptions_total[1h]))", true),
            ("one group, 30 days at 1 h", #"canopy_exceptions_total{aggregation_key="key-1"}"#, true),
        ]
        print("canopy-bench promql: \(groups) step series (\(active) active), medians of \(runs) runs")
        for query in queries {
            let expr = try PromQLParser.parse(query.text)
            var times: [Double] = []
            for run in 0...runs {
                let start = ContinuousClock.now
                if query.range {
                    _ = try await engine.range(expr, start: now - (query.name.hasPrefix("one") ? 30 * 86_400_000 : week), end: now, step: 3_600_000, source: source)
                } else {
                    _ = try await engine.instant(expr, at: now, source: source)
                }
                if run > 0 { times.append((ContinuousClock.now - start).seconds * 1000) }
            }
            let summary = Summary(times)
            print("  " + query.name.padding(toLength: 40, withPad: " ", startingAt: 0)
                + String(format: " median %8.1f ms   min %8.1f   max %8.1f", summary.median, summary.min, summary.max))
        }
    }
}
