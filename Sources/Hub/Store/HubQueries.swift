import Foundation
import Logging
import Periskop
import PostgresNIO
import Shared

/// Reads for the hub's API. Every list is bounded and paged by keyset (a cursor naming the last
/// row seen), so that a page costs the same at 100,000 groups as at 100.
struct HubQueries: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// `ignored` whose time is up reads as `unresolved` before the hourly sweep makes it so.
    static let effectiveStatus = "CASE WHEN g.status = 'ignored' AND g.ignored_until <= now() THEN 'unresolved' ELSE g.status END"

    enum Sort: String, Sendable { case lastSeen = "last_seen", firstSeen = "first_seen", total, window }

    struct GroupFilter: Sendable {
        var team: String?
        var service: String?
        var severity: Severity?
        var status: String?
        var className: String?
        var text: String?
        var firstSeenFrom: Date?
        var firstSeenTo: Date?
        var lastSeenFrom: Date?
        var lastSeenTo: Date?
        var sort: Sort = .lastSeen
        /// For `sort=window` and the `occurrences_in_window` of each row.
        var window: Duration = .seconds(3600)
        var limit = 50
        var cursor: PageCursor?
    }

    /// The position after the last row of a page: its sort key (microseconds for times) and id.
    struct PageCursor: Sendable, Equatable {
        var value: Int64
        var id: Int64

        var token: String { Data("\(value)|\(id)".utf8).base64EncodedString() }

        init(value: Int64, id: Int64) {
            self.value = value
            self.id = id
        }

        init?(token: String) {
            guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8) else { return nil }
            let parts = text.split(separator: "|")
            guard parts.count == 2, let value = Int64(parts[0]), let id = Int64(parts[1]) else { return nil }
            self.init(value: value, id: id)
        }
    }

    func teams() async throws -> [TeamSummary] {
        let rows = try await client.query(
            """
            SELECT t.team,
                   (SELECT count(*) FROM leaves l WHERE l.team = t.team),
                   (SELECT count(DISTINCT service) FROM groups g WHERE g.team = t.team),
                   (SELECT count(*) FROM groups g WHERE g.team = t.team),
                   (SELECT coalesce(sum(total), 0)::int8 FROM groups g WHERE g.team = t.team)
            FROM (SELECT team FROM leaves UNION SELECT DISTINCT team FROM groups) t
            WHERE t.team <> ''
            ORDER BY t.team
            """, logger: logger)
        var teams: [TeamSummary] = []
        for try await (team, leaves, services, groups, total) in rows.decode((String, Int64, Int64, Int64, Int64).self) {
            teams.append(TeamSummary(name: team, leaves: Int(leaves), services: Int(services), groups: Int(groups), occurrences: total))
        }
        return teams
    }

    func services(team: String) async throws -> [ServiceSummary] {
        let rows = try await client.query(
            """
            SELECT s.service,
                   coalesce((SELECT sum(targets_total) FROM leaf_services ls JOIN leaves l ON l.id = ls.leaf_id WHERE l.team = \(team) AND ls.service = s.service), 0)::int8,
                   coalesce((SELECT sum(targets_up) FROM leaf_services ls JOIN leaves l ON l.id = ls.leaf_id WHERE l.team = \(team) AND ls.service = s.service), 0)::int8,
                   (SELECT count(*) FROM groups g WHERE g.team = \(team) AND g.service = s.service),
                   (SELECT coalesce(sum(total), 0)::int8 FROM groups g WHERE g.team = \(team) AND g.service = s.service),
                   (SELECT max(last_seen) FROM groups g WHERE g.team = \(team) AND g.service = s.service)
            FROM (SELECT service FROM groups WHERE team = \(team)
                  UNION SELECT ls.service FROM leaf_services ls JOIN leaves l ON l.id = ls.leaf_id WHERE l.team = \(team)) s
            ORDER BY s.service
            """, logger: logger)
        var services: [ServiceSummary] = []
        for try await (name, total, up, groups, occurrences, lastSeen) in rows.decode((String, Int64, Int64, Int64, Int64, Date?).self) {
            services.append(ServiceSummary(name: name, targetsTotal: Int(total), targetsUp: Int(up), groups: Int(groups), occurrences: occurrences, lastSeen: lastSeen))
        }
        return services
    }

    func groups(_ filter: GroupFilter) async throws -> GroupPage {
        var bindings = PostgresBindings()
        func bind(_ value: some PostgresEncodable & Sendable) throws -> String {
            try bindings.append(value)
            return "$\(bindings.count)"
        }
        // A bound start (not now() - interval) lets PostgreSQL skip the other days' partitions.
        let windowStart = try bind(Date().addingTimeInterval(-Double(filter.window.components.seconds)))
        // Sorting by a column (not an expression) walks its index and stops after a page; the sort
        // key comes back exactly (microseconds for times) for the next page's cursor.
        let column: String
        let key: String
        var from = "groups g"
        var windowCount = "(SELECT coalesce(sum(c.count), 0) FROM group_counts c WHERE c.group_id = g.id AND c.minute >= \(windowStart))::int8"
        switch filter.sort {
        case .lastSeen:
            column = "g.last_seen"
            key = "(extract(epoch FROM g.last_seen) * 1000000)::int8"
        case .firstSeen:
            column = "g.first_seen"
            key = "(extract(epoch FROM g.first_seen) * 1000000)::int8"
        case .total:
            column = "g.total"
            key = "g.total"
        case .window:
            from = """
                groups g LEFT JOIN (SELECT group_id, sum(count)::int8 AS count FROM group_counts WHERE minute >= \(windowStart) GROUP BY group_id) w
                ON w.group_id = g.id
                """
            windowCount = "coalesce(w.count, 0)"
            column = "coalesce(w.count, 0)"
            key = column
        }
        var sql = """
            SELECT g.id, g.team, g.service, g.aggregation_key, g.class, g.message, g.severity, g.first_seen, g.last_seen, g.total,
                   \(Self.effectiveStatus) AS status, \(windowCount) AS window_count, \(key) AS sort_key
            FROM \(from)
            WHERE true
            """
        if let team = filter.team { sql += " AND g.team = \(try bind(team))" }
        if let service = filter.service { sql += " AND g.service = \(try bind(service))" }
        if let severity = filter.severity { sql += " AND g.severity = \(try bind(Int16(SeverityRank.rank(severity))))" }
        if let status = filter.status {
            // Written without CASE so that the planner can estimate it.
            let value = try bind(status)
            sql += " AND ((g.status = \(value) AND NOT (g.status = 'ignored' AND g.ignored_until <= now()))"
            sql += " OR (\(value) = 'unresolved' AND g.status = 'ignored' AND g.ignored_until <= now()))"
        }
        if let className = filter.className { sql += " AND g.class = \(try bind(className))" }
        if let text = filter.text, !text.isEmpty {
            let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            let p = try bind("%" + escaped + "%")
            sql += " AND (g.message ILIKE \(p) OR g.stacktrace ILIKE \(p) OR g.class ILIKE \(p) OR g.aggregation_key ILIKE \(p))"
        }
        if let date = filter.firstSeenFrom { sql += " AND g.first_seen >= \(try bind(date))" }
        if let date = filter.firstSeenTo { sql += " AND g.first_seen < \(try bind(date))" }
        if let date = filter.lastSeenFrom { sql += " AND g.last_seen >= \(try bind(date))" }
        if let date = filter.lastSeenTo { sql += " AND g.last_seen < \(try bind(date))" }
        if let cursor = filter.cursor {
            let value: String
            switch filter.sort {
            case .lastSeen, .firstSeen: value = "('epoch'::timestamptz + \(try bind(cursor.value)) * interval '1 microsecond')"
            case .total, .window: value = try bind(cursor.value)
            }
            sql += " AND (\(column), g.id) < (\(value), \(try bind(cursor.id)))"
        }
        sql += " ORDER BY \(column) DESC, g.id DESC LIMIT \(try bind(filter.limit + 1))"
        let rows = try await client.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
        var groups: [HubGroup] = []
        var keys: [Int64] = []
        for try await row in rows.decode((Int64, String, String, String, String, String, Int16, Date, Date, Int64, String, Int64, Int64).self) {
            groups.append(
                HubGroup(
                    id: row.0, team: row.1, service: row.2, aggregationKey: row.3, className: row.4, message: row.5,
                    severity: SeverityRank.severity(Int(row.6)), firstSeen: row.7, lastSeen: row.8, total: row.9, status: row.10,
                    occurrencesInWindow: row.11))
            keys.append(row.12)
        }
        var next: String?
        if groups.count > filter.limit {
            groups.removeLast()
            next = PageCursor(value: keys[filter.limit - 1], id: groups[filter.limit - 1].id).token
        }
        return GroupPage(groups: groups, nextCursor: next)
    }

    func groupExists(id: Int64) async throws -> Bool {
        try await !client.query("SELECT 1 FROM groups WHERE id = \(id)", logger: logger).collect().isEmpty
    }

    /// The id of a group by its identity, as the Periskop API names it.
    func groupID(team: String, service: String, key: String) async throws -> Int64? {
        let rows = try await client.query(
            "SELECT id FROM groups WHERE team = \(team) AND service = \(service) AND aggregation_key = \(key)", logger: logger)
        return try await rows.collect().first?.decode(Int64.self)
    }

    func group(id: Int64) async throws -> HubGroupDetail? {
        let rows = try await client.query(
            """
            SELECT g.id, g.team, g.service, g.aggregation_key, g.class, g.message, g.severity, g.first_seen, g.last_seen, g.total,
                   \(unescaped: Self.effectiveStatus), g.status_changed_at, g.status_changed_by, g.ignored_until, g.ignored_until_total, g.stacktrace
            FROM groups g WHERE g.id = \(id)
            """, logger: logger)
        guard let row = try await rows.collect().first else { return nil }
        let (gid, team, service, key, className, message, severity, firstSeen, lastSeen, total, status, changedAt, changedBy, ignoredUntil, ignoredUntilTotal, _) =
            try row.decode((Int64, String, String, String, String, String, Int16, Date?, Date?, Int64, String, Date?, String?, Date?, Int64?, String).self)
        let group = HubGroup(
            id: gid, team: team, service: service, aggregationKey: key, className: className, message: message,
            severity: SeverityRank.severity(Int(severity)), firstSeen: firstSeen, lastSeen: lastSeen, total: total, status: status, occurrencesInWindow: 0)
        var samples: [ErrorWithContext] = []
        let decoder = CanopyJSON.decoder()
        let sampleRows = try await client.query("SELECT sample::text FROM samples WHERE group_id = \(id) ORDER BY time DESC NULLS LAST, uuid", logger: logger)
        for try await text in sampleRows.decode(String.self) {
            if let sample = try? decoder.decode(ErrorWithContext.self, from: Data(text.utf8)) { samples.append(sample) }
        }
        var history: [StatusChange] = []
        let changeRows = try await client.query(
            "SELECT at, actor, from_status, to_status, ignored_until, ignored_until_total, comment FROM status_changes WHERE group_id = \(id) ORDER BY at DESC, id DESC LIMIT 100",
            logger: logger)
        for try await change in changeRows.decode((Date, String, String, String, Date?, Int64?, String?).self) {
            history.append(StatusChange(at: change.0, actor: change.1, from: change.2, to: change.3, ignoredUntil: change.4, ignoredUntilTotal: change.5, comment: change.6))
        }
        let leaves = try await client.query(
            "SELECT l.job, l.url, c.last_total FROM cursors c JOIN leaves l ON l.id = c.leaf_id WHERE c.group_id = \(id) ORDER BY l.job",
            logger: logger)
        var reporting: [GroupLeaf] = []
        for try await (job, url, lastTotal) in leaves.decode((String, String, Int64).self) {
            reporting.append(GroupLeaf(leaf: job, url: url, total: lastTotal))
        }
        return HubGroupDetail(
            group: group, statusChangedAt: changedAt, statusChangedBy: changedBy, ignoredUntil: ignoredUntil, ignoredUntilTotal: ignoredUntilTotal,
            samples: samples, statusChanges: history, leaves: reporting)
    }

    /// Occurrences of a group in `[from, to)`, summed per `step` (a whole number of minutes).
    func occurrences(id: Int64, from: Date, to: Date, step: Duration) async throws -> [OccurrencePoint] {
        let stepSeconds = max(60, Int(step.components.seconds) / 60 * 60)
        let rows = try await client.query(
            """
            SELECT to_timestamp(floor(extract(epoch FROM minute) / \(stepSeconds)) * \(stepSeconds)) AS bucket, sum(count)::int8
            FROM group_counts WHERE group_id = \(id) AND minute >= \(from) AND minute < \(to)
            GROUP BY bucket ORDER BY bucket
            """, logger: logger)
        var counts: [Date: Int64] = [:]
        for try await (bucket, count) in rows.decode((Date, Int64).self) { counts[bucket] = count }
        // Every step in the range, zeros included, so that a chart needs no gap logic.
        var points: [OccurrencePoint] = []
        var time = Date(timeIntervalSince1970: floor(from.timeIntervalSince1970 / Double(stepSeconds)) * Double(stepSeconds))
        while time < to && points.count < 10_000 {
            points.append(OccurrencePoint(time: time, count: counts[time] ?? 0))
            time = time.addingTimeInterval(Double(stepSeconds))
        }
        return points
    }

    enum StatusRequest: Sendable {
        case resolve
        case reopen
        case ignore(until: Date?, additionalOccurrences: Int64?)
    }

    /// Changes a group's status and records who did it. Returns nil when there is no such group.
    func setStatus(id: Int64, _ request: StatusRequest, actor: String, comment: String?, now: Date = Date()) async throws -> HubGroupDetail? {
        let found = try await client.withTransaction(logger: logger) { connection -> Bool in
            let rows = try await connection.query("SELECT status, total FROM groups WHERE id = \(id) FOR UPDATE", logger: logger)
            guard let row = try await rows.collect().first else { return false }
            let (previous, total) = try row.decode((String, Int64).self)
            var status = "unresolved"
            var until: Date?
            var untilTotal: Int64?
            var resolvedTotal: Int64?
            switch request {
            case .resolve:
                status = "resolved"
                resolvedTotal = total
            case .reopen:
                status = "unresolved"
            case .ignore(let date, let more):
                status = "ignored"
                until = date
                untilTotal = more.map { total + $0 }
            }
            try await connection.query(
                """
                UPDATE groups SET status = \(status), resolved_total = \(resolvedTotal), ignored_until = \(until), ignored_until_total = \(untilTotal),
                    status_changed_at = \(now), status_changed_by = \(actor)
                WHERE id = \(id)
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO status_changes (group_id, at, actor, from_status, to_status, ignored_until, ignored_until_total, comment)
                VALUES (\(id), \(now), \(actor), \(previous), \(status), \(until), \(untilTotal), \(comment))
                """, logger: logger)
            return true
        }
        return found ? try await group(id: id) : nil
    }

    func leaves() async throws -> [LeafRow] {
        let rows = try await client.query(
            "SELECT id, job, url, name, team, epoch, started_at, last_applied FROM leaves ORDER BY job, url", logger: logger)
        var leaves: [LeafRow] = []
        for try await row in rows.decode((Int64, String, String, String, String, String, Date?, Date?).self) {
            leaves.append(LeafRow(id: row.0, job: row.1, url: row.2, name: row.3, team: row.4, epoch: row.5, startedAt: row.6, lastApplied: row.7))
        }
        return leaves
    }

    func scrapes(leaf: String?, limit: Int, before: Int64?) async throws -> [ScrapeLogEntry] {
        let rows = try await client.query(
            """
            SELECT s.id, coalesce(l.job, ''), s.url, s.time, s.duration_seconds, s.outcome, s.error, s.epoch, s.groups_changed, s.occurrences_added
            FROM scrapes s LEFT JOIN leaves l ON l.id = s.leaf_id
            WHERE (\(leaf)::text IS NULL OR l.job = \(leaf) OR s.url = \(leaf)) AND (\(before)::int8 IS NULL OR s.id < \(before))
            ORDER BY s.id DESC LIMIT \(limit)
            """, logger: logger)
        var entries: [ScrapeLogEntry] = []
        for try await row in rows.decode((Int64, String, String, Date, Double, String, String?, String?, Int32, Int64).self) {
            entries.append(
                ScrapeLogEntry(id: row.0, leaf: row.1, url: row.2, time: row.3, durationSeconds: row.4, outcome: row.5, error: row.6, epoch: row.7, groupsChanged: Int(row.8), occurrencesAdded: row.9))
        }
        return entries
    }

    func databaseConnections() async -> [String: Int] {
        guard let rows = try? await client.query("SELECT coalesce(state, 'unknown'), count(*)::int8 FROM pg_stat_activity WHERE datname = current_database() GROUP BY 1", logger: logger)
        else { return [:] }
        var result: [String: Int] = [:]
        do {
            for try await (state, count) in rows.decode((String, Int64).self) { result[state] = Int(count) }
        } catch {}
        return result
    }
}
