import Foundation
import Logging
import PostgresNIO
import PromQL
import Shared

/// `canopy_exceptions_total` as exact step series, read from `series`, `groups` and
/// `series_counts`. A series' value at `t` is its total minus its occurrences counted in minutes
/// after `t` (a minute's occurrences count from the minute's start), so history older than the
/// retention stays in the value, and the series exists from its first counted minute.
struct ExceptionCounters: Sendable {
    static let metric = "canopy_exceptions_total"

    let client: any DatabaseClient
    let logger: Logger
    /// Series one selector may read; past this the query is refused rather than left to run.
    let maxSeries: Int

    /// Groups that may have a counted minute by `end`: the hub counts an occurrence in the minute
    /// it saw it, which starts up to a minute before the occurrence's own time (`first_seen`).
    static func existingBy(_ end: Timestamp) -> Date { QueryTime.date(end + 60_000) }

    struct TooManySeries: Error, CustomStringConvertible {
        let limit: Int
        var description: String { "the selector matches more than \(limit) series: add label matchers" }
    }

    /// The matching series' labels (for `/api/v1/series` and the label API), of groups seen by
    /// `end` and last seen from `start` on.
    func labels(matching matchers: [LabelMatcher], start: Date?, end: Date?) async throws -> [PromQL.Labels] {
        var sql = SQLBuilder()
        let filter = try SeriesFilter(matchers, ownLabels: true, sql: &sql)
        var conditions = [filter.whereClause]
        if let end { conditions.append("g.first_seen <= \(try sql.bind(end))") }
        if let start { conditions.append("g.last_seen >= \(try sql.bind(start))") }
        return try await rows(sql, conditions, filter).map(\.labels)
    }

    func select(_ request: SelectRequest) async throws -> [SourceSeries] {
        var sql = SQLBuilder()
        let filter = try SeriesFilter(request.matchers, ownLabels: true, sql: &sql)
        let existing = "g.first_seen < \(try sql.bind(Self.existingBy(request.end)))"
        let found = try await rows(sql, [filter.whereClause, existing], filter)
        guard !found.isEmpty else { return [] }

        var counts = SQLBuilder()
        let ids = try counts.bind(found.map(\.id))
        if let buckets = CountBuckets(request) {
            // Only the values at the times that matter: one sum per series and bucket.
            let thresholds = try counts.bind(buckets.thresholds.map(QueryTime.date))
            let first = try counts.bind(QueryTime.date(buckets.thresholds[0]))
            let sums = try await client.query(
                counts.query(
                    """
                    SELECT series_id, width_bucket(minute, \(thresholds)), sum(count)::int8 FROM series_counts
                    WHERE series_id = ANY(\(ids)) AND minute >= \(first) GROUP BY 1, 2
                    """), logger: logger)
            var bucketed: [Int64: [Int: Int64]] = [:]
            for try await (id, bucket, count) in sums.decode((Int64, Int32, Int64).self) {
                bucketed[id, default: [:]][Int(bucket)] = count
            }
            return found.compactMap { row in
                let points = buckets.values(total: row.total, buckets: bucketed[row.id] ?? [:])
                return points.isEmpty ? nil : SourceSeries(labels: row.labels, data: .steps(points))
            }
        }
        let start = try counts.bind(QueryTime.date(request.start))
        let end = try counts.bind(QueryTime.date(request.end))
        let history = try await client.query(
            counts.query(
                """
                SELECT series_id, minute, count FROM series_counts WHERE series_id = ANY(\(ids)) AND minute > \(start) AND minute <= \(end)
                UNION ALL
                SELECT series_id, NULL, sum(count)::int8 FROM series_counts WHERE series_id = ANY(\(ids)) AND minute > \(end) GROUP BY series_id
                """), logger: logger)
        var steps: [Int64: StepHistory] = [:]
        for try await (id, minute, count) in history.decode((Int64, Date?, Int64).self) {
            steps[id, default: StepHistory()].add(minute: minute, count: count)
        }
        return found.compactMap { row in
            steps[row.id, default: StepHistory()].series(labels: row.labels, total: row.total, start: request.start)
        }
    }

    /// The matching series summed by `by` in SQL, when SQL can decide every matcher. Labels of
    /// groups alone are summed from `groups` and `group_counts` (and its hourly rollup), which
    /// hold the same counts as their series with fewer rows.
    func selectSummed(_ request: SelectRequest, by grouping: [String]) async throws -> [SourceSeries]? {
        var sql = SQLBuilder()
        let filter = try SeriesFilter(request.matchers, ownLabels: true, sql: &sql)
        guard filter.inSwift.isEmpty else { return nil }
        let groupsOnly = !filter.usesOwnLabels && grouping.allSatisfy { SeriesFilter.groupColumns[$0] != nil }
        var keys: [String] = []
        for name in grouping {
            keys.append("coalesce(\(try SeriesFilter.groupColumns[name] ?? "s.labels ->> \(sql.bind(name))"), '')")
        }
        // Every group has its first minute by now: the cut only helps queries of the past, and
        // without it PostgreSQL may answer from an index alone.
        let existing = Self.existingBy(request.end) > Date() ? "" : " AND g.first_seen < \(try sql.bind(Self.existingBy(request.end)))"
        let shape = SummedShape(
            keys: keys, groupsOnly: groupsOnly, matching: "WHERE \(filter.whereClause)\(existing)",
            // One key per group (the rest of a group's labels follow from these): nothing to sum,
            // so no GROUP BY and no sort of 100,000 keys.
            perGroup: groupsOnly && ["team", "service", "aggregation_key"].allSatisfy(grouping.contains))
        guard let buckets = CountBuckets(request) else {
            return try await summedByMinute(request, grouping: grouping, shape: shape, sql: sql)
        }
        let history = try shape.bucketedHistory(buckets, &sql)
        // Per owner and bucket, for one key per group and for the top k.
        let perOwner = "SELECT owner, bucket, moved, sum(count)::int8 AS count FROM (\(history)) x GROUP BY 1, 2, 3"
        // The k largest windows (and ties) of an instant increase, when at least k are not empty.
        if let k = request.topK, shape.perGroup, buckets.thresholds.count == 2, buckets.times.count == 2 {
            var top = sql
            let limit = try top.bind(Int64(k))
            let found = try await summedByBucket(
                top.query(
                    """
                    WITH h AS (\(perOwner)), w AS (
                        SELECT owner, sum(CASE WHEN bucket = 1 THEN count ELSE 0 END) - sum(CASE WHEN moved = 1 THEN count ELSE 0 END) AS count
                        FROM h GROUP BY 1
                    ), top AS (
                        SELECT g.id FROM groups g JOIN w ON w.owner = g.id \(shape.matching) AND w.count > 0
                        ORDER BY w.count DESC FETCH FIRST \(limit) ROWS WITH TIES
                    )
                    SELECT \(shape.keyList)NULL::int4, NULL::int4, g.total FROM groups g WHERE g.id IN (SELECT id FROM top)
                    UNION ALL
                    SELECT \(shape.keyList)h.bucket, h.moved, h.count FROM groups g JOIN h ON h.owner = g.id WHERE g.id IN (SELECT id FROM top)
                    """), grouping: grouping, buckets: buckets)
            if found.count >= k { return found }
        }
        return try await summedByBucket(
            sql.query(
                """
                SELECT \(shape.keyList)NULL::int4, NULL::int4, \(shape.summed(shape.total)) FROM \(shape.from) \(shape.matching)\(shape.groupBy)
                UNION ALL
                SELECT \(shape.keyList)h.bucket, h.moved, \(shape.summed("h.count")) FROM \(shape.from) JOIN (\(shape.perGroup ? perOwner : history)) h ON h.owner = \(shape.owner)
                \(shape.matching)\(shape.groupBy(extra: "h.bucket, h.moved"))
                """), grouping: grouping, buckets: buckets)
    }

    /// Rows `(keys…, bucket, moved, count)` as series at the buckets' times: `count` is in
    /// `bucket` and, where `moved` is positive, not in `moved`; bucket NULL for the total.
    private func summedByBucket(_ query: PostgresQuery, grouping: [String], buckets: CountBuckets) async throws -> [SourceSeries] {
        let rows = try await client.query(query, logger: logger)
        var totals: [PromQL.Labels: Int64] = [:]
        var sums: [PromQL.Labels: [Int: Int64]] = [:]
        for try await row in rows {
            let columns = row.makeRandomAccess()
            var labels = PromQL.Labels()
            for (index, name) in grouping.enumerated() { labels[name] = try columns[index].decode(String.self) }
            let count = try columns[grouping.count + 2].decode(Int64?.self) ?? 0
            if let bucket = try columns[grouping.count].decode(Int32?.self) {
                sums[labels, default: [:]][Int(bucket), default: 0] += count
                if let moved = try columns[grouping.count + 1].decode(Int32?.self), moved > 0 {
                    sums[labels, default: [:]][Int(moved), default: 0] -= count
                }
            } else {
                totals[labels] = count
                guard totals.count <= maxSeries else { throw TooManySeries(limit: maxSeries) }
            }
        }
        return totals.compactMap { labels, total in
            let points = buckets.values(total: total, buckets: sums[labels] ?? [:])
            return points.isEmpty ? nil : SourceSeries(labels: labels, data: .steps(points))
        }
    }

    /// Sums with every minute of the range, for the range functions that see each minute: per
    /// key the total (kind 0), what came after `end` (kind 1), and each minute (kind 2).
    private func summedByMinute(_ request: SelectRequest, grouping: [String], shape: SummedShape, sql: SQLBuilder) async throws -> [SourceSeries] {
        var sql = sql
        let start = try sql.bind(QueryTime.date(request.start))
        let end = try sql.bind(QueryTime.date(request.end))
        let byMinute = shape.perGroup ? "" : (shape.keys.isEmpty ? " GROUP BY c.minute" : shape.groupBy + ", c.minute")
        let rows = try await client.query(
            sql.query(
                """
                SELECT \(shape.keyList)0, NULL::timestamptz, \(shape.summed(shape.total)) FROM \(shape.from) \(shape.matching)\(shape.groupBy)
                UNION ALL
                SELECT \(shape.keyList)1, NULL::timestamptz, \(shape.summed("l.count")) FROM \(shape.from)
                JOIN (SELECT \(shape.ownerColumn) AS owner, sum(count)::int8 AS count FROM \(shape.counts) WHERE minute > \(end) GROUP BY 1) l ON l.owner = \(shape.owner)
                \(shape.matching)\(shape.groupBy)
                UNION ALL
                SELECT \(shape.keyList)2, c.minute, \(shape.summed("c.count")) FROM \(shape.from) JOIN \(shape.counts) c ON c.\(shape.ownerColumn) = \(shape.owner)
                \(shape.matching) AND c.minute > \(start) AND c.minute <= \(end)\(byMinute)
                """), logger: logger)
        var totals: [PromQL.Labels: Int64] = [:]
        var steps: [PromQL.Labels: StepHistory] = [:]
        for try await row in rows {
            let columns = row.makeRandomAccess()
            var labels = PromQL.Labels()
            for (index, name) in grouping.enumerated() { labels[name] = try columns[index].decode(String.self) }
            let kind = try columns[grouping.count].decode(Int32.self)
            let minute = try columns[grouping.count + 1].decode(Date?.self)
            let count = try columns[grouping.count + 2].decode(Int64?.self) ?? 0
            if kind == 0 {
                totals[labels] = count
                guard totals.count <= maxSeries else { throw TooManySeries(limit: maxSeries) }
            } else {
                steps[labels, default: StepHistory()].add(minute: kind == 1 ? nil : minute, count: count)
            }
        }
        return totals.compactMap { labels, total in
            steps[labels, default: StepHistory()].series(labels: labels, total: total, start: request.start)
        }
    }

    private struct Row {
        let id: Int64
        let total: Int64
        let labels: PromQL.Labels
    }

    private func rows(_ sql: SQLBuilder, _ conditions: [String], _ filter: SeriesFilter) async throws -> [Row] {
        let rows = try await client.query(
            sql.query(
                """
                SELECT s.id, s.total, g.team, g.service, g.aggregation_key, g.class, g.severity, s.labels::text
                FROM series s JOIN groups g ON g.id = s.group_id
                WHERE \(conditions.joined(separator: " AND "))
                LIMIT \(maxSeries + 1)
                """), logger: logger)
        let decoder = JSONDecoder()
        var result: [Row] = []
        var read = 0
        for try await (id, total, team, service, key, className, severity, text) in rows.decode(
            (Int64, Int64, String, String, String, String, Int16, String).self)
        {
            read += 1
            guard read <= maxSeries else { throw TooManySeries(limit: maxSeries) }
            let own = (try? decoder.decode([String: String].self, from: Data(text.utf8))) ?? [:]
            var labels = PromQL.Labels(own)
            labels[PromQL.Labels.metricName] = Self.metric
            labels["team"] = team
            labels["service"] = service
            labels["aggregation_key"] = key
            labels["class"] = className
            labels["severity"] = SeverityRank.severity(Int(severity)).rawValue
            if filter.passes(labels) { result.append(Row(id: id, total: total, labels: labels)) }
        }
        return result
    }
}

/// What a `sum by (…)` reads: groups alone (`groups`, `group_counts` and its hourly rollup) or
/// series, the key columns, and the matching rows.
struct SummedShape {
    var keys: [String]
    var groupsOnly: Bool
    /// `WHERE …` over `g` (and `s`).
    var matching: String
    var perGroup: Bool

    var keyList: String { keys.isEmpty ? "" : keys.joined(separator: ", ") + ", " }
    var from: String { groupsOnly ? "groups g" : "series s JOIN groups g ON g.id = s.group_id" }
    var owner: String { groupsOnly ? "g.id" : "s.id" }
    var ownerColumn: String { groupsOnly ? "group_id" : "series_id" }
    var counts: String { groupsOnly ? "group_counts" : "series_counts" }
    var total: String { groupsOnly ? "g.total" : "s.total" }

    func summed(_ column: String) -> String { perGroup ? column : "sum(\(column))::int8" }

    var groupBy: String { groupBy(extra: nil) }

    func groupBy(extra: String?) -> String {
        if perGroup { return "" }
        let columns = keys.indices.map { "\($0 + 1)" } + (extra.map { [$0] } ?? [])
        return columns.isEmpty ? "" : " GROUP BY " + columns.joined(separator: ", ")
    }

    /// Rows `(owner, bucket, moved, count)`, not summed: occurrences in `bucket`, and where
    /// `moved` is positive, counted in `moved` by an hour's row and so to be taken from it. Groups
    /// read whole hours from the rollup and the minutes the corrections name; series, and groups
    /// whose buckets cut most hours, read minutes. Rows only in bucket 0 are left out.
    func bucketedHistory(_ buckets: CountBuckets, _ sql: inout SQLBuilder) throws -> String {
        let thresholds = try sql.bind(buckets.thresholds.map(QueryTime.date))
        guard groupsOnly && buckets.readsHours else {
            let first = try sql.bind(QueryTime.date(buckets.thresholds[0]))
            return """
                SELECT \(ownerColumn) AS owner, width_bucket(minute, \(thresholds)) AS bucket, 0 AS moved, count
                FROM \(counts) WHERE minute >= \(first)
                """
        }
        let firstHour = try sql.bind(QueryTime.date(buckets.firstHour))
        let from = try sql.bind(buckets.corrections.map { QueryTime.date($0.from) })
        let to = try sql.bind(buckets.corrections.map { QueryTime.date($0.to) })
        let anchors = try sql.bind(buckets.corrections.map { Int32($0.anchorBucket) })
        return """
            SELECT group_id AS owner, width_bucket(hour + interval '\(buckets.anchorMinute) minutes', \(thresholds)) AS bucket, 0 AS moved, count
            FROM group_counts_hourly WHERE hour >= \(firstHour) AND hour + interval '\(buckets.anchorMinute) minutes' >= \(thresholds)[1]
            UNION ALL
            SELECT c.group_id, width_bucket(c.minute, \(thresholds)), r.anchor, c.count
            FROM unnest(\(from)::timestamptz[], \(to)::timestamptz[], \(anchors)::int4[]) r(a, b, anchor)
            JOIN group_counts c ON c.minute >= r.a AND c.minute < r.b
            """
    }
}

/// One counter's minutes inside a window and its count after the window, turned into a step
/// series: the value at the window's start, then one point per minute with occurrences.
struct StepHistory {
    private(set) var minutes: [(minute: Timestamp, count: Int64)] = []
    private(set) var later: Int64 = 0

    /// `minute` nil: the count after the window.
    mutating func add(minute: Date?, count: Int64) {
        if let minute { minutes.append((QueryTime.timestamp(minute), count)) } else { later += count }
    }

    /// Nil when the counter did not exist by the window's end.
    func series(labels: PromQL.Labels, total: Int64, start: Timestamp) -> SourceSeries? {
        var points: [Sample] = []
        var value = total - later - minutes.reduce(0) { $0 + $1.count }
        if value > 0 { points.append(Sample(t: start, v: Double(value))) }
        for (minute, count) in minutes.sorted(by: { $0.minute < $1.minute }) {
            value += count
            points.append(Sample(t: minute, v: Double(value)))
        }
        return points.isEmpty ? nil : SourceSeries(labels: labels, data: .steps(points))
    }
}

/// The evaluator's milliseconds and the database's dates.
enum QueryTime {
    static func date(_ timestamp: Timestamp) -> Date { Date(timeIntervalSince1970: Double(timestamp) / 1000) }
    static func timestamp(_ date: Date) -> Timestamp { Timestamp((date.timeIntervalSince1970 * 1000).rounded()) }
}
