import Foundation
import Logging
import PostgresNIO
import PromQL

/// The series rules write, one sample per evaluation: what recording rules record, and
/// `ALERTS`/`ALERTS_FOR_STATE`. Read back as sampled series with Prometheus's meaning, a
/// stale marker where a rule stopped returning a series, so lookback ends there.
struct RuleSeriesStore: Sendable {
    let client: any DatabaseClient
    let logger: Logger

    /// Series one selector may read of these.
    static let maxSeries = 100_000

    /// `samples` at `time`, and a stale marker for each of `ended`.
    func append(_ samples: [(labels: PromQL.Labels, value: Double)], ended: [PromQL.Labels], at time: Date) async throws {
        let rows = samples.map { ($0.labels, $0.value, false) } + ended.map { ($0, Double.nan, true) }
        guard !rows.isEmpty else { return }
        let names = rows.map { $0.0[PromQL.Labels.metricName] ?? "" }
        let labels = rows.map { Self.json($0.0.droppingMetricName) }
        let values = rows.map(\.1)
        let stale = rows.map(\.2)
        try await client.query(
            """
            WITH given AS (
                SELECT r.name, r.labels::jsonb AS labels, r.value, r.stale FROM unnest(\(names)::text[], \(labels)::text[], \(values)::float8[], \(stale)::bool[]) r(name, labels, value, stale)
            ), added AS (
                INSERT INTO rule_series (name, labels) SELECT DISTINCT name, labels FROM given ON CONFLICT (name, labels) DO NOTHING
                RETURNING id, name, labels
            )
            INSERT INTO rule_samples (series_id, time, value, stale)
            SELECT coalesce(a.id, s.id), \(time), g.value, g.stale FROM given g
            LEFT JOIN added a ON a.name = g.name AND a.labels = g.labels
            LEFT JOIN rule_series s ON s.name = g.name AND s.labels = g.labels
            ON CONFLICT (series_id, time) DO UPDATE SET value = EXCLUDED.value, stale = EXCLUDED.stale
            """, logger: logger)
    }

    /// The series passing `request`'s matchers, with their samples in its time range.
    func select(_ request: SelectRequest) async throws -> [SourceSeries] {
        var sql = SQLBuilder()
        var conditions = ["true"]
        var contained: [String: String] = [:]
        for matcher in request.matchers where matcher.type == .equal && !matcher.value.isEmpty {
            if matcher.name == PromQL.Labels.metricName {
                conditions.append("s.name = \(try sql.bind(matcher.value))")
            } else {
                contained[matcher.name] = matcher.value
            }
        }
        if !contained.isEmpty { conditions.append("s.labels @> \(try sql.bind(Self.json(PromQL.Labels(contained))))::jsonb") }
        let rows = try await client.query(
            sql.query("SELECT s.id, s.name, s.labels::text FROM rule_series s WHERE \(conditions.joined(separator: " AND ")) LIMIT \(Self.maxSeries + 1)"),
            logger: logger)
        var found: [Int64: PromQL.Labels] = [:]
        for try await (id, name, text) in rows.decode((Int64, String, String).self) {
            var labels = PromQL.Labels((try? JSONDecoder().decode([String: String].self, from: Data(text.utf8))) ?? [:])
            labels[PromQL.Labels.metricName] = name
            guard request.matchers.allSatisfy({ $0.matches(labels[$0.name] ?? "") }) else { continue }
            found[id] = labels
        }
        guard found.count <= Self.maxSeries else { throw ExceptionCounters.TooManySeries(limit: Self.maxSeries) }
        guard !found.isEmpty else { return [] }
        var samples = SQLBuilder()
        let ids = try samples.bind(Array(found.keys))
        let start = try samples.bind(QueryTime.date(request.start))
        let end = try samples.bind(QueryTime.date(request.end))
        let points = try await client.query(
            samples.query(
                "SELECT series_id, time, value, stale FROM rule_samples WHERE series_id = ANY(\(ids)) AND time >= \(start) AND time <= \(end) ORDER BY 1, 2"),
            logger: logger)
        var bySeries: [Int64: [Sample]] = [:]
        for try await (id, time, value, stale) in points.decode((Int64, Date, Double, Bool).self) {
            bySeries[id, default: []].append(Sample(t: QueryTime.timestamp(time), v: stale ? .staleMarker : value))
        }
        return found.compactMap { id, labels in
            bySeries[id].map { SourceSeries(labels: labels, data: .samples($0)) }
        }
    }

    /// The names of the recorded series, for the series and label APIs.
    func names() async throws -> [String] {
        try await client.query("SELECT DISTINCT name FROM rule_series ORDER BY 1", logger: logger).collect().map { try $0.decode(String.self) }
    }

    private static func json(_ labels: PromQL.Labels) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? String(decoding: encoder.encode(labels.dictionary), as: UTF8.self)) ?? "{}"
    }
}
