import Foundation
import Logging
import Periskop
import PostgresNIO
import Shared

/// What one applied scrape changed, for the snapshot log and `/metrics`.
struct ApplyResult: Sendable, Equatable {
    var groupsChanged = 0
    var occurrencesAdded: Int64 = 0
    var rowsWritten = 0
    var epochChanged = false
    /// What `StorablePayload` left out of the scrape.
    var skipped: [FederationRejection] = []
}

/// Applies one leaf's federation payload to the database in one transaction: a crash never
/// applies half a snapshot. The counting rule (ARCHITECTURE.md) per (leaf, group), with the
/// leaf's epoch:
/// - no cursor yet: the whole total is new;
/// - same epoch: what the total grew past the cursor (a leaf restored from an older save reports
///   less for a while, then the same counts again: nothing is added twice);
/// - a new epoch of a leaf the hub knew (it lost its data dir): its reports are baselines until the
///   first complete one (every target scraped once), and only growth after that counts.
///   Occurrences between the leaf's last scrape before the loss and its first complete report after
///   are not counted; the alternative, adding every live process's count again, would count most
///   of them twice. A leaf the hub never saw counts whole from its first report.
struct FederationApply {
    let samplesPerGroup: Int

    struct Cursor {
        var groupID: Int64
        var epoch: String
        var lastTotal: Int64
    }

    struct GroupKey: Hashable, Comparable {
        var service: String
        var key: String
        static func < (a: GroupKey, b: GroupKey) -> Bool { (a.service, a.key) < (b.service, b.key) }
    }

    /// - Parameter complete: the group with its samples, for a group the payload holds without
    ///   them (`GroupReuse`); called only for the groups that are written.
    func apply(
        _ payload: FederationPayload, leafURL: String, job: String, at time: Date, on connection: PostgresConnection, logger: Logger,
        complete: (GroupKey, FederatedGroup) throws -> FederatedGroup = { $1 }
    ) async throws -> ApplyResult {
        let team = payload.leaf.team ?? ""
        let epoch = payload.leaf.epoch
        var result = ApplyResult()
        let labels = String(decoding: try CanopyJSON.encoder().encode(payload.leaf.externalLabels), as: UTF8.self)

        // The leaf row, locked for the transaction so that two hubs never apply one leaf at once.
        // The cursors are read after the lock is held, by a statement of their own: its snapshot
        // then holds what another hub committed for this leaf meanwhile.
        var leafID: Int64
        var previousEpoch: String?
        var cursors: [GroupKey: Cursor] = [:]
        let services = (names: payload.services.map(\.name), totals: payload.services.map(\.targetsTotal), ups: payload.services.map(\.targetsUp))
        let existing = try await connection.query("SELECT id, epoch FROM leaves WHERE url = \(leafURL) FOR UPDATE", logger: logger)
        if let row = try await existing.collect().first {
            (leafID, previousEpoch) = try row.decode((Int64, String).self)
            // A known leaf's new epoch is taken as a baseline until its first complete report; the
            // leaf row says `warming:<epoch>` meanwhile, so that the state survives a hub restart.
            let stored = previousEpoch != epoch && !payload.complete ? Self.warming(epoch) : epoch
            let rows = try await connection.query(
                """
                WITH updated AS (
                    UPDATE leaves SET job = \(job), name = \(payload.leaf.name), team = \(team), epoch = \(stored),
                        started_at = \(payload.leaf.startedAt), external_labels = \(labels)::jsonb, last_applied = \(time)
                    WHERE id = \(leafID)
                ),
                -- The leaf's services as it reports them: the gone deleted, the others written where they changed.
                gone AS (DELETE FROM leaf_services WHERE leaf_id = \(leafID) AND service <> ALL(\(services.names)::text[])),
                reported AS (
                    INSERT INTO leaf_services AS ls (leaf_id, service, targets_total, targets_up)
                    SELECT \(leafID), s, t, u FROM UNNEST(\(services.names)::text[], \(services.totals)::int8[], \(services.ups)::int8[]) AS x(s, t, u)
                    ON CONFLICT (leaf_id, service) DO UPDATE SET targets_total = EXCLUDED.targets_total, targets_up = EXCLUDED.targets_up
                    WHERE (ls.targets_total, ls.targets_up) IS DISTINCT FROM (EXCLUDED.targets_total, EXCLUDED.targets_up)
                )
                SELECT g.service, g.aggregation_key, c.group_id, c.epoch, c.last_total
                FROM cursors c JOIN groups g ON g.id = c.group_id
                WHERE c.leaf_id = \(leafID) AND g.team = \(team)
                """, logger: logger)
            for try await (service, key, groupID, cursorEpoch, lastTotal) in rows.decode((String, String, Int64, String, Int64).self) {
                cursors[GroupKey(service: service, key: key)] = Cursor(groupID: groupID, epoch: cursorEpoch, lastTotal: lastTotal)
            }
        } else {
            // A leaf new to the hub has no cursors.
            let rows = try await connection.query(
                """
                INSERT INTO leaves (url, job, name, team, epoch, started_at, external_labels, first_scrape, last_applied)
                VALUES (\(leafURL), \(job), \(payload.leaf.name), \(team), \(epoch), \(payload.leaf.startedAt), \(labels)::jsonb, \(time), \(time))
                RETURNING id
                """, logger: logger)
            leafID = try await rows.collect().first!.decode(Int64.self)
            try await writeServices(payload, leafID: leafID, on: connection, logger: logger)
        }
        result.epochChanged = previousEpoch != nil && previousEpoch != epoch && previousEpoch != Self.warming(epoch)
        let rebasing = previousEpoch != nil && previousEpoch != epoch

        // Only groups whose total or epoch moved are written: the steady state writes nothing.
        var changed: [(key: GroupKey, group: FederatedGroup, increase: Int64, cursor: Int64)] = []
        for service in payload.services {
            for group in service.groups {
                let key = GroupKey(service: service.name, key: group.aggregationKey)
                let cursor = cursors[key].map { (epoch: $0.epoch, lastTotal: $0.lastTotal) }
                guard let step = Self.step(total: Int64(group.total), cursor: cursor, epoch: epoch, rebasing: rebasing) else { continue }
                changed.append((key, try complete(key, group), step.increase, step.next))
            }
        }
        changed.sort { $0.key < $1.key }
        guard !changed.isEmpty else { return result }

        // The series of the changed groups, counted by the same rule, then reconciled with the
        // group's increase so that a group's total stays the sum of its series' totals.
        let seriesCursors = try await self.seriesCursors(leafID: leafID, team: team, of: changed.map(\.key), on: connection, logger: logger)
        let leafLabels = Self.seriesLabels(ofLeaf: payload.leaf.externalLabels)
        var seriesSteps: [SeriesStep] = []
        for change in changed {
            seriesSteps += Self.seriesSteps(
                of: change.group, key: change.key, groupIncrease: change.increase, leafLabels: leafLabels, cursors: seriesCursors, epoch: epoch,
                rebasing: rebasing)
        }

        let ids = try await upsertGroups(changed.map { ($0.key, $0.group, $0.increase) }, team: team, at: time, on: connection, logger: logger)
        let groupIDs = changed.map { ids[$0.key]! }
        result.rowsWritten += try await writeSeries(seriesSteps, groupIDs: ids, leafID: leafID, epoch: epoch, at: time, on: connection, logger: logger)
        let grown = changed.indices.filter { changed[$0].increase > 0 }
        let samples = try samplesToStore(changed.map(\.group), groupIDs: groupIDs)
        // The group cursors, the minute and hour counts, the status changes of groups that occur
        // again, and the samples, in one statement: none of these reads what another writes (the
        // status change reads the groups' totals, written by the statement before).
        try await connection.query(
            """
            WITH u AS (SELECT * FROM UNNEST(\(groupIDs)::int8[], \(changed.map(\.cursor))::int8[], \(changed.map(\.increase))::int8[]) AS u(id, next, increase)),
            moved_cursors AS (
                INSERT INTO cursors (leaf_id, group_id, epoch, last_total)
                SELECT \(leafID), id, \(epoch), next FROM u
                ON CONFLICT (leaf_id, group_id) DO UPDATE SET epoch = EXCLUDED.epoch, last_total = EXCLUDED.last_total
            ),
            minutes AS (
                INSERT INTO group_counts (group_id, minute, count)
                SELECT id, date_trunc('minute', \(time)::timestamptz), increase FROM u WHERE increase > 0
                ON CONFLICT (group_id, minute) DO UPDATE SET count = group_counts.count + EXCLUDED.count
            ),
            hours AS (
                INSERT INTO group_counts_hourly (group_id, hour, count)
                SELECT id, date_trunc('hour', \(time)::timestamptz, 'UTC'), increase FROM u WHERE increase > 0
                ON CONFLICT (group_id, hour) DO UPDATE SET count = group_counts_hourly.count + EXCLUDED.count
            ),
            new_samples AS (
                -- A sample stored already is not parsed again: ON CONFLICT would leave it as it is.
                INSERT INTO samples (group_id, uuid, time, leaf_id, sample)
                SELECT x.id, x.u, CASE WHEN x.t = 'NaN' THEN NULL ELSE to_timestamp(x.t) END, \(leafID), x.s::jsonb
                FROM UNNEST(\(samples.ids)::int8[], \(samples.uuids)::text[], \(samples.times)::float8[], \(samples.bodies)::text[]) AS x(id, u, t, s)
                WHERE NOT EXISTS (SELECT 1 FROM samples o WHERE o.group_id = x.id AND o.uuid = x.u)
                ON CONFLICT (group_id, uuid) DO NOTHING
            ),
            -- A resolved group that occurs again has regressed; an ignored one whose count
            -- condition is met is back. Both changes are recorded as made by canopy.
            moved AS (
                UPDATE groups SET
                    status = CASE WHEN status = 'resolved' THEN 'regressed' ELSE 'unresolved' END,
                    status_changed_at = \(time), status_changed_by = 'canopy',
                    ignored_until = NULL, ignored_until_total = NULL
                WHERE id = ANY(\(grown.map { groupIDs[$0] })::int8[])
                  AND (status = 'resolved' OR (status = 'ignored' AND ignored_until_total IS NOT NULL AND total >= ignored_until_total))
                RETURNING id, status
            )
            INSERT INTO status_changes (group_id, at, actor, from_status, to_status, comment)
            SELECT id, \(time), 'canopy', CASE WHEN status = 'regressed' THEN 'resolved' ELSE 'ignored' END, status,
                   CASE WHEN status = 'regressed' THEN 'occurred again after it was resolved' ELSE 'ignored until a count that was reached' END
            FROM moved
            """, logger: logger)
        result.occurrencesAdded = grown.reduce(0) { $0 + changed[$1].increase }
        if !samples.ids.isEmpty {
            // Only the newest `samplesPerGroup` of each group stay: after the insert, which it must see.
            try await connection.query(
                """
                DELETE FROM samples s USING (
                    SELECT group_id, uuid, row_number() OVER (PARTITION BY group_id ORDER BY time DESC NULLS LAST, uuid) AS n
                    FROM samples WHERE group_id = ANY(\(groupIDs)::int8[])
                ) r
                WHERE s.group_id = r.group_id AND s.uuid = r.uuid AND r.n > \(samplesPerGroup)
                """, logger: logger)
        }
        result.rowsWritten += samples.ids.count
        result.groupsChanged = changed.count
        result.rowsWritten += changed.count * 2 + grown.count * 2
        return result
    }

    /// What one report of a counter (a group's or a series' total) adds, by the counting rule
    /// (the type's comment), and the cursor it leaves; nil when nothing moved.
    static func step(total: Int64, cursor: (epoch: String, lastTotal: Int64)?, epoch: String, rebasing: Bool) -> (increase: Int64, next: Int64)? {
        if rebasing, let cursor {
            // Counted before under the old epoch: a baseline, not growth.
            if cursor.epoch == epoch && cursor.lastTotal == total { return nil }
            return (0, total)
        } else if let cursor, cursor.epoch == epoch {
            guard total != cursor.lastTotal else { return nil }
            return (max(0, total - cursor.lastTotal), max(total, cursor.lastTotal))
        } else if cursor != nil {
            return (0, total)
        }
        return (total, total)
    }

    /// The leaf's external labels as its series carry them: without `team` (a group's own), and
    /// a name the series has of its own (`service`, `class`, ...) as `exported_<name>`, as the leaf
    /// treats target labels.
    static func seriesLabels(ofLeaf labels: Labels) -> Labels {
        var result = Labels()
        for (name, value) in labels.values where name != LabelName.team {
            result[SeriesRule.exported(name)] = value
        }
        return result
    }

    struct SeriesKey: Hashable {
        var group: GroupKey
        var labels: Labels
    }

    struct SeriesStep {
        var key: GroupKey
        var labels: Labels
        var increase: Int64
        var next: Int64
    }

    /// The steps of one group's series. A leaf without series reports one without target labels;
    /// the leaf's external labels (but `team`) are added, and leaf series that end up with the
    /// same labels are one. The series' increases are made to sum to the group's: where they
    /// add up to more, the excess is occurrences counted before under the group alone (a group
    /// first seen with series from a leaf the hub counted without them), taken off the series
    /// new to this leaf, the largest first; where they add up to less (a leaf whose series do not
    /// sum to its total), the rest goes to its largest series.
    static func seriesSteps(
        of group: FederatedGroup, key: GroupKey, groupIncrease: Int64, leafLabels: Labels, cursors: [SeriesKey: (epoch: String, lastTotal: Int64)],
        epoch: String, rebasing: Bool
    ) -> [SeriesStep] {
        var totals: [Labels: Int64] = [:]
        for one in group.series.isEmpty ? [ExceptionSeries(labels: Labels(), total: group.total)] : group.series {
            totals[one.labels.merging(defaults: leafLabels), default: 0] += Int64(max(0, one.total))
        }
        var steps: [(step: SeriesStep, new: Bool, total: Int64)] = []
        for (labels, total) in totals {
            let cursor = cursors[SeriesKey(group: key, labels: labels)]
            guard let step = Self.step(total: total, cursor: cursor, epoch: epoch, rebasing: rebasing) else { continue }
            steps.append((SeriesStep(key: key, labels: labels, increase: step.increase, next: step.next), cursor == nil, total))
        }
        steps.sort { ($0.total, $0.step.labels.description) > ($1.total, $1.step.labels.description) }
        var excess = steps.reduce(0) { $0 + $1.step.increase } - groupIncrease
        for pass in [true, false] where excess > 0 {
            for index in steps.indices where excess > 0 && steps[index].new == pass {
                let taken = min(excess, steps[index].step.increase)
                steps[index].step.increase -= taken
                excess -= taken
            }
        }
        if excess < 0, !steps.isEmpty { steps[0].step.increase -= excess }
        return steps.map(\.step)
    }

    /// This leaf's series cursors of `groups` in `team`, by group and labels: only the changed
    /// groups' series are counted, so only theirs are read.
    private func seriesCursors(
        leafID: Int64, team: String, of groups: [GroupKey], on connection: PostgresConnection, logger: Logger
    ) async throws -> [SeriesKey: (epoch: String, lastTotal: Int64)] {
        let rows = try await connection.query(
            """
            SELECT g.service, g.aggregation_key, s.labels::text, c.epoch, c.last_total
            FROM UNNEST(\(groups.map(\.service))::text[], \(groups.map(\.key))::text[]) AS k(service, key)
            JOIN groups g ON g.team = \(team) AND g.service = k.service AND g.aggregation_key = k.key
            JOIN series s ON s.group_id = g.id JOIN series_cursors c ON c.series_id = s.id AND c.leaf_id = \(leafID)
            """, logger: logger)
        let decoder = JSONDecoder()
        var cursors: [SeriesKey: (epoch: String, lastTotal: Int64)] = [:]
        for try await (service, key, labels, epoch, lastTotal) in rows.decode((String, String, String, String, Int64).self) {
            let decoded = (try? decoder.decode(Labels.self, from: Data(labels.utf8))) ?? Labels()
            cursors[SeriesKey(group: GroupKey(service: service, key: key), labels: decoded)] = (epoch, lastTotal)
        }
        return cursors
    }

    /// Adds the series' increases to their totals and minute history, and moves their cursors.
    private func writeSeries(
        _ steps: [SeriesStep], groupIDs: [GroupKey: Int64], leafID: Int64, epoch: String, at time: Date, on connection: PostgresConnection, logger: Logger
    ) async throws -> Int {
        guard !steps.isEmpty else { return 0 }
        let encoder = CanopyJSON.encoder()
        let groups = steps.map { groupIDs[$0.key]! }
        let labels = try steps.map { String(decoding: try encoder.encode($0.labels), as: UTF8.self) }
        // The series' totals, their cursors and their minutes in one statement: the cursors and
        // minutes take the ids the upsert returns, matched to the steps by group and labels.
        try await connection.query(
            """
            WITH steps AS (
                SELECT g, l::jsonb AS l, inc, next
                FROM UNNEST(\(groups)::int8[], \(labels)::text[], \(steps.map(\.increase))::int8[], \(steps.map(\.next))::int8[]) AS u(g, l, inc, next)
            ),
            upserted AS (
                INSERT INTO series AS s (group_id, labels, total)
                SELECT g, l, inc FROM steps
                ON CONFLICT (group_id, labels) DO UPDATE SET total = s.total + EXCLUDED.total
                RETURNING s.id, s.group_id, s.labels
            ),
            matched AS (SELECT u.id, steps.inc, steps.next FROM upserted u JOIN steps ON steps.g = u.group_id AND steps.l = u.labels),
            moved_cursors AS (
                INSERT INTO series_cursors (leaf_id, series_id, epoch, last_total)
                SELECT \(leafID), id, \(epoch), next FROM matched
                ON CONFLICT (leaf_id, series_id) DO UPDATE SET epoch = EXCLUDED.epoch, last_total = EXCLUDED.last_total
            )
            INSERT INTO series_counts (series_id, minute, count)
            SELECT id, date_trunc('minute', \(time)::timestamptz), inc FROM matched WHERE inc > 0
            ON CONFLICT (series_id, minute) DO UPDATE SET count = series_counts.count + EXCLUDED.count
            """, logger: logger)
        return steps.count * 2 + steps.filter { $0.increase > 0 }.count
    }

    private func upsertGroups(_ groups: [(key: GroupKey, group: FederatedGroup, increase: Int64)], team: String, at time: Date, on connection: PostgresConnection, logger: Logger) async throws -> [GroupKey: Int64] {
        func seconds(_ date: Date?) -> Double { date?.timeIntervalSince1970 ?? .nan }
        let services = groups.map(\.key.service)
        let keys = groups.map(\.key.key)
        let classes = groups.map(\.group.className)
        let messages = groups.map(\.group.message)
        // The newest stack trace, searched in one column: bounded, as a sample's lines are.
        let stacktraces = groups.map { TextBounds.cut($0.group.samples.first?.error.stacktrace.joined(separator: "\n") ?? "", to: 64 * 1024) }
        let severities = groups.map { Int16(SeverityRank.rank($0.group.severity)) }
        let firstSeen = groups.map { seconds($0.group.firstSeen) }
        let lastSeen = groups.map { seconds($0.group.lastSeen) }
        let increases = groups.map(\.increase)
        let rows = try await connection.query(
            """
            INSERT INTO groups AS g (team, service, aggregation_key, class, message, stacktrace, severity, first_seen, last_seen, total)
            SELECT \(team), s, k, c, m, st, sev,
                   CASE WHEN fs = 'NaN' THEN \(time)::timestamptz ELSE to_timestamp(fs) END,
                   CASE WHEN ls = 'NaN' THEN \(time)::timestamptz ELSE to_timestamp(ls) END, inc
            FROM UNNEST(\(services)::text[], \(keys)::text[], \(classes)::text[], \(messages)::text[], \(stacktraces)::text[],
                        \(severities)::int2[], \(firstSeen)::float8[], \(lastSeen)::float8[], \(increases)::int8[])
                 AS u(s, k, c, m, st, sev, fs, ls, inc)
            ON CONFLICT (team, service, aggregation_key) DO UPDATE SET
                total = g.total + EXCLUDED.total,
                severity = GREATEST(g.severity, EXCLUDED.severity),
                first_seen = LEAST(g.first_seen, EXCLUDED.first_seen),
                last_seen = GREATEST(g.last_seen, EXCLUDED.last_seen),
                class = CASE WHEN EXCLUDED.total > 0 OR g.class = '' THEN EXCLUDED.class ELSE g.class END,
                message = CASE WHEN EXCLUDED.total > 0 OR g.message = '' THEN EXCLUDED.message ELSE g.message END,
                stacktrace = CASE WHEN EXCLUDED.total > 0 OR g.stacktrace = '' THEN EXCLUDED.stacktrace ELSE g.stacktrace END
            RETURNING id, service, aggregation_key
            """, logger: logger)
        var ids: [GroupKey: Int64] = [:]
        for try await (id, service, key) in rows.decode((Int64, String, String).self) {
            ids[GroupKey(service: service, key: key)] = id
        }
        return ids
    }

    /// The samples of the changed groups, newest `samplesPerGroup` of each, as the statement binds them.
    private func samplesToStore(_ groups: [FederatedGroup], groupIDs: [Int64]) throws -> (ids: [Int64], uuids: [String], times: [Double], bodies: [String]) {
        var ids: [Int64] = []
        var uuids: [String] = []
        var times: [Double] = []
        var bodies: [String] = []
        let encoder = CanopyJSON.encoder()
        for (group, id) in zip(groups, groupIDs) {
            for sample in group.samples.prefix(samplesPerGroup) {
                ids.append(id)
                uuids.append(sample.uuid)
                times.append(sample.timestamp?.timeIntervalSince1970 ?? .nan)
                bodies.append(String(decoding: try encoder.encode(sample), as: UTF8.self))
            }
        }
        return (ids, uuids, times, bodies)
    }

    /// A new leaf's services.
    private func writeServices(_ payload: FederationPayload, leafID: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        guard !payload.services.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO leaf_services (leaf_id, service, targets_total, targets_up)
            SELECT \(leafID), s, t, u FROM UNNEST(\(payload.services.map(\.name))::text[], \(payload.services.map(\.targetsTotal))::int8[], \(payload.services.map(\.targetsUp))::int8[]) AS x(s, t, u)
            """, logger: logger)
    }
}

extension FederationApply {
    static func warming(_ epoch: String) -> String { "warming:" + epoch }
}

/// Severities as stored: ordered so that the most severe is the greatest.
enum SeverityRank {
    static func rank(_ severity: Severity) -> Int {
        switch severity {
        case .info: 0
        case .warning: 1
        case .error: 2
        }
    }

    static func severity(_ rank: Int) -> Severity {
        switch rank {
        case ..<1: .info
        case 1: .warning
        default: .error
        }
    }
}
