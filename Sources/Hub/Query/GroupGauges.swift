import Foundation
import Logging
import PostgresNIO
import PromQL
import Shared

/// The gauges of a group, labelled as the group is (team, service, aggregation_key, class,
/// severity; no target labels): when it was first and last seen, and its status (with the
/// group's `fingerprint` too, so that a rule can count one bug across teams once:
/// `count by (fingerprint) (canopy_group_status{status="unresolved"})`).
struct GroupGauges: Sendable {
    static let firstSeen = "canopy_group_first_seen_timestamp_seconds"
    static let lastSeen = "canopy_group_last_seen_timestamp_seconds"
    static let status = "canopy_group_status"
    static let metrics = [firstSeen, lastSeen, status]

    let client: any DatabaseClient
    let logger: Logger
    let maxSeries: Int

    /// - first seen: from then on, that time in seconds.
    /// - last seen: the start of the latest minute with occurrences up to `t`, and from the
    ///   group's last counted minute on its exact last occurrence.
    /// - status: the status now (`unresolved`, `regressed`, `resolved`, `ignored`; an ignore
    ///   whose time is up reads `unresolved`) with the value 1, from the first occurrence on.
    ///   Past statuses are on the group's page, not in the series.
    func select(_ metric: String, _ request: SelectRequest) async throws -> [SourceSeries] {
        var sql = SQLBuilder()
        let filter = try SeriesFilter(
            request.matchers, ownLabels: false, extra: metric == Self.status ? ["status": HubQueries.effectiveStatus, "fingerprint": "g.fingerprint"] : [:], sql: &sql)
        let end = try sql.bind(QueryTime.date(request.end))
        var lastSeenBefore = "NULL::timestamptz"
        if metric == Self.lastSeen {
            let start = try sql.bind(QueryTime.date(request.start))
            lastSeenBefore = "coalesce((SELECT max(minute) FROM group_counts c WHERE c.group_id = g.id AND c.minute <= \(start)), CASE WHEN g.first_seen <= \(start) THEN g.first_seen END)"
        }
        let rows = try await client.query(
            sql.query(
                """
                SELECT g.id, g.team, g.service, g.aggregation_key, g.class, g.severity, g.first_seen, g.last_seen,
                       \(HubQueries.effectiveStatus), \(lastSeenBefore), g.fingerprint
                FROM groups g WHERE \(filter.whereClause) AND g.first_seen <= \(end)
                LIMIT \(maxSeries + 1)
                """), logger: logger)
        var found: [(id: Int64, labels: PromQL.Labels, firstSeen: Date, lastSeen: Date, before: Date?)] = []
        for try await (id, team, service, key, className, severity, firstSeen, lastSeen, status, before, fingerprint) in rows.decode(
            (Int64, String, String, String, String, Int16, Date, Date, String, Date?, String).self)
        {
            guard found.count < maxSeries else { throw ExceptionCounters.TooManySeries(limit: maxSeries) }
            var labels = PromQL.Labels([
                (PromQL.Labels.metricName, metric), ("team", team), ("service", service), ("aggregation_key", key), ("class", className),
                ("severity", SeverityRank.severity(Int(severity)).rawValue),
            ])
            if metric == Self.status {
                labels["status"] = status
                if !fingerprint.isEmpty { labels["fingerprint"] = fingerprint }
            }
            if filter.passes(labels) { found.append((id, labels, firstSeen, lastSeen, before)) }
        }
        switch metric {
        case Self.firstSeen:
            return found.map { SourceSeries(labels: $0.labels, data: .steps([Sample(t: QueryTime.timestamp($0.firstSeen), v: $0.firstSeen.timeIntervalSince1970)])) }
        case Self.status:
            return found.map { SourceSeries(labels: $0.labels, data: .steps([Sample(t: QueryTime.timestamp($0.firstSeen), v: 1)])) }
        default:
            return try await lastSeenSeries(found, request)
        }
    }

    private func lastSeenSeries(
        _ found: [(id: Int64, labels: PromQL.Labels, firstSeen: Date, lastSeen: Date, before: Date?)], _ request: SelectRequest
    ) async throws -> [SourceSeries] {
        guard !found.isEmpty else { return [] }
        var sql = SQLBuilder()
        let ids = try sql.bind(found.map(\.id))
        let start = try sql.bind(QueryTime.date(request.start))
        let end = try sql.bind(QueryTime.date(request.end))
        let rows = try await client.query(
            sql.query("SELECT group_id, minute FROM group_counts WHERE group_id = ANY(\(ids)) AND minute > \(start) AND minute <= \(end) ORDER BY minute"),
            logger: logger)
        var minutes: [Int64: [Date]] = [:]
        for try await (id, minute) in rows.decode((Int64, Date).self) { minutes[id, default: []].append(minute) }
        return found.compactMap { group in
            var points: [Sample] = []
            if let before = group.before { points.append(Sample(t: request.start, v: before.timeIntervalSince1970)) }
            for minute in minutes[group.id] ?? [] { points.append(Sample(t: QueryTime.timestamp(minute), v: minute.timeIntervalSince1970)) }
            // From its last counted minute on, the exact time of the last occurrence.
            if group.lastSeen <= QueryTime.date(request.end), let last = points.indices.last {
                let lastMinute = Date(timeIntervalSince1970: (group.lastSeen.timeIntervalSince1970 / 60).rounded(.down) * 60)
                if QueryTime.date(points[last].t) >= lastMinute { points[last].v = group.lastSeen.timeIntervalSince1970 }
            }
            return points.isEmpty ? nil : SourceSeries(labels: group.labels, data: .steps(points))
        }
    }
}
