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

    let client: PostgresClient
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
    /// groups alone are summed from `groups` and `group_counts`, which hold the same counts as
    /// their series with fewer rows.
    func selectSummed(_ request: SelectRequest, by grouping: [String]) async throws -> [SourceSeries]? {
        var sql = SQLBuilder()
        let filter = try SeriesFilter(request.matchers, ownLabels: true, sql: &sql)
        guard filter.inSwift.isEmpty else { return nil }
        let groupsOnly = !filter.usesOwnLabels && grouping.allSatisfy { SeriesFilter.groupColumns[$0] != nil }
        var keys: [String] = []
        for name in grouping {
            keys.append("coalesce(\(try SeriesFilter.groupColumns[name] ?? "s.labels ->> \(sql.bind(name))"), '')")
        }
        let keyList = keys.isEmpty ? "" : keys.joined(separator: ", ") + ", "
        let start = try sql.bind(QueryTime.date(request.start))
        let end = try sql.bind(QueryTime.date(request.end))
        // Every group has its first minute by now: the cut only helps queries of the past, and
        // without it PostgreSQL may answer from an index alone.
        let existing = Self.existingBy(request.end) > Date() ? "" : " AND g.first_seen < \(try sql.bind(Self.existingBy(request.end)))"
        // One key per group (the rest of a group's labels follow from these): nothing to sum, so
        // no GROUP BY and no sort of 100,000 keys.
        let perGroup = groupsOnly && ["team", "service", "aggregation_key"].allSatisfy(grouping.contains)
        // An instant `increase`, `rate` or `delta` needs each sum at the window's two ends only:
        // its total then, and the window's occurrences, whose whole hours the hourly rollup holds.
        let windowOnly = groupsOnly && request.step == 0 && request.range > 0 && request.start == request.end - request.range
            && ["increase", "rate", "delta"].contains(request.function ?? "")
        let from = groupsOnly ? "groups g" : "series s JOIN groups g ON g.id = s.group_id"
        let (owner, counts, ownerColumn, total) = groupsOnly ? ("g.id", "group_counts", "group_id", "g.total") : ("s.id", "series_counts", "series_id", "s.total")
        let summed = { (column: String) in perGroup ? column : "sum(\(column))::int8" }
        let groupBy = perGroup || keys.isEmpty ? "" : " GROUP BY " + keys.indices.map { "\($0 + 1)" }.joined(separator: ", ")
        let matching = "WHERE \(filter.whereClause)\(existing)"
        // Per key: the total (kind 0), what came after `end` (kind 1), and the window: each minute
        // (kind 2) or, for `windowOnly`, its sum (kind 3).
        let window: String
        if windowOnly {
            let history = try sql.historyRows(HistorySplit(from: Self.minute(after: request.start), to: Self.minute(after: request.end)), groups: "true")
            window = """
                SELECT \(keyList)3, NULL::timestamptz, \(summed("w.count")) FROM \(from)
                JOIN (SELECT group_id AS owner, sum(count)::int8 AS count FROM (\(history)) h GROUP BY 1) w ON w.owner = \(owner)
                \(matching)\(groupBy)
                """
        } else {
            let byMinute = perGroup ? "" : (keys.isEmpty ? " GROUP BY c.minute" : groupBy + ", c.minute")
            window = """
                SELECT \(keyList)2, c.minute, \(summed("c.count")) FROM \(from) JOIN \(counts) c ON c.\(ownerColumn) = \(owner)
                \(matching) AND c.minute > \(start) AND c.minute <= \(end)\(byMinute)
                """
        }
        let rows = try await client.query(
            sql.query(
                """
                SELECT \(keyList)0, NULL::timestamptz, \(summed(total)) FROM \(from) \(matching)\(groupBy)
                UNION ALL
                SELECT \(keyList)1, NULL::timestamptz, \(summed("l.count")) FROM \(from)
                JOIN (SELECT \(ownerColumn) AS owner, sum(count)::int8 AS count FROM \(counts) WHERE minute > \(end) GROUP BY 1) l ON l.owner = \(owner)
                \(matching)\(groupBy)
                UNION ALL
                \(window)
                """), logger: logger)
        var totals: [PromQL.Labels: Int64] = [:]
        var steps: [PromQL.Labels: StepHistory] = [:]
        var windows: [PromQL.Labels: Int64] = [:]
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
            } else if kind == 3 {
                windows[labels] = count
            } else {
                steps[labels, default: StepHistory()].add(minute: kind == 1 ? nil : minute, count: count)
            }
        }
        if windowOnly {
            // The value at the window's end, and at its start unless the sum began inside it.
            return totals.compactMap { labels, total in
                let last = total - steps[labels, default: StepHistory()].later
                let first = last - windows[labels, default: 0]
                let points = (first > 0 ? [Sample(t: request.start, v: Double(first))] : []) + (last > 0 ? [Sample(t: request.end, v: Double(last))] : [])
                return points.isEmpty ? nil : SourceSeries(labels: labels, data: .steps(points))
            }
        }
        return totals.compactMap { labels, total in
            steps[labels, default: StepHistory()].series(labels: labels, total: total, start: request.start)
        }
    }

    /// The first minute start after `time`: the window `(a, b]` holds the minutes from
    /// `minute(after: a)` up to, not including, `minute(after: b)`.
    static func minute(after time: Timestamp) -> Date {
        QueryTime.date((time / 60_000) * 60_000 + 60_000)
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
