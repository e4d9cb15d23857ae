import Foundation
import Logging
import Periskop
import PostgresNIO
import Shared

/// Reads for the hub's API. Every list is bounded and paged by keyset (a cursor naming the last
/// row seen), so that a page costs the same at 100,000 groups as at 100.
struct HubQueries: Sendable {
    let client: any DatabaseClient
    let logger: Logger

    /// Services' deploys, and what they changed.
    var deploys: DeployQueries { DeployQueries(client: client, logger: logger) }

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

    /// Every team (from its leaves and its groups) in one pass over an index of `groups`; the window counts
    /// come from `group_windows`, so they may be a minute behind.
    func teams() async throws -> [TeamSummary] {
        let rows = try await client.query(
            """
            WITH s AS (
                SELECT team, service, count(*) AS groups, sum(total) AS total,
                       count(*) FILTER (WHERE status = 'unresolved' OR (status = 'ignored' AND ignored_until <= now())) AS unresolved,
                       count(*) FILTER (WHERE status = 'regressed') AS regressed,
                       count(*) FILTER (WHERE status = 'resolved') AS resolved,
                       count(*) FILTER (WHERE status = 'ignored' AND (ignored_until IS NULL OR ignored_until > now())) AS ignored
                FROM groups GROUP BY team, service
            ), g AS (
                SELECT team, count(*)::int8 AS services, sum(groups)::int8 AS groups, sum(total)::int8 AS total, sum(unresolved)::int8 AS unresolved,
                       sum(regressed)::int8 AS regressed, sum(resolved)::int8 AS resolved, sum(ignored)::int8 AS ignored
                FROM s GROUP BY team
            ), w AS (
                SELECT g.team, coalesce(sum(w.count) FILTER (WHERE w.window_seconds = 3600), 0)::int8 AS hour,
                       coalesce(sum(w.count) FILTER (WHERE w.window_seconds = 86400), 0)::int8 AS day
                FROM group_windows w JOIN groups g ON g.id = w.group_id WHERE w.window_seconds IN (3600, 86400) GROUP BY g.team
            ), l AS (
                SELECT team, count(*)::int8 AS leaves FROM leaves GROUP BY team
            )
            SELECT team, coalesce(l.leaves, 0), coalesce(g.services, 0), coalesce(g.groups, 0), coalesce(g.total, 0),
                   coalesce(g.unresolved, 0), coalesce(g.regressed, 0), coalesce(g.resolved, 0), coalesce(g.ignored, 0),
                   coalesce(w.hour, 0), coalesce(w.day, 0)
            FROM g FULL JOIN l USING (team) LEFT JOIN w USING (team)
            WHERE team <> ''
            ORDER BY team
            """, logger: logger)
        var teams: [TeamSummary] = []
        for try await row in rows.decode((String, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64).self) {
            teams.append(
                TeamSummary(
                    name: row.0, leaves: Int(row.1), services: Int(row.2), groups: Int(row.3), occurrences: row.4,
                    unresolved: Int(row.5), regressed: Int(row.6), resolved: Int(row.7), ignored: Int(row.8), lastHour: row.9, lastDay: row.10))
        }
        return teams
    }

    /// A team's services, from its groups (one pass over the covering index on (team, service))
    /// and from the targets its leaves report.
    func services(team: String) async throws -> [ServiceSummary] {
        let rows = try await client.query(
            """
            SELECT service, coalesce(t.total, 0)::int8, coalesce(t.up, 0)::int8, coalesce(g.groups, 0)::int8, coalesce(g.occurrences, 0)::int8, g.last_seen
            FROM (SELECT service, count(*) AS groups, sum(total) AS occurrences, max(last_seen) AS last_seen FROM groups WHERE team = \(team) GROUP BY service) g
            FULL JOIN (SELECT ls.service, sum(ls.targets_total) AS total, sum(ls.targets_up) AS up
                       FROM leaf_services ls JOIN leaves l ON l.id = ls.leaf_id WHERE l.team = \(team) GROUP BY ls.service) t USING (service)
            ORDER BY service
            """, logger: logger)
        var services: [ServiceSummary] = []
        for try await (name, total, up, groups, occurrences, lastSeen) in rows.decode((String, Int64, Int64, Int64, Int64, Date?).self) {
            services.append(ServiceSummary(name: name, targetsTotal: Int(total), targetsUp: Int(up), groups: Int(groups), occurrences: occurrences, lastSeen: lastSeen))
        }
        return services
    }

    /// Above this many matches a text is common: the list walks its sort index and filters, which
    /// finds a page soon. Below it, the matching ids (from the trigram indexes) are sorted instead.
    static let commonTextMatches = 1000

    static let listColumns = """
        g.id, g.team, g.service, g.aggregation_key, g.class, g.message, g.severity, g.first_seen, g.last_seen, g.total, \(effectiveStatus) AS status
        """

    func groups(_ filter: GroupFilter, now: Date = Date()) async throws -> GroupPage {
        var sql = SQLBuilder()
        var conditions: [String] = []
        if let team = filter.team { conditions.append("g.team = \(try sql.bind(team))") }
        if let service = filter.service { conditions.append("g.service = \(try sql.bind(service))") }
        if let severity = filter.severity { conditions.append("g.severity = \(try sql.bind(Int16(SeverityRank.rank(severity))))") }
        if let status = filter.status {
            // Written without CASE so that the planner can estimate it.
            let value = try sql.bind(status)
            conditions.append(
                "((g.status = \(value) AND NOT (g.status = 'ignored' AND g.ignored_until <= now())) OR (\(value) = 'unresolved' AND g.status = 'ignored' AND g.ignored_until <= now()))")
        }
        if let className = filter.className { conditions.append("g.class = \(try sql.bind(className))") }
        if let text = filter.text, !text.isEmpty {
            let escaped = text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
            let pattern = "%" + escaped + "%"
            let matching = try await matchingIDs(pattern: pattern)
            if matching.count <= Self.commonTextMatches {
                conditions.append("g.id = ANY(\(try sql.bind(matching))::int8[])")
            } else {
                let p = try sql.bind(pattern)
                conditions.append(
                    "EXISTS (SELECT 1 FROM group_search t WHERE t.group_id = g.id AND (t.message ILIKE \(p) OR t.stacktrace ILIKE \(p) OR t.class ILIKE \(p) OR t.aggregation_key ILIKE \(p)))")
            }
        }
        if let date = filter.firstSeenFrom { conditions.append("g.first_seen >= \(try sql.bind(date))") }
        if let date = filter.firstSeenTo { conditions.append("g.first_seen < \(try sql.bind(date))") }
        if let date = filter.lastSeenFrom { conditions.append("g.last_seen >= \(try sql.bind(date))") }
        if let date = filter.lastSeenTo { conditions.append("g.last_seen < \(try sql.bind(date))") }
        let limit = try sql.bind(filter.limit + 1)
        let text: String
        if filter.sort == .window && WindowRefresh.isStandard(filter.window) {
            text = try storedWindowList(conditions, filter, limit: limit, &sql)
        } else {
            text = try liveList(conditions, filter, now: now, limit: limit, &sql)
        }
        let rows = try await client.query(sql.query(text), logger: logger)
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

    /// Ids of the groups whose class, message, key or stack trace contains `pattern`, up to one
    /// more than `commonTextMatches`: a bitmap scan of the trigram indexes when the text is rare,
    /// an early stop when it is common.
    private func matchingIDs(pattern: String) async throws -> [Int64] {
        let rows = try await client.query(
            """
            SELECT group_id FROM group_search
            WHERE message ILIKE \(pattern) OR stacktrace ILIKE \(pattern) OR class ILIKE \(pattern) OR aggregation_key ILIKE \(pattern)
            LIMIT \(Self.commonTextMatches + 1)
            """, logger: logger)
        var ids: [Int64] = []
        for try await id in rows.decode(Int64.self) { ids.append(id) }
        return ids
    }

    /// Lists sorted by a column walk its index and stop after a page; the window count is summed
    /// for the page's rows only. The sort key comes back exactly (microseconds for times) for the cursor.
    private func liveList(_ conditions: [String], _ filter: GroupFilter, now: Date, limit: String, _ sql: inout SQLBuilder) throws -> String {
        var conditions = conditions
        let split = HistorySplit.window(filter.window, now: now)
        let column: String
        let key: String
        var from = "groups g"
        var windowCount = "(SELECT coalesce(sum(h.count), 0) FROM (\(try sql.historyRows(split, groups: "group_id = g.id"))) h)::int8"
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
            // A window other than the standard ones: every group's history in it is summed.
            from = """
                groups g LEFT JOIN (
                    SELECT group_id, sum(count)::int8 AS count FROM (\(try sql.historyRows(split, groups: "true"))) h GROUP BY group_id
                ) w ON w.group_id = g.id
                """
            windowCount = "coalesce(w.count, 0)"
            column = windowCount
            key = windowCount
        }
        if let cursor = filter.cursor {
            let value: String
            switch filter.sort {
            case .lastSeen, .firstSeen: value = "('epoch'::timestamptz + \(try sql.bind(cursor.value)) * interval '1 microsecond')"
            case .total, .window: value = try sql.bind(cursor.value)
            }
            conditions.append("(\(column), g.id) < (\(value), \(try sql.bind(cursor.id)))")
        }
        return """
            SELECT \(Self.listColumns), \(windowCount) AS window_count, \(key) AS sort_key
            FROM \(from)
            WHERE \((["true"] + conditions).joined(separator: " AND "))
            ORDER BY \(column) DESC, g.id DESC LIMIT \(limit)
            """
    }

    /// A standard window, sorted by the counts in `group_windows`: the groups with occurrences in
    /// the window walk its index; after them come the quiet ones (no row) by id.
    private func storedWindowList(_ conditions: [String], _ filter: GroupFilter, limit: String, _ sql: inout SQLBuilder) throws -> String {
        let seconds = try sql.bind(Int32(filter.window.components.seconds))
        var active = conditions
        var quiet = conditions + ["NOT EXISTS (SELECT 1 FROM group_windows q WHERE q.window_seconds = \(seconds) AND q.group_id = g.id)"]
        if let cursor = filter.cursor {
            if cursor.value > 0 {
                active.append("(w.count, w.group_id) < (\(try sql.bind(cursor.value)), \(try sql.bind(cursor.id)))")
            } else {
                quiet.append("g.id < \(try sql.bind(cursor.id))")
            }
        }
        func clause(_ conditions: [String]) -> String { (["true"] + conditions).joined(separator: " AND ") }
        var branches: [String] = []
        if (filter.cursor?.value ?? 1) > 0 {
            branches.append(
                """
                (SELECT \(Self.listColumns), w.count AS window_count, w.count AS sort_key
                 FROM group_windows w JOIN groups g ON g.id = w.group_id
                 WHERE w.window_seconds = \(seconds) AND \(clause(active))
                 ORDER BY w.count DESC, w.group_id DESC LIMIT \(limit))
                """)
        }
        branches.append(
            """
            (SELECT \(Self.listColumns), 0::int8 AS window_count, 0::int8 AS sort_key
             FROM groups g WHERE \(clause(quiet))
             ORDER BY g.id DESC LIMIT \(limit))
            """)
        return """
            SELECT * FROM (\(branches.joined(separator: "\nUNION ALL\n"))) page
            ORDER BY sort_key DESC, id DESC LIMIT \(limit)
            """
    }

    /// Occurrences per hour over the last `hours` hours (the current one last), per team: the
    /// overview's sparklines. Reads the hourly rollup.
    func teamHours(hours: Int = 24, now: Date = Date()) async throws -> [String: [Int64]] {
        let first = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 3600).rounded(.down) * 3600 - Double(hours - 1) * 3600)
        let rows = try await client.query(
            """
            SELECT g.team, h.hour, sum(h.count)::int8 FROM group_counts_hourly h JOIN groups g ON g.id = h.group_id
            WHERE h.hour >= \(first) GROUP BY g.team, h.hour
            """, logger: logger)
        var series: [String: [Int64]] = [:]
        for try await (team, hour, count) in rows.decode((String, Date, Int64).self) {
            let index = Int((hour.timeIntervalSince(first) / 3600).rounded())
            guard (0..<hours).contains(index) else { continue }
            series[team, default: Array(repeating: 0, count: hours)][index] += count
        }
        return series
    }

    /// The same per group, for the groups of a page.
    func groupHours(ids: [Int64], hours: Int = 24, now: Date = Date()) async throws -> [Int64: [Int64]] {
        guard !ids.isEmpty else { return [:] }
        let first = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 3600).rounded(.down) * 3600 - Double(hours - 1) * 3600)
        let rows = try await client.query(
            "SELECT group_id, hour, count FROM group_counts_hourly WHERE group_id = ANY(\(ids)::int8[]) AND hour >= \(first)", logger: logger)
        var series: [Int64: [Int64]] = [:]
        for try await (id, hour, count) in rows.decode((Int64, Date, Int64).self) {
            let index = Int((hour.timeIntervalSince(first) / 3600).rounded())
            guard (0..<hours).contains(index) else { continue }
            series[id, default: Array(repeating: 0, count: hours)][index] += count
        }
        return series
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

    /// A group's identity, as the labels of its series name it.
    struct GroupIdentity: Hashable, Sendable {
        var team: String
        var service: String
        var key: String
    }

    /// The ids of the groups among `identities` that the hub has, in one query (the alerts page
    /// links each alert about a group to its page).
    func groupIDs(_ identities: Set<GroupIdentity>) async throws -> [GroupIdentity: Int64] {
        guard !identities.isEmpty else { return [:] }
        let list = Array(identities)
        let rows = try await client.query(
            """
            SELECT g.id, g.team, g.service, g.aggregation_key FROM groups g
            JOIN UNNEST(\(list.map(\.team))::text[], \(list.map(\.service))::text[], \(list.map(\.key))::text[]) AS u(team, service, key)
            ON g.team = u.team AND g.service = u.service AND g.aggregation_key = u.key
            """, logger: logger)
        var ids: [GroupIdentity: Int64] = [:]
        for try await (id, team, service, key) in rows.decode((Int64, String, String, String).self) {
            ids[GroupIdentity(team: team, service: service, key: key)] = id
        }
        return ids
    }

    func group(id: Int64) async throws -> HubGroupDetail? {
        let rows = try await client.query(
            """
            SELECT g.id, g.team, g.service, g.aggregation_key, g.class, g.message, g.severity, g.first_seen, g.last_seen, g.total,
                   \(unescaped: Self.effectiveStatus), g.status_changed_at, g.status_changed_by, g.ignored_until, g.ignored_until_total, g.fingerprint
            FROM groups g WHERE g.id = \(id)
            """, logger: logger)
        guard let row = try await rows.collect().first else { return nil }
        let (gid, team, service, key, className, message, severity, firstSeen, lastSeen, total, status, changedAt, changedBy, ignoredUntil, ignoredUntilTotal, fingerprint) =
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
            samples: samples, statusChanges: history, leaves: reporting, fingerprint: fingerprint,
            siblings: try await bugGroups(fingerprint: fingerprint).filter { $0.id != id })
    }

    /// Occurrences of a group in `[from, to)`, summed per `step` (a whole number of minutes).
    func occurrences(id: Int64, from: Date, to: Date, step: Duration) async throws -> [OccurrencePoint] {
        let stepSeconds = max(60, Int(step.components.seconds) / 60 * 60)
        var sql = SQLBuilder()
        // Whole hours come from the hourly rollup when a step is whole hours (buckets start at
        // multiples of the step since the epoch, so an hour never straddles two of them).
        let split = HistorySplit(from: from, to: to, hours: stepSeconds % 3600 == 0)
        let history = try sql.historyRows(split, groups: "group_id = \(try sql.bind(id))")
        let step = try sql.bind(Int64(stepSeconds))
        let rows = try await client.query(
            sql.query(
                """
                SELECT date_bin(\(step) * interval '1 second', at, timestamptz 'epoch') AS bucket, sum(count)::int8
                FROM (\(history)) h GROUP BY bucket ORDER BY bucket
                """), logger: logger)
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
            SELECT s.id, coalesce(l.job, ''), s.url, s.time, s.duration_seconds, s.outcome, s.error, s.epoch, s.groups_changed, s.occurrences_added,
                   s.skipped, s.skipped_detail
            FROM scrapes s LEFT JOIN leaves l ON l.id = s.leaf_id
            WHERE (\(leaf)::text IS NULL OR l.job = \(leaf) OR s.url = \(leaf)) AND (\(before)::int8 IS NULL OR s.id < \(before))
            ORDER BY s.id DESC LIMIT \(limit)
            """, logger: logger)
        var entries: [ScrapeLogEntry] = []
        for try await row in rows.decode((Int64, String, String, Date, Double, String, String?, String?, Int32, Int64, Int32, String?).self) {
            entries.append(
                ScrapeLogEntry(
                    id: row.0, leaf: row.1, url: row.2, time: row.3, durationSeconds: row.4, outcome: row.5, error: row.6, epoch: row.7,
                    groupsChanged: Int(row.8), occurrencesAdded: row.9, skipped: Int(row.10), skippedDetail: row.11))
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
