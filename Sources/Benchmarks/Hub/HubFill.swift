import Foundation

/// The SQL that fills a hub's database like a large organisation's, written with
/// `generate_series` and deterministic hashes (`hashint8extended`), so that every run builds the
/// same data. The schema is the hub's own (`Sources/Hub/Store/Schema.swift`); only rows are added.
///
/// - 8 teams × 20 services; groups with realistic keys, classes, messages and stack traces of a
///   few hundred bytes; severities and statuses mixed.
/// - Minute history (`group_counts`), sparse as in life: the hot groups occur every minute, the
///   warm ones in about a quarter of the hours, every other group on some minutes of some days of
///   its lifetime (first and last seen spread over the history, a quarter born before it, a fifth
///   still occurring): about 5% of the groups occur in a given hour. Written in time order, as
///   the hub writes it, so that the tables' pages hold minutes as they do in production.
/// - Totals, first and last seen agree with the history (plus what came before it); 3 samples
///   per group stored as the hub stores them (`ErrorWithContext` as jsonb); cursors of 10
///   leaves; status changes; the snapshot log of every leaf every 15 seconds.
struct HubFill: Sendable {
    struct Shape: Sendable {
        var groups: Int
        var days: Int
        var hotGroups: Int
        var warmGroups: Int
    }

    let shape: Shape
    /// The current minute: history covers `[start, now)`.
    let now: Date

    init(shape: Shape, now: Date) {
        self.shape = shape
        self.now = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / 60).rounded(.down) * 60)
    }

    var minutes: Int { shape.days * 1440 }
    var start: Date { now.addingTimeInterval(-Double(minutes) * 60) }
    private var lastWarm: Int { shape.hotGroups + shape.warmGroups }

    static let teams = ["payments", "checkout", "search", "identity", "catalog", "messaging", "platform", "data"]
    static let services = [
        "api", "worker", "gateway", "scheduler", "billing", "notifier", "indexer", "ingest", "auth", "export",
        "import", "web", "cron", "cache", "router", "sync", "reports", "webhooks", "admin", "stream",
    ]
    static let classes = [
        "java.lang.NullPointerException", "java.lang.IllegalStateException", "java.lang.IllegalArgumentException",
        "java.util.concurrent.TimeoutException", "java.net.SocketTimeoutException", "java.net.ConnectException", "java.io.IOException",
        "java.sql.SQLTransientConnectionException", "org.postgresql.util.PSQLException", "com.fasterxml.jackson.core.JsonParseException",
        "com.fasterxml.jackson.databind.exc.MismatchedInputException", "scala.MatchError", "akka.pattern.AskTimeoutException",
        "akka.stream.StreamTcpException", "io.grpc.StatusRuntimeException", "org.apache.kafka.common.errors.TimeoutException",
        "redis.clients.jedis.exceptions.JedisConnectionException", "javax.net.ssl.SSLHandshakeException",
        "java.lang.ArrayIndexOutOfBoundsException", "java.lang.NumberFormatException", "java.util.NoSuchElementException",
        "java.lang.UnsupportedOperationException", "java.lang.OutOfMemoryError", "java.lang.ClassCastException",
        "com.acme.errors.PaymentDeclinedException", "com.acme.errors.RateLimitExceededException", "com.acme.errors.TenantNotFoundException",
        "com.acme.errors.ValidationException", "com.acme.errors.UpstreamUnavailableException", "com.acme.errors.ConflictException",
        "KeyError", "ValueError", "TypeError", "requests.exceptions.ConnectionError", "sqlalchemy.exc.OperationalError",
        "*errors.errorString", "*url.Error", "context.deadlineExceededError", "NoMethodError", "ActiveRecord::RecordNotFound",
    ]
    static let modules = [
        "LedgerService", "OrderController", "SessionStore", "InventoryClient", "SearchIndexer", "PaymentGateway", "RetryPolicy",
        "HttpServerHandler", "KafkaConsumerLoop", "JdbcTemplate", "CacheLoader", "TokenValidator", "ReportBuilder", "WebhookDispatcher",
        "SchedulerTick", "PricingEngine", "FeatureFlags", "AuditLog", "RateLimiter", "CsvExporter", "LedgerReconciler", "ShipmentTracker",
        "NotificationSender", "UserRepository", "ConfigWatcher",
    ]
    static let methods = ["handle", "apply", "process", "run", "fetch", "load", "validate", "execute", "dispatch", "commit", "parse", "render", "lookup", "retry", "onMessage"]
    static let people = ["alice@acme.example", "bob@acme.example", "carol@acme.example", "oncall-bot"]
    /// A frame in 1 group of 200: what `?q=` searches for.
    static let rareFrame = "BatchSettlementJob"
    static let leaves = 10

    /// Session set-up for every script: the hash helpers live in the session's own schema, so the
    /// hub's database keeps nothing of the benchmark but rows.
    var preamble: String {
        #"""
        SET synchronous_commit = off;
        CREATE FUNCTION pg_temp.h(x bigint, salt bigint) RETURNS bigint LANGUAGE sql IMMUTABLE
            AS 'SELECT hashint8extended(x, salt) & 2147483647';
        CREATE FUNCTION pg_temp.u(x bigint, salt bigint) RETURNS float8 LANGUAGE sql IMMUTABLE
            AS 'SELECT (hashint8extended(x, salt) & 2147483647)::float8 / 2147483648.0';
        CREATE FUNCTION pg_temp.life_start(g bigint) RETURNS int LANGUAGE sql IMMUTABLE
            AS 'SELECT CASE WHEN pg_temp.u(g, 10) < 0.25 THEN 0 ELSE floor(pg_temp.u(g, 11) * \#(minutes))::int END';
        CREATE FUNCTION pg_temp.life_end(g bigint) RETURNS int LANGUAGE sql IMMUTABLE
            AS 'SELECT CASE WHEN pg_temp.u(g, 13) < 0.2 THEN \#(minutes * 10)
                       ELSE pg_temp.life_start(g) + floor((\#(minutes) - pg_temp.life_start(g)) * power(pg_temp.u(g, 12), 0.7))::int END';

        """#
    }

    /// The UTC days that hold history, oldest first: one `group_counts` partition each.
    var days: [Date] {
        var days: [Date] = []
        var day = Self.calendar.startOfDay(for: start)
        while day < now {
            days.append(day)
            day = day.addingTimeInterval(86400)
        }
        return days
    }

    /// Partitions (as `Retention.ensurePartitions` names them), the leaves and their services.
    var setupSQL: String {
        var text = preamble
        for day in days {
            for table in ["group_counts", "series_counts"] {
                text += "CREATE TABLE IF NOT EXISTS \(Self.partitionName(day, table: table)) PARTITION OF \(table) FOR VALUES FROM ('\(Self.iso(day))') TO ('\(Self.iso(day.addingTimeInterval(86400)))');\n"
            }
        }
        text += #"""
            INSERT INTO leaves (id, url, job, name, team, epoch, started_at, external_labels, first_scrape, last_applied)
            SELECT i, format('http://127.0.0.1:%s/api/v1/federate', i), 'leaf-' || t || CASE WHEN i > 8 THEN '-us' ELSE '' END,
                   t || CASE WHEN i > 8 THEN '-us' ELSE '-eu' END, t, md5('epoch' || i)::uuid::text, \#(sql(now)) - i * interval '7 hours',
                   jsonb_build_object('team', t, 'region', CASE WHEN i > 8 THEN 'us-east-1' ELSE 'eu-west-1' END),
                   \#(sql(start)) - interval '60 days', \#(sql(now)) - interval '20 seconds'
            FROM generate_series(1, \#(Self.leaves)) i, LATERAL (SELECT (\#(array(Self.teams)))[1 + (i - 1) % 8] AS t) x;
            SELECT setval('leaves_id_seq', \#(Self.leaves));
            INSERT INTO leaf_services (leaf_id, service, targets_total, targets_up)
            SELECT l.id, l.team || '-' || s, 2 + pg_temp.h(l.id * 100 + n, 41) % 10,
                   2 + pg_temp.h(l.id * 100 + n, 41) % 10 - CASE WHEN pg_temp.h(l.id * 100 + n, 42) % 7 = 0 THEN 1 ELSE 0 END
            FROM leaves l, unnest(\#(array(Self.services))) WITH ORDINALITY AS x(s, n);

            """#
        return text
    }

    /// One day's minute history. Rows of a day go to one partition, whose indexes stay in memory
    /// while it fills.
    func countsSQL(day: Date) -> String {
        let first = max(0, Int(day.timeIntervalSince(start)) / 60)
        let end = min(minutes, Int(day.addingTimeInterval(86400).timeIntervalSince(start)) / 60)
        return countsSQL(first: first, end: end, dayKey: Int(day.timeIntervalSince1970 / 86400)) + """
            INSERT INTO group_counts_hourly (group_id, hour, count)
            SELECT group_id, date_trunc('hour', minute, 'UTC'), sum(count) FROM group_counts
            WHERE minute >= \(sql(day)) AND minute < \(sql(day.addingTimeInterval(86400))) GROUP BY 1, 2;

            """
    }

    /// The minutes since `now` (while the fill ran), for the groups still occurring, and what they
    /// add to their groups, as the hub's scrapes would have written them: so that a window of the
    /// last hour holds a whole hour when the measurement starts.
    func topUpSQL(until current: Date) -> String {
        let end = minutes + max(0, Int(current.timeIntervalSince(now)) / 60)
        guard end > minutes else { return preamble }
        return preamble + countsSQL(first: minutes, end: end, dayKey: 0) + """
            WITH added AS (SELECT group_id, max(minute) AS last_minute, sum(count) AS total FROM group_counts WHERE minute >= \(sql(now)) GROUP BY group_id)
            UPDATE groups g SET total = g.total + a.total, last_seen = greatest(g.last_seen, least(now(), a.last_minute + interval '59 seconds'))
            FROM added a WHERE a.group_id = g.id;
            INSERT INTO group_counts_hourly (group_id, hour, count)
            SELECT group_id, date_trunc('hour', minute, 'UTC'), sum(count) FROM group_counts WHERE minute >= \(sql(now)) GROUP BY 1, 2
            ON CONFLICT (group_id, hour) DO UPDATE SET count = group_counts_hourly.count + EXCLUDED.count;
            INSERT INTO series_counts (series_id, minute, count)
            SELECT s.id, c.minute, c.count FROM group_counts c JOIN series s ON s.group_id = c.group_id WHERE c.minute >= \(sql(now))
            ON CONFLICT (series_id, minute) DO UPDATE SET count = EXCLUDED.count;
            UPDATE series s SET total = g.total FROM groups g WHERE g.id = s.group_id AND s.total <> g.total;

            """
    }

    /// One series per group, with an `env` label (a third of the groups staging), holding the
    /// group's history: what the query benchmarks select and sum.
    static let seriesSQL = """
        INSERT INTO series (group_id, labels, total)
        SELECT id, jsonb_build_object('env', CASE WHEN id % 3 = 0 THEN 'staging' ELSE 'prod' END), total FROM groups;
        INSERT INTO series_counts (series_id, minute, count)
        SELECT s.id, c.minute, c.count FROM group_counts c JOIN series s ON s.group_id = c.group_id ORDER BY c.minute;

        """

    /// History rows for the minutes `[first, end)` after `start`: a group that is not hot or warm
    /// occurs on 0 to 12 minutes per whole day of its lifetime (fewer on a partial day).
    private func countsSQL(first: Int, end: Int, dayKey: Int) -> String {
        let origin = sql(start)
        return #"""
            INSERT INTO group_counts (group_id, minute, count)
            SELECT * FROM (
            SELECT g, \#(origin) + o * interval '1 minute' AS minute, 1 + pg_temp.h(g * 100000 + o, 21) % 40
            FROM generate_series(1::int8, \#(shape.hotGroups)) g CROSS JOIN generate_series(\#(first), \#(end - 1)) o
            UNION ALL
            SELECT g, \#(origin) + (hr * 60 + (pg_temp.h(g * 1000 + hr, 24) + j * 7) % 60) * interval '1 minute', 1 + pg_temp.h(g * 1000 + hr + j, 25) % 10
            FROM generate_series(\#(shape.hotGroups + 1)::int8, \#(lastWarm)) g
            CROSS JOIN generate_series(\#(first / 60), \#((end - 1) / 60)) hr
            CROSS JOIN LATERAL generate_series(0, pg_temp.h(g * 1000 + hr, 23) % 9) j
            WHERE pg_temp.h(g * 1000 + hr, 22) % 4 = 0
              AND hr * 60 + (pg_temp.h(g * 1000 + hr, 24) + j * 7) % 60 >= \#(first)
              AND hr * 60 + (pg_temp.h(g * 1000 + hr, 24) + j * 7) % 60 < \#(end)
            UNION ALL
            SELECT c.g, \#(origin) + (c.lo + (pg_temp.h(c.g * 100000 + \#(dayKey), 31) + j * 7919) % (c.hi - c.lo)) * interval '1 minute',
                   1 + pg_temp.h(c.g * 100000 + \#(dayKey) + j, 33) % 3
            FROM (SELECT g, greatest(\#(first), pg_temp.life_start(g)) AS lo, least(\#(end), pg_temp.life_end(g) + 1) AS hi
                  FROM generate_series(\#(lastWarm + 1)::int8, \#(shape.groups)) g) c
            CROSS JOIN LATERAL generate_series(1, least(
                floor((pg_temp.h(c.g * 100000 + \#(dayKey), 32) % 13) * (c.hi - c.lo) / 1440.0 + pg_temp.u(c.g * 100000 + \#(dayKey), 34))::int8, c.hi - c.lo)) j
            WHERE c.hi > c.lo
            ) r ORDER BY minute;

            """#
    }

    /// The groups, with totals, first and last seen taken from the history just written.
    var groupsSQL: String {
        let origin = sql(start)
        let message = #"""
            CASE pg_temp.h(b.id, 3) % 8
                WHEN 0 THEN format('Timed out after %s ms waiting for %s (attempt %s of 3)', 500 + pg_temp.h(b.id, 30) % 29500, b.other, 1 + b.id % 3)
                WHEN 1 THEN format('Connection refused: %s.internal.acme.example:%s', b.other, 5000 + pg_temp.h(b.id, 30) % 4000)
                WHEN 2 THEN format('duplicate key value violates unique constraint "%s_pkey" (key id=%s)', b.svc, pg_temp.h(b.id, 30))
                WHEN 3 THEN format('Unexpected character (''<'' (code 60)): expected a valid value at line %s column %s', 1 + b.id % 40, 1 + pg_temp.h(b.id, 30) % 120)
                WHEN 4 THEN format('Cannot invoke "%s.%s()" because the return value of "%s.get()" is null', b.other, 'getId', b.svc)
                WHEN 5 THEN format('Request to https://%s.acme.example/api/v2/orders/%s failed with status %s', b.other, pg_temp.h(b.id, 30) % 1000000, (ARRAY[500, 502, 503, 504, 429])[1 + b.id % 5])
                WHEN 6 THEN format('No route to shard %s for tenant t-%s after %s retries', pg_temp.h(b.id, 30) % 64, pg_temp.h(b.id, 31) % 100000, 1 + b.id % 5)
                ELSE format('Deadline exceeded while calling %s.%s (budget %s ms)', b.other, 'Get' || initcap(b.svc), 100 + pg_temp.h(b.id, 30) % 900)
            END
            """#
        let stacktrace = #"""
            (SELECT string_agg(format(E'\tat com.acme.%s.%s.%s.%s(%s.scala:%s)', b.team, replace(b.svc, '-', ''), lower(f.m), f.m || '.' || f.meth, f.m, f.line), E'\n' ORDER BY f.j)
             FROM (SELECT j, (\#(array(Self.modules)))[1 + pg_temp.h(b.id * 16 + j, 6) % \#(Self.modules.count)] AS m,
                          (\#(array(Self.methods)))[1 + pg_temp.h(b.id * 16 + j, 7) % \#(Self.methods.count)] AS meth,
                          10 + pg_temp.h(b.id * 16 + j, 8) % 900 AS line
                   FROM generate_series(0, 3 + pg_temp.h(b.id, 5) % 5) j) f)
            || CASE WHEN pg_temp.h(b.id, 9) % 200 = 0 THEN E'\n\tat com.acme.legacy.\#(Self.rareFrame).settle(\#(Self.rareFrame).scala:77)' ELSE '' END
            || E'\n\tat akka.actor.ActorCell.receiveMessage(ActorCell.scala:588)\n\tat akka.dispatch.Mailbox.run(Mailbox.scala:229)\n\tat java.base/java.util.concurrent.ForkJoinTask.doExec(ForkJoinTask.java:373)'
            """#
        return preamble + #"""
            CREATE TEMP TABLE history AS
                SELECT group_id, min(minute) AS first_minute, max(minute) AS last_minute, sum(count)::int8 AS total FROM group_counts GROUP BY group_id;
            ANALYZE history;
            WITH base AS (
                SELECT id, (\#(array(Self.teams)))[1 + id % 8] AS team,
                       (\#(array(Self.services)))[1 + floor(20 * power(pg_temp.u(id, 1), 1.5))::int] AS svc,
                       (\#(array(Self.services)))[1 + pg_temp.h(id, 29) % 20] AS other,
                       (\#(array(Self.classes)))[1 + floor(\#(Self.classes.count) * power(pg_temp.u(id, 2), 2))::int] AS cls,
                       pg_temp.u(id, 4) AS severity_u, pg_temp.u(id, 15) AS status_u,
                       id <= \#(lastWarm) AS always, pg_temp.u(id, 10) < 0.25 AS before,
                       pg_temp.life_start(id) AS s, pg_temp.life_end(id) AS e
                FROM generate_series(1::int8, \#(shape.groups)) id
            ), shaped AS (
                SELECT b.id, b.team, b.team || '-' || b.svc AS service, b.cls, b.severity_u, b.status_u,
                       \#(message) AS message,
                       \#(stacktrace) AS stacktrace,
                       CASE WHEN b.always THEN \#(origin) - (1 + pg_temp.u(b.id, 14) * 60) * interval '1 day'
                            WHEN b.before THEN \#(origin) - interval '1 minute' - pg_temp.u(b.id, 14) * interval '90 days'
                            ELSE \#(origin) + b.s * interval '1 minute' + pg_temp.h(b.id, 16) % 60 * interval '1 second' END AS first_seen,
                       \#(origin) + b.e * interval '1 minute' + pg_temp.h(b.id, 17) % 60 * interval '1 second' AS last_seen,
                       CASE WHEN b.always OR b.before THEN 1 + pg_temp.h(b.id, 18) % 5000 ELSE 0 END AS before_total
                FROM base b
            ), counted AS (
                SELECT s.*, least(s.first_seen, h.first_minute) AS first_at, coalesce(h.last_minute + pg_temp.h(s.id, 19) % 60 * interval '1 second', s.last_seen) AS last_at,
                       greatest(1, coalesce(h.total, 0) + s.before_total) AS total,
                       CASE WHEN s.status_u < 0.78 THEN 'unresolved' WHEN s.status_u < 0.88 THEN 'resolved' WHEN s.status_u < 0.93 THEN 'regressed' ELSE 'ignored' END AS status
                FROM shaped s LEFT JOIN history h ON h.group_id = s.id
            )
            INSERT INTO groups (id, team, service, aggregation_key, class, message, stacktrace, severity, first_seen, last_seen, total, status,
                                resolved_total, ignored_until, ignored_until_total, status_changed_at, status_changed_by)
            SELECT id, team, service, cls || '@' || substr(md5(id::text), 1, 8), cls, message, stacktrace,
                   CASE WHEN severity_u < 0.7 THEN 2 WHEN severity_u < 0.9 THEN 1 ELSE 0 END, first_at, least(last_at, \#(sql(now))), total, status,
                   CASE status WHEN 'resolved' THEN total WHEN 'regressed' THEN greatest(0, total - 1 - pg_temp.h(id, 20) % 50) END,
                   CASE WHEN status = 'ignored' AND id % 2 = 0 THEN \#(sql(now)) + (1 + pg_temp.h(id, 21) % 14) * interval '1 day' END,
                   CASE WHEN status = 'ignored' AND id % 2 = 1 THEN total + 100 + pg_temp.h(id, 21) % 1000 END,
                   CASE WHEN status = 'resolved' THEN least(last_at, \#(sql(now))) + pg_temp.u(id, 22) * (\#(sql(now)) - least(last_at, \#(sql(now))))
                        WHEN status = 'regressed' THEN least(last_at, \#(sql(now)))
                        WHEN status = 'ignored' THEN first_at + pg_temp.u(id, 22) * (\#(sql(now)) - first_at) END,
                   CASE WHEN status = 'regressed' THEN 'canopy' WHEN status <> 'unresolved' THEN (\#(array(Self.people)))[1 + pg_temp.h(id, 23) % 4] END
            FROM counted;
            SELECT setval('groups_id_seq', \#(shape.groups));

            """#
    }

    /// Samples (3 per group, newest at last seen) and cursors (each group's team leaf; half of two
    /// teams' groups also at their second leaf).
    var samplesAndCursorsSQL: String {
        preamble + #"""
            INSERT INTO samples (group_id, uuid, time, leaf_id, sample)
            SELECT g.id, x.uuid, x.t, 1 + g.id % 8,
                   jsonb_build_object(
                       'uuid', x.uuid,
                       'timestamp', to_char(x.t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                       'severity', (ARRAY['info', 'warning', 'error'])[1 + g.severity],
                       'error', jsonb_build_object(
                           'class', g.class, 'message', g.message, 'stacktrace', to_jsonb(string_to_array(g.stacktrace, E'\n')),
                           'cause', CASE WHEN pg_temp.h(g.id, 60) % 3 = 0 THEN jsonb_build_object(
                               'class', 'java.net.SocketTimeoutException', 'message', 'Read timed out',
                               'stacktrace', jsonb_build_array(E'\tat java.base/sun.nio.ch.NioSocketImpl.timedRead(NioSocketImpl.java:288)',
                                                               E'\tat java.base/sun.nio.ch.NioSocketImpl.implRead(NioSocketImpl.java:314)'),
                               'cause', NULL) END),
                       'http_context', CASE WHEN pg_temp.h(g.id, 61) % 4 < 3 THEN jsonb_build_object(
                           'request_method', (ARRAY['GET', 'POST', 'PUT', 'DELETE'])[1 + pg_temp.h(g.id, 62) % 4],
                           'request_url', format('https://%s.acme.example/api/v2/orders/%s?expand=items', g.service, 100000 + pg_temp.h(g.id * 4 + x.j, 64) % 900000),
                           'request_headers', jsonb_build_object('accept', 'application/json', 'user-agent', 'acme-mobile/7.12.0 (iOS 18.1)',
                               'x-request-id', x.uuid, 'x-forwarded-for', format('10.%s.%s.%s', x.j, pg_temp.h(g.id, 65) % 256, pg_temp.h(g.id, 66) % 256)),
                           'request_body', NULL) END)
            FROM groups g CROSS JOIN LATERAL (
                SELECT j, md5(g.id || ':' || j)::uuid::text AS uuid,
                       greatest(g.first_seen, g.last_seen - j * (interval '1 minute' + pg_temp.h(g.id * 4 + j, 63) % 3600 * interval '1 second')) AS t
                FROM generate_series(0, 2) j) x;
            INSERT INTO cursors (leaf_id, group_id, epoch, last_total)
            SELECT l.id, g.id, l.epoch, g.total FROM groups g JOIN leaves l ON l.id = 1 + g.id % 8
            UNION ALL
            SELECT l.id, g.id, l.epoch, g.total / 3 FROM groups g JOIN leaves l ON l.id = 9 + g.id % 8 WHERE g.id % 8 < 2 AND pg_temp.h(g.id, 70) % 2 = 0;

            """#
    }

    /// Status changes behind each group's status, and the snapshot log: every leaf every 15 s.
    var logsSQL: String {
        preamble + #"""
            INSERT INTO status_changes (group_id, at, actor, from_status, to_status, ignored_until, ignored_until_total, comment)
            SELECT * FROM (
                SELECT id, status_changed_at - interval '3 days', (\#(array(Self.people)))[1 + pg_temp.h(id, 24) % 4], 'unresolved', 'resolved',
                       NULL::timestamptz, NULL::int8, 'fixed in release ' || (2025000 + pg_temp.h(id, 25) % 900)
                FROM groups WHERE status = 'regressed'
                UNION ALL
                SELECT id, status_changed_at, status_changed_by, CASE WHEN status = 'regressed' THEN 'resolved' ELSE 'unresolved' END, status,
                       ignored_until, ignored_until_total,
                       CASE status WHEN 'regressed' THEN 'occurred again after it was resolved' WHEN 'resolved' THEN 'fixed in release ' || (2025000 + pg_temp.h(id, 25) % 900)
                                   ELSE 'known issue, upstream ticket OPS-' || pg_temp.h(id, 26) % 10000 END
                FROM groups WHERE status <> 'unresolved'
            ) c ORDER BY 2;
            INSERT INTO scrapes (leaf_id, url, time, duration_seconds, outcome, error, epoch, groups_changed, occurrences_added)
            SELECT l.id, l.url, \#(sql(start)) + i * interval '15 seconds' + l.id * interval '1 second',
                   CASE WHEN r < 2 THEN 10.0 WHEN r < 4 THEN 0.001 WHEN r < 300 THEN 0.02 + pg_temp.h(k, 52) % 280 / 1000.0 ELSE 0.002 + pg_temp.h(k, 52) % 8 / 1000.0 END,
                   CASE WHEN r < 4 THEN 'failed' WHEN r < 300 THEN 'applied' ELSE 'unchanged' END,
                   CASE WHEN r < 2 THEN 'timed out after 10s' WHEN r < 4 THEN 'connection refused' END,
                   l.epoch,
                   CASE WHEN r >= 4 AND r < 300 THEN 1 + pg_temp.h(k, 53) % 40 ELSE 0 END,
                   CASE WHEN r >= 4 AND r < 300 THEN 1 + pg_temp.h(k, 54) % 500 ELSE 0 END
            FROM generate_series(0, \#(shape.days * 5760 - 1)) i CROSS JOIN leaves l
            CROSS JOIN LATERAL (SELECT i * 16 + l.id AS k, pg_temp.h(i * 16 + l.id, 51) % 1000 AS r) x
            ORDER BY i, l.id;

            """#
    }

    /// What was built, as `name|value` lines.
    static let statisticsSQL = """
        VACUUM (ANALYZE);
        SELECT 'groups|' || count(*) FROM groups;
        SELECT 'group_counts|' || count(*) FROM group_counts;
        SELECT 'group_counts_hourly|' || count(*) FROM group_counts_hourly;
        SELECT 'samples|' || count(*) FROM samples;
        SELECT 'cursors|' || count(*) FROM cursors;
        SELECT 'series|' || count(*) FROM series;
        SELECT 'series_counts|' || count(*) FROM series_counts;
        SELECT 'status_changes|' || count(*) FROM status_changes;
        SELECT 'scrapes|' || count(*) FROM scrapes;
        SELECT 'partitions|' || count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'group_counts';
        SELECT 'size database|' || pg_size_pretty(pg_database_size(current_database()));
        SELECT 'size groups|' || pg_size_pretty(pg_total_relation_size('groups'));
        SELECT 'size group_counts|' || pg_size_pretty(sum(pg_total_relation_size(i.inhrelid))) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'group_counts';
        SELECT 'size samples|' || pg_size_pretty(pg_total_relation_size('samples'));
        SELECT 'size scrapes|' || pg_size_pretty(pg_total_relation_size('scrapes'));
        SELECT 'active groups in the last hour|' || count(DISTINCT group_id) FROM group_counts WHERE minute >= now() - interval '1 hour';
        SELECT 'history rows in the last 24h|' || count(*) FROM group_counts WHERE minute >= now() - interval '24 hours';
        """

    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    static func partitionName(_ day: Date, table: String = "group_counts") -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: day)
        return String(format: "%@_%04d%02d%02d", table, parts.year!, parts.month!, parts.day!)
    }

    static func iso(_ date: Date) -> String { date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt)) }

    private func sql(_ date: Date) -> String { "timestamptz '\(Self.iso(date))'" }

    private func array(_ items: [String]) -> String {
        "ARRAY[" + items.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" }.joined(separator: ", ") + "]"
    }
}
