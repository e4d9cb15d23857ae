import Foundation
import Logging
import PostgresNIO

/// The ingest's statements, prepared once per connection (PostgreSQL then parses and plans each
/// once, not on every leaf scrape: planning these CTEs was a large part of what PostgreSQL spent
/// per scrape). Each is the statement `FederationApply` sent before as an interpolated query,
/// word for word, with `$n` where the interpolations bound values.
enum IngestStatements {
    /// The leaves' rows, locked for the transaction in id order.
    struct LockLeaves: PostgresPreparedStatement {
        static let sql = "SELECT id, url, epoch FROM leaves WHERE url = ANY($1::text[]) ORDER BY id FOR UPDATE"
        typealias Row = (Int64, String, String)
        var urls: [String]

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 1)
            bindings.append(urls)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// Known leaves' rows and services written, and the cursors of the groups their payloads hold
    /// read (after the locks are held): per asked key (by its position), its group cursor and one
    /// row per series cursor, or one row without.
    struct UpdateLeaves: PostgresPreparedStatement {
        static let sql = """
            WITH updated AS (
                UPDATE leaves l SET job = x.job, name = x.name, team = x.team, epoch = x.epoch,
                    started_at = x.started_at, external_labels = x.labels::jsonb, last_applied = x.time
                FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::timestamptz[])
                     AS x(id, job, name, team, epoch, started_at, labels, time)
                WHERE l.id = x.id
            ),
            reported AS (SELECT * FROM UNNEST($9::int8[], $10::text[], $11::int8[], $12::int8[]) AS r(leaf_id, service, total, up)),
            -- The leaves' services as they report them: the gone deleted, the others written where they changed.
            gone AS (
                DELETE FROM leaf_services ls WHERE ls.leaf_id = ANY($1::int8[])
                  AND NOT EXISTS (SELECT 1 FROM reported r WHERE r.leaf_id = ls.leaf_id AND r.service = ls.service)
            ),
            written AS (
                INSERT INTO leaf_services AS ls (leaf_id, service, targets_total, targets_up)
                SELECT leaf_id, service, total, up FROM reported
                ON CONFLICT (leaf_id, service) DO UPDATE SET targets_total = EXCLUDED.targets_total, targets_up = EXCLUDED.targets_up
                WHERE (ls.targets_total, ls.targets_up) IS DISTINCT FROM (EXCLUDED.targets_total, EXCLUDED.targets_up)
            )
            SELECT k.n, c.epoch, c.last_total, s.labels::text, sc.epoch, sc.last_total
            FROM UNNEST($13::int8[], $14::text[], $15::text[], $16::text[]) WITH ORDINALITY AS k(leaf_id, team, service, key, n)
            JOIN groups g ON g.team = k.team AND g.service = k.service AND g.aggregation_key = k.key
            LEFT JOIN cursors c ON c.group_id = g.id AND c.leaf_id = k.leaf_id
            LEFT JOIN (series s JOIN series_cursors sc ON sc.series_id = s.id) ON s.group_id = g.id AND sc.leaf_id = k.leaf_id
            WHERE c.group_id IS NOT NULL OR s.id IS NOT NULL
            """
        typealias Row = (Int64, String?, Int64?, String?, String?, Int64?)
        var ids: [Int64] = []
        var jobs: [String] = []
        var names: [String] = []
        var teams: [String] = []
        var epochs: [String] = []
        var startedAt: [Date] = []
        var labels: [String] = []
        var times: [Date] = []
        var serviceLeaves: [Int64] = []
        var services: [String] = []
        var totals: [Int] = []
        var ups: [Int] = []
        var keyLeaves: [Int64] = []
        var keyTeams: [String] = []
        var keyServices: [String] = []
        var keys: [String] = []

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 16)
            bindings.append(ids)
            bindings.append(jobs)
            bindings.append(names)
            bindings.append(teams)
            bindings.append(epochs)
            bindings.append(startedAt)
            bindings.append(labels)
            bindings.append(times)
            bindings.append(serviceLeaves)
            bindings.append(services)
            bindings.append(totals)
            bindings.append(ups)
            bindings.append(keyLeaves)
            bindings.append(keyTeams)
            bindings.append(keyServices)
            bindings.append(keys)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// A leaf new to the hub.
    struct InsertLeaf: PostgresPreparedStatement {
        static let sql = """
            INSERT INTO leaves (url, job, name, team, epoch, started_at, external_labels, first_scrape, last_applied)
            VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $8)
            RETURNING id
            """
        typealias Row = Int64
        var url: String
        var job: String
        var name: String
        var team: String
        var epoch: String
        var startedAt: Date
        var labels: String
        var time: Date

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 8)
            bindings.append(url)
            bindings.append(job)
            bindings.append(name)
            bindings.append(team)
            bindings.append(epoch)
            bindings.append(startedAt)
            bindings.append(labels)
            bindings.append(time)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// A new leaf's services.
    struct InsertServices: PostgresPreparedStatement {
        static let sql = """
            INSERT INTO leaf_services (leaf_id, service, targets_total, targets_up)
            SELECT $1, s, t, u FROM UNNEST($2::text[], $3::int8[], $4::int8[]) AS x(s, t, u)
            """
        typealias Row = ()
        var leafID: Int64
        var services: [String]
        var totals: [Int]
        var ups: [Int]

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 4)
            bindings.append(leafID)
            bindings.append(services)
            bindings.append(totals)
            bindings.append(ups)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {}
    }

    /// Leaves' deploys: new ones inserted, known ones keeping their earliest time and most instances.
    struct UpsertDeploys: PostgresPreparedStatement {
        static let sql = """
            INSERT INTO deploys (team, service, deploy_id, at, version, label, instances)
            SELECT t, s, d, to_timestamp(a), NULLIF(v, ''), NULLIF(l, ''), i
            FROM UNNEST($1::text[], $2::text[], $3::text[], $4::float8[], $5::text[], $6::text[], $7::int8[]) AS x(t, s, d, a, v, l, i)
            ON CONFLICT (team, service, deploy_id) DO UPDATE SET
                at = LEAST(deploys.at, EXCLUDED.at), instances = GREATEST(deploys.instances, EXCLUDED.instances),
                label = coalesce(EXCLUDED.label, deploys.label)
            """
        typealias Row = ()
        var teams: [String]
        var services: [String]
        var ids: [String]
        var times: [Double]
        /// Empty for none (a version is never empty).
        var versions: [String]
        var labels: [String]
        var instances: [Int]

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 7)
            bindings.append(teams)
            bindings.append(services)
            bindings.append(ids)
            bindings.append(times)
            bindings.append(versions)
            bindings.append(labels)
            bindings.append(instances)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {}
    }

    /// The series' totals, their cursors and their minutes.
    struct WriteSeries: PostgresPreparedStatement {
        static let sql = """
            WITH steps AS (
                SELECT g, l::jsonb AS l, inc, next, leaf, epoch, t
                FROM UNNEST($1::int8[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::text[], $7::timestamptz[]) AS u(g, l, inc, next, leaf, epoch, t)
            ),
            upserted AS (
                INSERT INTO series AS s (group_id, labels, total)
                SELECT g, l, inc FROM steps
                ON CONFLICT (group_id, labels) DO UPDATE SET total = s.total + EXCLUDED.total
                RETURNING s.id, s.group_id, s.labels
            ),
            matched AS (
                SELECT u.id, steps.inc, steps.next, steps.leaf, steps.epoch, steps.t
                FROM upserted u JOIN steps ON steps.g = u.group_id AND steps.l = u.labels
            ),
            moved_cursors AS (
                INSERT INTO series_cursors (leaf_id, series_id, epoch, last_total)
                SELECT leaf, id, epoch, next FROM matched
                ON CONFLICT (leaf_id, series_id) DO UPDATE SET epoch = EXCLUDED.epoch, last_total = EXCLUDED.last_total
            )
            INSERT INTO series_counts (series_id, minute, count)
            SELECT id, date_trunc('minute', t), inc FROM matched WHERE inc > 0
            ON CONFLICT (series_id, minute) DO UPDATE SET count = series_counts.count + EXCLUDED.count
            """
        typealias Row = ()
        var groups: [Int64]
        var labels: [String]
        var increases: [Int64]
        var nexts: [Int64]
        var leafIDs: [Int64]
        var epochs: [String]
        var times: [Date]

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 7)
            bindings.append(groups)
            bindings.append(labels)
            bindings.append(increases)
            bindings.append(nexts)
            bindings.append(leafIDs)
            bindings.append(epochs)
            bindings.append(times)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {}
    }

    /// The changed groups, inserted or added to.
    struct UpsertGroups: PostgresPreparedStatement {
        static let sql = """
            INSERT INTO groups AS g (team, service, aggregation_key, class, message, stacktrace, severity, first_seen, last_seen, total, fingerprint)
            SELECT tm, s, k, c, m, st, sev,
                   CASE WHEN fs = 'NaN' THEN t ELSE to_timestamp(fs) END,
                   CASE WHEN ls = 'NaN' THEN t ELSE to_timestamp(ls) END, inc, fp
            FROM UNNEST($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                        $8::int2[], $9::float8[], $10::float8[], $11::int8[], $12::text[])
                 AS u(tm, t, s, k, c, m, st, sev, fs, ls, inc, fp)
            ON CONFLICT (team, service, aggregation_key) DO UPDATE SET
                total = g.total + EXCLUDED.total,
                severity = GREATEST(g.severity, EXCLUDED.severity),
                first_seen = LEAST(g.first_seen, EXCLUDED.first_seen),
                last_seen = GREATEST(g.last_seen, EXCLUDED.last_seen),
                class = CASE WHEN EXCLUDED.total > 0 OR g.class = '' THEN EXCLUDED.class ELSE g.class END,
                message = CASE WHEN EXCLUDED.total > 0 OR g.message = '' THEN EXCLUDED.message ELSE g.message END,
                stacktrace = CASE WHEN EXCLUDED.total > 0 OR g.stacktrace = '' THEN EXCLUDED.stacktrace ELSE g.stacktrace END,
                -- Of the class and stack trace kept, so it follows them.
                fingerprint = CASE WHEN EXCLUDED.total > 0 OR g.stacktrace = '' OR g.class = '' OR g.message = '' OR g.fingerprint = '' THEN EXCLUDED.fingerprint ELSE g.fingerprint END
            RETURNING id, team, service, aggregation_key
            """
        typealias Row = (Int64, String, String, String)
        var teams: [String]
        var times: [Date]
        var services: [String]
        var keys: [String]
        var classes: [String]
        var messages: [String]
        var stacktraces: [String]
        var severities: [Int16]
        var firstSeen: [Double]
        var lastSeen: [Double]
        var increases: [Int64]
        var fingerprints: [String]

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 12)
            bindings.append(teams)
            bindings.append(times)
            bindings.append(services)
            bindings.append(keys)
            bindings.append(classes)
            bindings.append(messages)
            bindings.append(stacktraces)
            bindings.append(severities)
            bindings.append(firstSeen)
            bindings.append(lastSeen)
            bindings.append(increases)
            bindings.append(fingerprints)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
    }

    /// The group cursors, the minute and hour counts and the groups' marks for the window refresh,
    /// the samples, the status changes of groups that occur again, and the scrapes' rows in the
    /// snapshot log.
    struct CountsAndSamples: PostgresPreparedStatement {
        static let sql = """
            WITH u AS (
                SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::text[], $6::timestamptz[]) AS u(id, next, increase, leaf, epoch, t)
            ),
            moved_cursors AS (
                INSERT INTO cursors (leaf_id, group_id, epoch, last_total)
                SELECT leaf, id, epoch, next FROM u
                ON CONFLICT (leaf_id, group_id) DO UPDATE SET epoch = EXCLUDED.epoch, last_total = EXCLUDED.last_total
            ),
            minutes AS (
                INSERT INTO group_counts (group_id, minute, count)
                SELECT id, date_trunc('minute', t), increase FROM u WHERE increase > 0
                ON CONFLICT (group_id, minute) DO UPDATE SET count = group_counts.count + EXCLUDED.count
            ),
            hours AS (
                INSERT INTO group_counts_hourly (group_id, hour, count)
                SELECT id, date_trunc('hour', t, 'UTC'), increase FROM u WHERE increase > 0
                ON CONFLICT (group_id, hour) DO UPDATE SET count = group_counts_hourly.count + EXCLUDED.count
            ),
            marked AS (
                -- For `WindowRefresh`. An update, not DO NOTHING, of a mark that is there: the
                -- refresh then cannot take the mark before this transaction's counts are committed.
                INSERT INTO window_changes (group_id) SELECT DISTINCT id FROM u WHERE increase > 0
                ON CONFLICT (group_id) DO UPDATE SET group_id = EXCLUDED.group_id
            ),
            new_samples AS (
                -- A sample stored already is not parsed again: ON CONFLICT would leave it as it is.
                INSERT INTO samples (group_id, uuid, time, leaf_id, sample)
                SELECT x.id, x.u, CASE WHEN x.t = 'NaN' THEN NULL ELSE to_timestamp(x.t) END, x.leaf, x.s::jsonb
                FROM UNNEST($7::int8[], $8::text[], $9::float8[], $10::text[], $11::int8[]) AS x(id, u, t, s, leaf)
                WHERE NOT EXISTS (SELECT 1 FROM samples o WHERE o.group_id = x.id AND o.uuid = x.u)
                ON CONFLICT (group_id, uuid) DO NOTHING
            ),
            -- A resolved group that occurs again has regressed; an ignored one whose count
            -- condition is met is back. Both changes are recorded as made by canopy.
            moved AS (
                UPDATE groups g SET
                    status = CASE WHEN g.status = 'resolved' THEN 'regressed' ELSE 'unresolved' END,
                    status_changed_at = x.t, status_changed_by = 'canopy',
                    ignored_until = NULL, ignored_until_total = NULL
                FROM UNNEST($12::int8[], $13::timestamptz[]) AS x(id, t)
                WHERE g.id = x.id
                  AND (g.status = 'resolved' OR (g.status = 'ignored' AND g.ignored_until_total IS NOT NULL AND g.total >= g.ignored_until_total))
                RETURNING g.id, g.status, x.t
            ),
            status_moved AS (
                INSERT INTO status_changes (group_id, at, actor, from_status, to_status, comment)
                SELECT id, t, 'canopy', CASE WHEN status = 'regressed' THEN 'resolved' ELSE 'ignored' END, status,
                       CASE WHEN status = 'regressed' THEN 'occurred again after it was resolved' ELSE 'ignored until a count that was reached' END
                FROM moved
            )
            INSERT INTO scrapes (leaf_id, url, time, duration_seconds, outcome, error, epoch, groups_changed, occurrences_added, skipped, skipped_detail)
            SELECT leaf, url, t, d, 'applied', NULL, epoch, g, o, sk, NULLIF(sd, '')
            FROM UNNEST($14::int8[], $15::text[], $16::timestamptz[], $17::float8[], $18::text[], $19::int8[], $20::int8[], $21::int8[], $22::text[])
                 AS l(leaf, url, t, d, epoch, g, o, sk, sd)
            """
        typealias Row = ()
        var groupIDs: [Int64]
        var cursors: [Int64]
        var increases: [Int64]
        var leafIDs: [Int64]
        var epochs: [String]
        var times: [Date]
        var sampleGroups: [Int64]
        var sampleUUIDs: [String]
        var sampleTimes: [Double]
        var sampleBodies: [String]
        var sampleLeaves: [Int64]
        var grown: [Int64]
        var grownTimes: [Date]
        var log: ScrapeLogRows

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 22)
            bindings.append(groupIDs)
            bindings.append(cursors)
            bindings.append(increases)
            bindings.append(leafIDs)
            bindings.append(epochs)
            bindings.append(times)
            bindings.append(sampleGroups)
            bindings.append(sampleUUIDs)
            bindings.append(sampleTimes)
            bindings.append(sampleBodies)
            bindings.append(sampleLeaves)
            bindings.append(grown)
            bindings.append(grownTimes)
            bindings.append(log.leafIDs)
            bindings.append(log.urls)
            bindings.append(log.times)
            bindings.append(log.durations)
            bindings.append(log.epochs)
            bindings.append(log.groupsChanged)
            bindings.append(log.occurrencesAdded)
            bindings.append(log.skipped)
            bindings.append(log.skippedDetail.map { $0 ?? "" })
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {}
    }

    /// Applied scrapes' rows in the snapshot log, written with their apply.
    struct ScrapeLogRows {
        var leafIDs: [Int64]
        var urls: [String]
        var times: [Date]
        var durations: [Double]
        var epochs: [String]
        var groupsChanged: [Int]
        var occurrencesAdded: [Int64]
        var skipped: [Int]
        var skippedDetail: [String?]
    }

    /// Only the newest `limit` samples of each group stay.
    struct TrimSamples: PostgresPreparedStatement {
        static let sql = """
            DELETE FROM samples s USING (
                SELECT group_id, uuid, row_number() OVER (PARTITION BY group_id ORDER BY time DESC NULLS LAST, uuid) AS n
                FROM samples WHERE group_id = ANY($1::int8[])
            ) r
            WHERE s.group_id = r.group_id AND s.uuid = r.uuid AND r.n > $2
            """
        typealias Row = ()
        var groupIDs: [Int64]
        var limit: Int

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 2)
            bindings.append(groupIDs)
            bindings.append(limit)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {}
    }
}

extension IngestStatements {
    /// A leaf scrape's row in the snapshot log, for a scrape that was not applied (an applied one
    /// is logged with its apply).
    struct LogScrape: PostgresPreparedStatement {
        static let sql = """
            INSERT INTO scrapes (leaf_id, url, time, duration_seconds, outcome, error, epoch, groups_changed, occurrences_added, skipped, skipped_detail)
            SELECT (SELECT id FROM leaves WHERE url = $1), $1, $2, $3, $4, $5::text, (SELECT epoch FROM leaves WHERE url = $1), 0, 0, 0, NULL
            """
        typealias Row = ()
        var url: String
        var time: Date
        var duration: Double
        var outcome: String
        var error: String?

        func makeBindings() throws -> PostgresBindings {
            var bindings = PostgresBindings(capacity: 5)
            bindings.append(url)
            bindings.append(time)
            bindings.append(duration)
            bindings.append(outcome)
            bindings.append(error)
            return bindings
        }

        func decodeRow(_ row: PostgresRow) throws -> Row {}
    }
}
