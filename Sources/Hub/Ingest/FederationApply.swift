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
        writeDeploys: Bool = true, complete: (GroupKey, FederatedGroup) throws -> FederatedGroup = { $1 }
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
        var locked: (Int64, String)?
        for try await row in try await connection.execute(IngestStatements.LockLeaf(url: leafURL), logger: logger) { locked = row }
        if let locked {
            (leafID, previousEpoch) = locked
            // A known leaf's new epoch is taken as a baseline until its first complete report; the
            // leaf row says `warming:<epoch>` meanwhile, so that the state survives a hub restart.
            let stored = previousEpoch != epoch && !payload.complete ? Self.warming(epoch) : epoch
            let update = IngestStatements.UpdateLeaf(
                job: job, name: payload.leaf.name, team: team, epoch: stored, startedAt: payload.leaf.startedAt, labels: labels, time: time,
                leafID: leafID, services: services.names, totals: services.totals, ups: services.ups)
            for try await (service, key, groupID, cursorEpoch, lastTotal) in try await connection.execute(update, logger: logger) {
                cursors[GroupKey(service: service, key: key)] = Cursor(groupID: groupID, epoch: cursorEpoch, lastTotal: lastTotal)
            }
        } else {
            // A leaf new to the hub has no cursors.
            let insert = IngestStatements.InsertLeaf(
                url: leafURL, job: job, name: payload.leaf.name, team: team, epoch: epoch, startedAt: payload.leaf.startedAt, labels: labels, time: time)
            var inserted: Int64?
            for try await id in try await connection.execute(insert, logger: logger) { inserted = id }
            leafID = inserted!
            if !payload.services.isEmpty {
                try await connection.run(
                    IngestStatements.InsertServices(leafID: leafID, services: services.names, totals: services.totals, ups: services.ups), logger: logger)
            }
        }
        if writeDeploys { result.rowsWritten += try await self.writeDeploys(payload, team: team, on: connection, logger: logger) }
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
        let samples = samplesToStore(changed.map(\.group), groupIDs: groupIDs)
        // The group cursors, the minute and hour counts, the status changes of groups that occur
        // again, and the samples, in one statement: none of these reads what another writes (the
        // status change reads the groups' totals, written by the statement before).
        try await connection.run(
            IngestStatements.CountsAndSamples(
                groupIDs: groupIDs, cursors: changed.map(\.cursor), increases: changed.map(\.increase), leafID: leafID, epoch: epoch, time: time,
                sampleGroups: samples.ids, sampleUUIDs: samples.uuids, sampleTimes: samples.times, sampleBodies: samples.bodies,
                grown: grown.map { groupIDs[$0] }),
            logger: logger)
        result.occurrencesAdded = grown.reduce(0) { $0 + changed[$1].increase }
        if !samples.ids.isEmpty {
            // Only the newest `samplesPerGroup` of each group stay: after the insert, which it must see.
            try await connection.run(IngestStatements.TrimSamples(groupIDs: groupIDs, limit: samplesPerGroup), logger: logger)
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
        let rows = try await connection.execute(
            IngestStatements.SeriesCursors(services: groups.map(\.service), keys: groups.map(\.key), team: team, leafID: leafID), logger: logger)
        let decoder = JSONDecoder()
        var cursors: [SeriesKey: (epoch: String, lastTotal: Int64)] = [:]
        for try await (service, key, labels, epoch, lastTotal) in rows {
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
        try await connection.run(
            IngestStatements.WriteSeries(
                groups: groups, labels: labels, increases: steps.map(\.increase), nexts: steps.map(\.next), leafID: leafID, epoch: epoch, time: time),
            logger: logger)
        return steps.count * 2 + steps.filter { $0.increase > 0 }.count
    }

    /// The payload's deploys, every one (a leaf sends its newest few per service).
    private func writeDeploys(_ payload: FederationPayload, team: String, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        // In key order, as every writer of these rows: two leaves of a team reporting one deploy never deadlock.
        let deploys = payload.services.flatMap { service in service.deploys.map { (service: service.name, deploy: $0) } }
            .sorted { ($0.service, $0.deploy.id) < ($1.service, $1.deploy.id) }
        guard !deploys.isEmpty else { return 0 }
        try await connection.run(
            IngestStatements.UpsertDeploys(
                team: team, services: deploys.map { $0.service }, ids: deploys.map { $0.deploy.id },
                times: deploys.map { $0.deploy.at.timeIntervalSince1970 }, versions: deploys.map { $0.deploy.version ?? "" },
                labels: deploys.map { $0.deploy.label ?? "" }, instances: deploys.map { $0.deploy.instances }),
            logger: logger)
        return deploys.count
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
        // From the stack trace as stored, so that `FingerprintBackfill` would compute the same.
        let fingerprints = zip(groups, stacktraces).map { BugFingerprint.make(className: $0.group.className, message: $0.group.message, storedStacktrace: $1) }
        let upsert = IngestStatements.UpsertGroups(
            team: team, time: time, services: services, keys: keys, classes: classes, messages: messages, stacktraces: stacktraces,
            severities: severities, firstSeen: firstSeen, lastSeen: lastSeen, increases: increases, fingerprints: fingerprints)
        let rows = try await connection.execute(upsert, logger: logger)
        var ids: [GroupKey: Int64] = [:]
        for try await (id, service, key) in rows {
            ids[GroupKey(service: service, key: key)] = id
        }
        return ids
    }

    /// The samples of the changed groups, newest `samplesPerGroup` of each, as the statement binds them.
    private func samplesToStore(_ groups: [FederatedGroup], groupIDs: [Int64]) -> (ids: [Int64], uuids: [String], times: [Double], bodies: [String]) {
        var ids: [Int64] = []
        var uuids: [String] = []
        var times: [Double] = []
        var bodies: [String] = []
        // The JSON value the sample's `Codable` form has (stored as jsonb, the same row), written
        // by the payload writer: `JSONEncoder` took a tenth of the hub's CPU here.
        let encoder = PayloadEncoder()
        for (group, id) in zip(groups, groupIDs) {
            for sample in group.samples.prefix(samplesPerGroup) {
                ids.append(id)
                uuids.append(sample.uuid)
                times.append(sample.timestamp?.timeIntervalSince1970 ?? .nan)
                bodies.append(String(decoding: encoder.encode(sample), as: UTF8.self))
            }
        }
        return (ids, uuids, times, bodies)
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
