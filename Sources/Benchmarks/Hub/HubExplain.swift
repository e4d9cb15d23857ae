import Foundation

/// Query plans of the slow endpoints: the SQL of `Sources/Hub/Store/HubQueries.swift` as the hub
/// sends it (copied here, parameters filled in), under `EXPLAIN (ANALYZE, BUFFERS)`; then the
/// proposed fixes (indexes and rewritten SQL) on the same data, for comparison. Keep the copies
/// in step with HubQueries.
struct HubExplain {
    let fill: HubFill
    let team: String
    let service: String
    let hotGroup: Int64
    let searchText: String
    let cursor: String
    let psql: Psql

    /// The queries behind one endpoint, in the order the hub runs them.
    func currentQueries(_ endpoint: String) -> [String] {
        switch endpoint {
        case "teams": return [Self.teamsSQL]
        case "services": return [servicesSQL, Self.teamsSQL]
        case "groups": return [groupsSQL()]
        case "groups-team-service": return [groupsSQL(team: team, service: service)]
        case "groups-severity-status": return [groupsSQL(severity: 1, status: "unresolved")]
        case "groups-total": return [groupsSQL(sort: "total")]
        case "groups-window-1h": return [groupsSQL(sort: "window")]
        case "groups-window-24h": return [groupsSQL(sort: "window", window: 86400)]
        case "groups-text": return [groupsSQL(text: searchText)]
        case "groups-last-seen-7d": return [groupsSQL(lastSeenFrom: Date().addingTimeInterval(-7 * 86400))]
        case "groups-page-21": return [groupsSQL(cursor: cursor)]
        case "group": return groupSQL
        case "occurrences-30d-1h": return groupSQL + [occurrencesSQL(range: 30 * 86400, step: 3600)]
        case "occurrences-1h-1m": return groupSQL + [occurrencesSQL(range: 3600, step: 60)]
        case "leaves": return ["SELECT id, job, url, name, team, epoch, started_at, last_applied FROM leaves ORDER BY job, url"]
        case "scrapes":
            return [
                """
                SELECT s.id, coalesce(l.job, ''), s.url, s.time, s.duration_seconds, s.outcome, s.error, s.epoch, s.groups_changed, s.occurrences_added
                FROM scrapes s LEFT JOIN leaves l ON l.id = s.leaf_id
                WHERE (NULL::text IS NULL OR l.job = NULL OR s.url = NULL) AND (NULL::int8 IS NULL OR s.id < NULL)
                ORDER BY s.id DESC LIMIT 100
                """
            ]
        default: return []
        }
    }

    func run(slow: [String], file: String) async throws {
        var report = "EXPLAIN (ANALYZE, BUFFERS) of the hub's queries, \(Date())\n"
        say("query plans of the endpoints above the threshold, as the hub sends them (full plans in \(file)):")
        for endpoint in slow {
            let queries = currentQueries(endpoint)
            var total = 0.0
            for (index, query) in queries.enumerated() {
                let plan = try await psql.run("EXPLAIN (ANALYZE, BUFFERS) " + query, name: "explain-\(endpoint)-\(index)")
                report += "\n===== \(endpoint), query \(index + 1) of \(queries.count), as HubQueries sends it\n\(query)\n\n\(plan)"
                total += Self.milliseconds(plan)
                say("  \(endpoint) query \(index + 1)/\(queries.count): \(Self.summary(plan))")
            }
            if queries.count > 1 { say("  \(endpoint): \(String(format: "%.1f", total)) ms planning and execution in all") }
        }
        let proposed = slow.compactMap { endpoint in proposal(endpoint).map { (endpoint, $0) } }
        if !proposed.isEmpty {
            say("")
            say("the proposed indexes and queries on the same data (jit off), after:")
            let started = ContinuousClock.now
            _ = try await psql.run(Self.proposedSchemaSQL, name: "proposed-schema")
            say("  \(Self.proposedSchemaSummary): \(HubBenchmark.seconds(ContinuousClock.now - started))")
            report += "\n\n##### Proposed schema additions\n\(Self.proposedSchemaSQL)\n"
            for (endpoint, proposal) in proposed {
                var total = 0.0
                var notes: [String] = []
                for (index, query) in proposal.queries.enumerated() {
                    let plan = try await psql.run("SET jit = off;\nEXPLAIN (ANALYZE, BUFFERS) " + query, name: "proposed-\(endpoint)-\(index)")
                    report += "\n===== \(endpoint), proposed query \(index + 1) of \(proposal.queries.count): \(proposal.change)\n\(query)\n\n\(plan)"
                    total += Self.milliseconds(plan)
                    notes.append(Self.summary(plan))
                }
                say("  \(endpoint): \(String(format: "%.1f", total)) ms (\(notes.joined(separator: "; "))): \(proposal.change)")
            }
            if slow.contains(where: { $0.hasPrefix("groups-window") }) {
                var refreshes: [Double] = []
                for index in 0..<3 {
                    let started = ContinuousClock.now
                    _ = try await psql.run("SET jit = off;\n" + Self.refreshWindowsSQL, name: "proposed-refresh-windows-\(index)")
                    let elapsed = ContinuousClock.now - started
                    refreshes.append(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
                }
                _ = try await psql.run("ANALYZE group_windows;", name: "proposed-analyze-windows")
                report += "\n===== group_windows refresh (once a minute)\n\(Self.refreshWindowsSQL)\n"
                say("  group_windows refresh (a minute's background work, incl. psql start): \(refreshes.map { String(format: "%.0f ms", $0) }.joined(separator: ", "))")
                for (name, column) in [("groups-window-1h", "last_1h"), ("groups-window-24h", "last_24h")] {
                    let query = proposedStoredWindow(column: column)
                    let plan = try await psql.run("SET jit = off;\nEXPLAIN (ANALYZE, BUFFERS) " + query, name: "proposed-stored-\(name)")
                    report += "\n===== \(name), read from group_windows\n\(query)\n\n\(plan)"
                    say("  \(name) from group_windows: \(String(format: "%.1f", Self.milliseconds(plan))) ms (\(Self.summary(plan)))")
                }
            }
        }
        try report.write(toFile: file, atomically: true, encoding: .utf8)
    }

    /// "planning 1.2 ms, execution 3.4 ms, JIT 15.8 ms" from a plan.
    static func summary(_ plan: String) -> String {
        var parts: [String] = []
        for (label, key) in [("planning", "Planning Time:"), ("execution", "Execution Time:"), ("JIT", "Total ")] {
            if let value = value(after: key, in: plan) { parts.append("\(label) \(String(format: "%.1f", value)) ms") }
        }
        return parts.joined(separator: ", ")
    }

    static func milliseconds(_ plan: String) -> Double {
        (value(after: "Planning Time:", in: plan) ?? 0) + (value(after: "Execution Time:", in: plan) ?? 0)
    }

    private static func value(after key: String, in plan: String) -> Double? {
        guard let line = plan.split(separator: "\n").last(where: { $0.contains(key) }), let range = line.range(of: key, options: .backwards) else { return nil }
        return Double(line[range.upperBound...].trimmingCharacters(in: .whitespaces).prefix { $0.isNumber || $0 == "." })
    }

    // MARK: Proposed fixes

    struct Proposal {
        var change: String
        var queries: [String]
    }

    static let proposedSchemaSummary =
        "covering index on groups (team, service), pg_trgm GIN indexes on the 4 searched columns, an hourly rollup of group_counts, group_windows"

    /// What the proposals need. The rollup is filled here from the history; the hub would keep it
    /// in `FederationApply`, beside `group_counts` (the same upsert, with `date_trunc('hour', ...)`),
    /// partitioned and dropped with it.
    static let proposedSchemaSQL = """
        SET maintenance_work_mem = '256MB';
        CREATE INDEX groups_team_service_total ON groups (team, service) INCLUDE (total, last_seen);
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX groups_message_trgm ON groups USING gin (message gin_trgm_ops);
        CREATE INDEX groups_stacktrace_trgm ON groups USING gin (stacktrace gin_trgm_ops);
        CREATE INDEX groups_class_trgm ON groups USING gin (class gin_trgm_ops);
        CREATE INDEX groups_key_trgm ON groups USING gin (aggregation_key gin_trgm_ops);
        CREATE TABLE group_counts_hourly (group_id bigint NOT NULL, hour timestamptz NOT NULL, count bigint NOT NULL, PRIMARY KEY (group_id, hour));
        INSERT INTO group_counts_hourly SELECT group_id, date_trunc('hour', minute), sum(count) FROM group_counts GROUP BY 1, 2;
        CREATE INDEX group_counts_hourly_hour ON group_counts_hourly (hour) INCLUDE (group_id, count);
        CREATE TABLE group_windows (group_id bigint PRIMARY KEY, last_1h bigint NOT NULL DEFAULT 0, last_24h bigint NOT NULL);
        CREATE INDEX group_windows_1h ON group_windows (last_1h DESC, group_id DESC);
        CREATE INDEX group_windows_24h ON group_windows (last_24h DESC, group_id DESC);
        VACUUM (ANALYZE) groups, group_counts_hourly;
        """

    /// The status filter on plain columns, so that the planner estimates it (the CASE is opaque to it).
    static let unresolvedPredicate = "(g.status = 'unresolved' OR (g.status = 'ignored' AND g.ignored_until <= now()))"

    static let listColumns = """
        g.id, g.team, g.service, g.aggregation_key, g.class, g.message, g.severity, g.first_seen, g.last_seen, g.total,
               CASE WHEN g.status = 'ignored' AND g.ignored_until <= now() THEN 'unresolved' ELSE g.status END AS status
        """

    /// The list sorted by the column itself (the index order), with the window count computed for
    /// the page's rows only, from the window's start bound as a value (computed in Swift, not
    /// `now() - ...`): PostgreSQL then prunes the day partitions when it plans, not at run time,
    /// which saves most of the planning time.
    func proposedList(where conditions: [String] = [], order: String = "g.last_seen DESC NULLS LAST, g.id DESC") -> String {
        """
        SELECT \(Self.listColumns),
               (SELECT coalesce(sum(c.count), 0) FROM group_counts c WHERE c.group_id = g.id AND c.minute >= \(timestamp(Date().addingTimeInterval(-3600))))::int8 AS window_count
        FROM groups g
        WHERE \((["true"] + conditions).joined(separator: " AND "))
        ORDER BY \(order) LIMIT 51
        """
    }

    /// Occurrences in the window from whole hours of the rollup and the minutes at both ends
    /// (bounds computed in Swift, so that partitions are pruned when planning); the page's rows
    /// joined one by one in that order.
    func proposedWindow(seconds: Int) -> String {
        let now = Date()
        let start = now.addingTimeInterval(-Double(seconds))
        let firstHour = Date(timeIntervalSince1970: (start.timeIntervalSince1970 / 3600).rounded(.up) * 3600)
        let lastHour = max(firstHour, Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 3600).rounded(.down) * 3600))
        return """
            WITH w AS MATERIALIZED (
                SELECT group_id, sum(count)::int8 AS count FROM (
                    SELECT group_id, count FROM group_counts_hourly WHERE hour >= \(timestamp(firstHour)) AND hour < \(timestamp(lastHour))
                    UNION ALL
                    SELECT group_id, count FROM group_counts WHERE minute >= \(timestamp(start)) AND minute < \(timestamp(firstHour))
                    UNION ALL
                    SELECT group_id, count FROM group_counts WHERE minute >= \(timestamp(lastHour))
                ) x GROUP BY group_id
            )
            SELECT g.*, w.count AS window_count
            FROM (SELECT * FROM w ORDER BY count DESC, group_id DESC) w
            CROSS JOIN LATERAL (SELECT \(Self.listColumns) FROM groups g WHERE g.id = w.group_id) g
            ORDER BY w.count DESC, w.group_id DESC LIMIT 51
            """
    }

    /// The standard windows kept per group in `group_windows`, refreshed every minute (`refreshWindowsSQL`).
    func proposedStoredWindow(column: String) -> String {
        """
        SELECT g.*, w.\(column) AS window_count
        FROM group_windows w CROSS JOIN LATERAL (SELECT \(Self.listColumns) FROM groups g WHERE g.id = w.group_id) g
        ORDER BY w.\(column) DESC, w.group_id DESC LIMIT 51
        """
    }

    /// What a once-a-minute service would run: the 1h and 24h counts of every group that occurred
    /// in the last 24 hours, from the rollup and the minutes at the ends, in one transaction.
    static let refreshWindowsSQL = """
        BEGIN;
        DELETE FROM group_windows;
        INSERT INTO group_windows (group_id, last_1h, last_24h)
        SELECT group_id, coalesce(sum(count) FILTER (WHERE at >= now() - interval '1 hour'), 0), sum(count) FROM (
            SELECT group_id, hour + interval '59 minutes' AS at, count FROM group_counts_hourly
            WHERE hour >= date_trunc('hour', now() - interval '24 hours') + interval '1 hour' AND hour < date_trunc('hour', now() - interval '1 hour')
            UNION ALL
            SELECT group_id, minute, count FROM group_counts WHERE minute >= now() - interval '24 hours' AND minute < date_trunc('hour', now() - interval '24 hours') + interval '1 hour'
            UNION ALL
            SELECT group_id, minute, count FROM group_counts WHERE minute >= date_trunc('hour', now() - interval '1 hour')
        ) x GROUP BY group_id;
        COMMIT;
        """

    func proposal(_ endpoint: String) -> Proposal? {
        let t = literal(team)
        switch endpoint {
        case "teams":
            return Proposal(
                change: "one pass over the covering index (team, service) INCLUDE (total, last_seen)",
                queries: [
                    """
                    SELECT team, coalesce(l.leaves, 0)::int8, coalesce(g.services, 0)::int8, coalesce(g.groups, 0)::int8, coalesce(g.total, 0)::int8
                    FROM (SELECT team, count(*) AS services, sum(n) AS groups, sum(t) AS total
                          FROM (SELECT team, service, count(*) AS n, sum(total) AS t FROM groups GROUP BY team, service) s GROUP BY team) g
                    FULL JOIN (SELECT team, count(*) AS leaves FROM leaves GROUP BY team) l USING (team)
                    WHERE team <> '' ORDER BY team
                    """
                ])
        case "services":
            return Proposal(
                change: "one GROUP BY on the covering index; and the route calls teams() only when the team has no services",
                queries: [
                    """
                    SELECT service, coalesce(t.total, 0)::int8, coalesce(t.up, 0)::int8, coalesce(g.groups, 0)::int8, coalesce(g.occurrences, 0)::int8, g.last_seen
                    FROM (SELECT service, count(*) AS groups, sum(total) AS occurrences, max(last_seen) AS last_seen FROM groups WHERE team = \(t) GROUP BY service) g
                    FULL JOIN (SELECT ls.service, sum(ls.targets_total) AS total, sum(ls.targets_up) AS up
                               FROM leaf_services ls JOIN leaves l ON l.id = ls.leaf_id WHERE l.team = \(t) GROUP BY ls.service) t USING (service)
                    ORDER BY service
                    """
                ])
        case "groups":
            return Proposal(change: "ORDER BY g.last_seen DESC NULLS LAST, g.id DESC (index groups_last_seen); window count per row", queries: [proposedList()])
        case "groups-team-service":
            return Proposal(
                change: "the same, on index groups_team_last_seen",
                queries: [proposedList(where: ["g.team = \(t)", "g.service = \(literal(service))"])])
        case "groups-severity-status":
            return Proposal(
                change: "status as \(Self.unresolvedPredicate), so that the planner walks groups_last_seen",
                queries: [proposedList(where: ["g.severity = 1", Self.unresolvedPredicate])])
        case "groups-total":
            return Proposal(change: "ORDER BY g.total DESC, g.id DESC (index groups_total)", queries: [proposedList(order: "g.total DESC, g.id DESC")])
        case "groups-window-1h":
            return Proposal(
                change: "aggregate the window first (bounds as values), join the page's groups by id; or read group_windows (below)",
                queries: [proposedWindow(seconds: 3600)])
        case "groups-window-24h":
            return Proposal(
                change: "whole hours from group_counts_hourly, minutes at the ends, join the page's groups by id; or read group_windows (below)",
                queries: [proposedWindow(seconds: 86400)])
        case "groups-text":
            let pattern = literal("%" + searchText + "%")
            let match = "(message ILIKE \(pattern) OR stacktrace ILIKE \(pattern) OR class ILIKE \(pattern) OR aggregation_key ILIKE \(pattern))"
            return Proposal(
                change: "pg_trgm GIN indexes; first at most 1001 matching ids (a bitmap scan when the text is rare, an early stop when common), "
                    + "then sort those (below 1001) or walk groups_last_seen with the filter (1001: the text is common, the walk stops soon)",
                queries: [
                    "SELECT id FROM groups WHERE \(match) LIMIT 1001",
                    proposedList(
                        where: ["g.id IN (SELECT id FROM groups WHERE \(match.replacingOccurrences(of: "(message", with: "(groups.message")) LIMIT 1001)"]),
                ])
        case "groups-last-seen-7d":
            return Proposal(
                change: "range scan of groups_last_seen", queries: [proposedList(where: ["g.last_seen >= now() - interval '7 days'"])])
        case "groups-page-21":
            guard let (value, id) = Self.decode(cursor: cursor), let seconds = Double(value) else { return nil }
            return Proposal(
                change: "cursor as (g.last_seen, g.id) < ($time, $id) on groups_last_seen",
                queries: [proposedList(where: ["(g.last_seen, g.id) < (to_timestamp(\(seconds)), \(id)::int8)"])])
        case "occurrences-30d-1h", "occurrences-1h-1m":
            let hourly = endpoint == "occurrences-30d-1h"
            let to = Date()
            let from = to.addingTimeInterval(hourly ? -30 * 86400 : -3600)
            return Proposal(
                change: "SELECT 1 instead of the whole group (4 queries) to check it exists; "
                    + (hourly ? "steps of whole hours from group_counts_hourly" : "date_bin instead of numeric extract(epoch)"),
                queries: [
                    "SELECT 1 FROM groups WHERE id = \(hotGroup)",
                    hourly
                        ? "SELECT hour, sum(count)::int8 FROM group_counts_hourly WHERE group_id = \(hotGroup) AND hour >= \(timestamp(from)) AND hour < \(timestamp(to)) GROUP BY hour ORDER BY hour"
                        : "SELECT date_bin(interval '60 seconds', minute, timestamptz '1970-01-01Z') AS bucket, sum(count)::int8 FROM group_counts WHERE group_id = \(hotGroup) AND minute >= \(timestamp(from)) AND minute < \(timestamp(to)) GROUP BY bucket ORDER BY bucket",
                ])
        default:
            return nil
        }
    }

    // MARK: The hub's SQL, as HubQueries builds it

    static let effectiveStatus = "CASE WHEN g.status = 'ignored' AND g.ignored_until <= now() THEN 'unresolved' ELSE g.status END"

    static let teamsSQL = """
        SELECT t.team,
               (SELECT count(*) FROM leaves l WHERE l.team = t.team),
               (SELECT count(DISTINCT service) FROM groups g WHERE g.team = t.team),
               (SELECT count(*) FROM groups g WHERE g.team = t.team),
               (SELECT coalesce(sum(total), 0)::int8 FROM groups g WHERE g.team = t.team)
        FROM (SELECT team FROM leaves UNION SELECT DISTINCT team FROM groups) t
        WHERE t.team <> ''
        ORDER BY t.team
        """

    var servicesSQL: String {
        let t = literal(team)
        return """
            SELECT s.service,
                   coalesce((SELECT sum(targets_total) FROM leaf_services ls JOIN leaves l ON l.id = ls.leaf_id WHERE l.team = \(t) AND ls.service = s.service), 0)::int8,
                   coalesce((SELECT sum(targets_up) FROM leaf_services ls JOIN leaves l ON l.id = ls.leaf_id WHERE l.team = \(t) AND ls.service = s.service), 0)::int8,
                   (SELECT count(*) FROM groups g WHERE g.team = \(t) AND g.service = s.service),
                   (SELECT coalesce(sum(total), 0)::int8 FROM groups g WHERE g.team = \(t) AND g.service = s.service),
                   (SELECT max(last_seen) FROM groups g WHERE g.team = \(t) AND g.service = s.service)
            FROM (SELECT service FROM groups WHERE team = \(t)
                  UNION SELECT ls.service FROM leaf_services ls JOIN leaves l ON l.id = ls.leaf_id WHERE l.team = \(t)) s
            ORDER BY s.service
            """
    }

    func groupsSQL(
        team: String? = nil, service: String? = nil, severity: Int? = nil, status: String? = nil, text: String? = nil, lastSeenFrom: Date? = nil,
        sort: String = "last_seen", window: Int = 3600, cursor: String? = nil, limit: Int = 50
    ) -> String {
        var sql = """
            SELECT g.id, g.team, g.service, g.aggregation_key, g.class, g.message, g.severity, g.first_seen, g.last_seen, g.total,
                   \(Self.effectiveStatus) AS status, coalesce(w.count, 0)::int8 AS window_count
            FROM groups g
            LEFT JOIN (SELECT group_id, sum(count) AS count FROM group_counts WHERE minute >= now() - make_interval(secs => \(window)) GROUP BY group_id) w
                   ON w.group_id = g.id
            WHERE true
            """
        if let team { sql += " AND g.team = \(literal(team))" }
        if let service { sql += " AND g.service = \(literal(service))" }
        if let severity { sql += " AND g.severity = \(severity)" }
        if let status { sql += " AND \(Self.effectiveStatus) = \(literal(status))" }
        if let text {
            let pattern = literal("%" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%")
            sql += " AND (g.message ILIKE \(pattern) OR g.stacktrace ILIKE \(pattern) OR g.class ILIKE \(pattern) OR g.aggregation_key ILIKE \(pattern))"
        }
        if let lastSeenFrom { sql += " AND g.last_seen >= \(timestamp(lastSeenFrom))" }
        let sortExpression: String
        switch sort {
        case "first_seen": sortExpression = "coalesce(extract(epoch FROM g.first_seen), 0)::float8"
        case "total": sortExpression = "g.total::float8"
        case "window": sortExpression = "coalesce(w.count, 0)::float8"
        default: sortExpression = "coalesce(extract(epoch FROM g.last_seen), 0)::float8"
        }
        if let cursor, let (value, id) = Self.decode(cursor: cursor) {
            sql += " AND (\(sortExpression), g.id) < (\(value)::float8, \(id)::int8)"
        }
        sql += " ORDER BY \(sortExpression) DESC, g.id DESC LIMIT \(limit + 1)"
        return sql
    }

    var groupSQL: [String] {
        [
            """
            SELECT g.id, g.team, g.service, g.aggregation_key, g.class, g.message, g.severity, g.first_seen, g.last_seen, g.total,
                   \(Self.effectiveStatus), g.status_changed_at, g.status_changed_by, g.ignored_until, g.ignored_until_total, g.stacktrace
            FROM groups g WHERE g.id = \(hotGroup)
            """,
            "SELECT sample::text FROM samples WHERE group_id = \(hotGroup) ORDER BY time DESC NULLS LAST, uuid",
            "SELECT at, actor, from_status, to_status, ignored_until, ignored_until_total, comment FROM status_changes WHERE group_id = \(hotGroup) ORDER BY at DESC, id DESC LIMIT 100",
            "SELECT l.job, l.url, c.last_total FROM cursors c JOIN leaves l ON l.id = c.leaf_id WHERE c.group_id = \(hotGroup) ORDER BY l.job",
        ]
    }

    func occurrencesSQL(range: Int, step: Int) -> String {
        let to = Date()
        return """
            SELECT to_timestamp(floor(extract(epoch FROM minute) / \(step)) * \(step)) AS bucket, sum(count)::int8
            FROM group_counts WHERE group_id = \(hotGroup) AND minute >= \(timestamp(to.addingTimeInterval(-Double(range)))) AND minute < \(timestamp(to))
            GROUP BY bucket ORDER BY bucket
            """
    }

    static func decode(cursor: String) -> (String, String)? {
        guard let data = Data(base64Encoded: cursor), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: "|")
        guard parts.count == 2 else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    private func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    private func timestamp(_ date: Date) -> String {
        "timestamptz '" + date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt)) + "'"
    }
}
