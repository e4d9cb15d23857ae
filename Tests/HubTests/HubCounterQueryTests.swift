import CanopyTestSupport
import Foundation
import Logging
import PostgresNIO
import PromQL
import Testing

@testable import Hub

/// The hub's counters over hours of history written straight into the tables (minutes, their
/// hourly rollup, series), queried through the evaluator and compared with the definition
/// computed here: a counter's value at `t` is its total minus its minutes from the first minute
/// after `t`. Covers every way the SQL reads history: buckets from the hourly rollup with their
/// corrections (groups), buckets of minutes (series), the top k, and every minute (a step shorter
/// than a minute).
@Suite struct HubCounterQueryTests {
    static let logger = Logger(label: "counter-query-tests")
    static let minute: Timestamp = 60_000
    static let hour: Timestamp = 3_600_000

    struct Series {
        var team: String
        var key: String
        var env: String
        var minutes: [Timestamp: Int64]
        /// Counted before the history kept.
        var older: Int64
        var total: Int64 { older + minutes.values.reduce(0, +) }

        func value(at time: Timestamp) -> Int64 {
            let excluded = CountBuckets.firstExcludedMinute(time)
            return total - minutes.filter { $0.key >= excluded }.values.reduce(0, +)
        }
    }

    /// Two teams, two groups each, two envs per group, over the last 10 hours; one group begins
    /// 4 hours ago and has no older count.
    static func makeSeries(now: Timestamp) -> [Series] {
        var random = SplitMix64(seed: 5)
        var out: [Series] = []
        for team in ["payments", "search"] {
            for key in ["timeout", "declined"] {
                let late = team == "search" && key == "declined"
                for env in ["prod", "staging"] {
                    var minutes: [Timestamp: Int64] = [:]
                    let first = CountBuckets.floorHour(now) - (late ? 4 : 10) * hour
                    for at in stride(from: first, through: now - minute, by: Int64.Stride(minute)) where random.next(below: 4) == 0 {
                        minutes[at / minute * minute] = Int64(1 + random.next(below: 6))
                    }
                    out.append(Series(team: team, key: key, env: env, minutes: minutes, older: late ? 0 : Int64(random.next(below: 50))))
                }
            }
        }
        return out
    }

    static func store(_ series: [Series], _ client: PostgresClient, now: Timestamp) async throws {
        for (team, key) in Set(series.map { [$0.team, $0.key] }).map({ ($0[0], $0[1]) }) {
            let members = series.filter { $0.team == team && $0.key == key }
            let total = members.reduce(0) { $0 + $1.total }
            let first = members.compactMap { $0.minutes.keys.min() }.min()!
            let firstSeen = QueryTime.date(members.allSatisfy { $0.older == 0 } ? first : first - 20 * hour)
            let rows = try await client.query(
                """
                INSERT INTO groups (team, service, aggregation_key, class, total, first_seen, last_seen)
                VALUES (\(team), 'api', \(key), 'TestError', \(total), \(firstSeen), \(QueryTime.date(now))) RETURNING id
                """, logger: logger)
            var groupID: Int64 = 0
            for try await id in rows.decode(Int64.self) { groupID = id }
            for member in members {
                let labels = #"{"env": "\#(member.env)"}"#
                let inserted = try await client.query(
                    "INSERT INTO series (group_id, labels, total) VALUES (\(groupID), \(labels)::jsonb, \(member.total)) RETURNING id", logger: logger)
                var seriesID: Int64 = 0
                for try await id in inserted.decode(Int64.self) { seriesID = id }
                let minutes = member.minutes.keys.sorted()
                try await client.query(
                    """
                    INSERT INTO series_counts (series_id, minute, count)
                    SELECT \(seriesID), m, c FROM unnest(\(minutes.map(QueryTime.date)), \(minutes.map { member.minutes[$0]! })) AS r(m, c)
                    """, logger: logger)
            }
            try await client.query(
                """
                INSERT INTO group_counts (group_id, minute, count)
                SELECT \(groupID), c.minute, sum(c.count) FROM series_counts c JOIN series s ON s.id = c.series_id
                WHERE s.group_id = \(groupID) GROUP BY c.minute
                """, logger: logger)
            try await client.query(
                """
                INSERT INTO group_counts_hourly (group_id, hour, count)
                SELECT group_id, date_trunc('hour', minute), sum(count) FROM group_counts WHERE group_id = \(groupID) GROUP BY 1, 2
                """, logger: logger)
        }
    }

    /// Series summed by `by` from `term(series, t)` at each time where any of them exists.
    static func expected(
        _ series: [Series], by: [String], at times: [Timestamp], _ term: (Series, Timestamp) -> Int64
    ) -> [PromQL.Labels: [Sample]] {
        var out: [PromQL.Labels: [Sample]] = [:]
        for time in times {
            var sums: [PromQL.Labels: Int64] = [:]
            for one in series where one.value(at: time) > 0 {
                let all = ["team": one.team, "aggregation_key": one.key, "env": one.env, "service": "api"]
                sums[PromQL.Labels(all.filter { by.contains($0.key) }), default: 0] += term(one, time)
            }
            for (labels, sum) in sums { out[labels, default: []].append(Sample(t: time, v: Double(sum))) }
        }
        return out
    }

    static func samples(_ value: QueryValue, keeping: [String]) -> [PromQL.Labels: [Sample]] {
        switch value {
        case .vector(let elements):
            return Dictionary(elements.map { ($0.labels.keeping(keeping), [$0.sample]) }, uniquingKeysWith: +)
        case .matrix(let series):
            return Dictionary(series.map { ($0.labels.keeping(keeping), $0.samples) }, uniquingKeysWith: +)
        default:
            return [:]
        }
    }

    @Test func countersAtStepsEqualTheirDefinition() async throws {
        try await HubStoreTests.withStore { client in
            let now = QueryTime.timestamp(Date())
            let series = Self.makeSeries(now: now)
            try await Self.store(series, client, now: now)
            let source = HubSeriesSource(client: client, logger: Self.logger) { [] }
            let engine = QueryEngine()
            let increase = { (range: Timestamp) in { (one: Series, t: Timestamp) in one.value(at: t) - one.value(at: t - range) } }
            let value = { (one: Series, t: Timestamp) in one.value(at: t) }
            let cases: [(query: String, by: [String], term: (Series, Timestamp) -> Int64, only: [String])] = [
                ("sum by (team) (increase(canopy_exceptions_total[2h]))", ["team"], increase(2 * Self.hour), ["prod", "staging"]),
                ("sum by (team, service, aggregation_key) (increase(canopy_exceptions_total[1h]))", ["team", "service", "aggregation_key"], increase(Self.hour), ["prod", "staging"]),
                ("sum by (env) (canopy_exceptions_total)", ["env"], value, ["prod", "staging"]),
                ("sum by (team, env) (delta(canopy_exceptions_total[90m]))", ["team", "env"], increase(90 * Self.minute), ["prod", "staging"]),
                (#"canopy_exceptions_total{env="prod"}"#, ["team", "aggregation_key", "env"], value, ["prod"]),
                ("increase(canopy_exceptions_total[3h])", ["team", "aggregation_key", "env"], increase(3 * Self.hour), ["prod", "staging"]),
                ("sum(canopy_exceptions_total)", [], value, ["prod", "staging"]),
            ]
            let lastHour = CountBuckets.floorHour(now)
            let ranges: [(start: Timestamp, end: Timestamp, step: Timestamp)] = [
                (now - 8 * Self.hour, now, Self.hour),  // not on the hour
                (lastHour - 7 * Self.hour, lastHour, Self.hour),  // on the hour, as Grafana aligns
                (now - 3 * Self.hour + 1_234, now, 7 * Self.minute),  // shorter than an hour
                (now - 40 * Self.minute, now, 30_000),  // shorter than a minute: every minute read
            ]
            for (query, by, term, envs) in cases {
                let matching = series.filter { envs.contains($0.env) }
                let expr = try PromQLParser.parse(query)
                for time in [now, now - 2 * Self.hour - 17 * Self.minute - 3_000, lastHour] {
                    let actual = Self.samples(try await engine.instant(expr, at: time, source: source), keeping: by)
                    #expect(actual == Self.expected(matching, by: by, at: [time], term), "\(query) at \(time)")
                }
                for range in ranges {
                    let times = Array(stride(from: range.start, through: range.end, by: Int64.Stride(range.step)))
                    let actual = Self.samples(
                        try await engine.range(expr, start: range.start, end: range.end, step: range.step, source: source), keeping: by)
                    let wanted = Self.expected(matching, by: by, at: times, term)
                    #expect(actual == wanted, "\(query) from \(range.start) every \(range.step)")
                }
            }

            // The top 2 groups by their last 3 hours, read as the top of the window sums.
            let top = try await engine.instant(
                try PromQLParser.parse("topk(2, sum by (team, service, aggregation_key) (increase(canopy_exceptions_total[3h])))"),
                at: now, source: source)
            let groups = Self.expected(series, by: ["team", "service", "aggregation_key"], at: [now], increase(3 * Self.hour))
            let ranked = groups.map { $0.value[0].v }.sorted(by: >)
            guard case .vector(let elements) = top else { throw Unexpected() }
            #expect(elements.map(\.sample.v) == Array(ranked.prefix(2)))
            #expect(elements.allSatisfy { groups[$0.labels]?.first?.v == $0.sample.v })
        }
    }
}

struct Unexpected: Error {}
