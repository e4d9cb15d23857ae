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

/// Applies leaves' federation payloads to the database in one transaction: a crash never
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
    /// Shared by every copy: the hub's one ingest keeps one.
    let fingerprints = FingerprintCache()

    struct GroupKey: Hashable, Comparable, Sendable {
        var service: String
        var key: String
        static func < (a: GroupKey, b: GroupKey) -> Bool { (a.service, a.key) < (b.service, b.key) }
    }

    /// One leaf's scrape, as a batch applies it.
    struct Scrape: Sendable {
        var payload: FederationPayload
        var leafURL: String
        var job: String
        var time: Date
        /// False when the deploys are those of the leaf's last applied scrape.
        var writeDeploys = true
        /// The group with its samples, for a group the payload holds without them (`GroupReuse`);
        /// called only for the groups that are written.
        var complete: @Sendable (GroupKey, FederatedGroup) throws -> FederatedGroup = { $1 }
        /// What `StorablePayload` left out of the scrape, for its snapshot log row.
        var skipped: [FederationRejection] = []
    }

    /// One scrape's payload, applied and logged in the caller's transaction.
    func apply(
        _ payload: FederationPayload, leafURL: String, job: String, at time: Date, on connection: PostgresConnection, logger: Logger,
        writeDeploys: Bool = true
    ) async throws -> ApplyResult {
        let scrape = Scrape(payload: payload, leafURL: leafURL, job: job, time: time, writeDeploys: writeDeploys)
        return try await apply([scrape], on: connection, logger: logger)[0]
    }

    /// Applies and logs each scrape in the caller's transaction, with one statement of each kind
    /// for all of them: a statement's fixed cost is paid once per batch, not once per leaf. Leaves
    /// of one team (whose groups are the same rows) are applied one after another, in rounds.
    func apply(_ scrapes: [Scrape], on connection: PostgresConnection, logger: Logger) async throws -> [ApplyResult] {
        var results = [ApplyResult](repeating: ApplyResult(), count: scrapes.count)
        for round in Self.rounds(scrapes) {
            let applied = try await applyRound(round.map { scrapes[$0] }, on: connection, logger: logger)
            for (index, result) in zip(round, applied) { results[index] = result }
        }
        return results
    }

    /// The scrapes' indices in rounds within which no two share a team or a leaf, each scrape in
    /// the round after the last one holding its team or leaf, so that a leaf's scrapes keep their order.
    static func rounds(_ scrapes: [Scrape]) -> [[Int]] {
        var roundOf: [String: Int] = [:]
        var rounds: [[Int]] = []
        for (index, scrape) in scrapes.enumerated() {
            let keys = ["team " + (scrape.payload.leaf.team ?? ""), "leaf " + scrape.leafURL]
            let round = keys.compactMap { roundOf[$0] }.max().map { $0 + 1 } ?? 0
            if round == rounds.count { rounds.append([]) }
            rounds[round].append(index)
            for key in keys { roundOf[key] = round }
        }
        return rounds
    }

    /// A leaf as one round applies it.
    private struct Leaf {
        var id: Int64
        var team: String
        var epoch: String
        /// The epoch its row says, as it was before this scrape.
        var previousEpoch: String?
        /// The epoch its row says after this scrape.
        var stored: String
        var rebasing: Bool { previousEpoch != nil && previousEpoch != epoch }
    }

    /// A group a round writes: its leaf's scrape, what it adds and the cursor it leaves.
    private struct Change {
        var scrape: Int
        var key: GroupKey
        var group: FederatedGroup
        var increase: Int64
        var cursor: Int64
    }

    private func applyRound(_ scrapes: [Scrape], on connection: PostgresConnection, logger: Logger) async throws -> [ApplyResult] {
        var results = [ApplyResult](repeating: ApplyResult(), count: scrapes.count)
        let leaves = try await lockLeaves(scrapes, results: &results, on: connection, logger: logger)

        // The cursors are read after the locks are held, by a statement of their own: its snapshot
        // then holds what another hub committed for these leaves meanwhile.
        let cursors = try await updateLeaves(scrapes, leaves, on: connection, logger: logger)
        for (index, scrape) in scrapes.enumerated() where scrape.writeDeploys {
            results[index].rowsWritten += scrape.payload.services.reduce(0) { $0 + $1.deploys.count }
        }
        try await writeDeploys(scrapes.indices.filter { scrapes[$0].writeDeploys }.map { (scrapes[$0], leaves[$0].team) }, on: connection, logger: logger)

        // Only groups whose total or epoch moved are written: the steady state writes nothing.
        var changes: [Change] = []
        var seriesSteps: [(scrape: Int, step: SeriesStep)] = []
        for (index, scrape) in scrapes.enumerated() {
            let leaf = leaves[index]
            let leafLabels = Self.seriesLabels(ofLeaf: scrape.payload.leaf.externalLabels)
            for service in scrape.payload.services {
                for group in service.groups {
                    let key = GroupKey(service: service.name, key: group.aggregationKey)
                    let cursor = cursors.groups[index][key]
                    guard let step = Self.step(total: Int64(group.total), cursor: cursor, epoch: leaf.epoch, rebasing: leaf.rebasing) else { continue }
                    let complete = try scrape.complete(key, group)
                    changes.append(Change(scrape: index, key: key, group: complete, increase: step.increase, cursor: step.next))
                    // The series of a changed group, counted by the same rule, then reconciled with
                    // the group's increase so that a group's total stays the sum of its series' totals.
                    seriesSteps += Self.seriesSteps(
                        of: complete, key: key, groupIncrease: step.increase, leafLabels: leafLabels, cursors: cursors.series[index],
                        epoch: leaf.epoch, rebasing: leaf.rebasing
                    ).map { (index, $0) }
                }
            }
        }
        // In key order, as every writer of these rows: two batches never deadlock over them.
        changes.sort { (leaves[$0.scrape].team, $0.key) < (leaves[$1.scrape].team, $1.key) }

        let ids = try await upsertGroups(changes, leaves: leaves, scrapes: scrapes, on: connection, logger: logger)
        let groupIDs = changes.map { ids[TeamGroupKey(team: leaves[$0.scrape].team, key: $0.key)]! }
        try await writeSeries(seriesSteps, groupIDs: ids, leaves: leaves, scrapes: scrapes, on: connection, logger: logger)
        for (scrape, step) in seriesSteps { results[scrape].rowsWritten += step.increase > 0 ? 3 : 2 }
        let grown = changes.indices.filter { changes[$0].increase > 0 }
        for change in changes {
            results[change.scrape].groupsChanged += 1
            results[change.scrape].rowsWritten += change.increase > 0 ? 4 : 2
            results[change.scrape].occurrencesAdded += change.increase
        }
        let samples = samplesToStore(changes, groupIDs: groupIDs, leaves: leaves)
        for change in changes { results[change.scrape].rowsWritten += min(change.group.samples.count, samplesPerGroup) }
        for index in results.indices { results[index].skipped = scrapes[index].skipped }

        // The group cursors, the minute and hour counts, the status changes of groups that occur
        // again, the samples and the scrapes' log rows, in one statement: none of these reads what
        // another writes (the status change reads the groups' totals, written by the statement before).
        let logged = Date()
        try await connection.run(
            IngestStatements.CountsAndSamples(
                groupIDs: groupIDs, cursors: changes.map(\.cursor), increases: changes.map(\.increase), leafIDs: changes.map { leaves[$0.scrape].id },
                epochs: changes.map { leaves[$0.scrape].epoch }, times: changes.map { scrapes[$0.scrape].time },
                sampleGroups: samples.ids, sampleUUIDs: samples.uuids, sampleTimes: samples.times, sampleBodies: samples.bodies, sampleLeaves: samples.leaves,
                grown: grown.map { groupIDs[$0] }, grownTimes: grown.map { scrapes[changes[$0].scrape].time },
                log: IngestStatements.ScrapeLogRows(
                    leafIDs: leaves.map(\.id), urls: scrapes.map(\.leafURL), times: scrapes.map(\.time),
                    durations: scrapes.map { max(0, logged.timeIntervalSince($0.time)) }, epochs: leaves.map(\.stored),
                    groupsChanged: results.map(\.groupsChanged), occurrencesAdded: results.map(\.occurrencesAdded),
                    skipped: results.map(\.skipped.count), skippedDetail: results.map { Self.detail($0.skipped) })),
            logger: logger)
        if !samples.ids.isEmpty {
            // Only the newest `samplesPerGroup` of each group stay: after the insert, which it must see.
            try await connection.run(IngestStatements.TrimSamples(groupIDs: Array(Set(samples.ids)).sorted(), limit: samplesPerGroup), logger: logger)
        }
        return results
    }

    /// The round's leaves, their rows locked in id order for the transaction (so that two hubs
    /// never apply one leaf at once, and never deadlock doing so); a leaf new to the hub inserted.
    private func lockLeaves(_ scrapes: [Scrape], results: inout [ApplyResult], on connection: PostgresConnection, logger: Logger) async throws -> [Leaf] {
        var known: [String: (id: Int64, epoch: String)] = [:]
        for try await (id, url, epoch) in try await connection.rows(IngestStatements.LockLeaves(urls: scrapes.map(\.leafURL)), logger: logger) {
            known[url] = (id, epoch)
        }
        var leaves: [Leaf] = []
        for (index, scrape) in scrapes.enumerated() {
            let payload = scrape.payload
            let team = payload.leaf.team ?? ""
            let epoch = payload.leaf.epoch
            if let (id, previous) = known[scrape.leafURL] {
                // A known leaf's new epoch is taken as a baseline until its first complete report; the
                // leaf row says `warming:<epoch>` meanwhile, so that the state survives a hub restart.
                let stored = previous != epoch && !payload.complete ? Self.warming(epoch) : epoch
                leaves.append(Leaf(id: id, team: team, epoch: epoch, previousEpoch: previous, stored: stored))
                results[index].epochChanged = previous != epoch && previous != Self.warming(epoch)
                continue
            }
            // A leaf new to the hub: its row and services; it has no cursors.
            let insert = IngestStatements.InsertLeaf(
                url: scrape.leafURL, job: scrape.job, name: payload.leaf.name, team: team, epoch: epoch, startedAt: payload.leaf.startedAt,
                labels: try Self.labelsJSON(payload), time: scrape.time)
            var inserted: Int64?
            for try await id in try await connection.rows(insert, logger: logger) { inserted = id }
            guard let id = inserted else { throw FederationApplyError("inserting the leaf \(scrape.leafURL) returned no id") }
            if !payload.services.isEmpty {
                try await connection.run(
                    IngestStatements.InsertServices(
                        leafID: id, services: payload.services.map(\.name), totals: payload.services.map(\.targetsTotal), ups: payload.services.map(\.targetsUp)),
                    logger: logger)
            }
            leaves.append(Leaf(id: id, team: team, epoch: epoch, previousEpoch: nil, stored: epoch))
        }
        return leaves
    }

    private static func labelsJSON(_ payload: FederationPayload) throws -> String {
        String(decoding: try CanopyJSON.encoder().encode(payload.leaf.externalLabels), as: UTF8.self)
    }

    /// The known leaves' rows and services written, and each scrape's cursors of the groups its
    /// payload holds, with their series' cursors (only those groups can change).
    private func updateLeaves(
        _ scrapes: [Scrape], _ leaves: [Leaf], on connection: PostgresConnection, logger: Logger
    ) async throws -> (groups: [[GroupKey: (epoch: String, lastTotal: Int64)]], series: [[SeriesKey: (epoch: String, lastTotal: Int64)]]) {
        var groups = [[GroupKey: (epoch: String, lastTotal: Int64)]](repeating: [:], count: scrapes.count)
        var series = [[SeriesKey: (epoch: String, lastTotal: Int64)]](repeating: [:], count: scrapes.count)
        let known = scrapes.indices.filter { leaves[$0].previousEpoch != nil }
        guard !known.isEmpty else { return (groups, series) }
        var update = IngestStatements.UpdateLeaves()
        for index in known {
            let (scrape, leaf) = (scrapes[index], leaves[index])
            update.ids.append(leaf.id)
            update.jobs.append(scrape.job)
            update.names.append(scrape.payload.leaf.name)
            update.teams.append(leaf.team)
            update.epochs.append(leaf.stored)
            update.startedAt.append(scrape.payload.leaf.startedAt)
            update.labels.append(try Self.labelsJSON(scrape.payload))
            update.times.append(scrape.time)
            for service in scrape.payload.services {
                update.serviceLeaves.append(leaf.id)
                update.services.append(service.name)
                update.totals.append(service.targetsTotal)
                update.ups.append(service.targetsUp)
            }
        }
        // The keys asked for, by position: each row of the answer names the key it belongs to.
        var asked: [(scrape: Int, key: GroupKey)] = []
        for index in known {
            for service in scrapes[index].payload.services {
                for group in service.groups {
                    asked.append((index, GroupKey(service: service.name, key: group.aggregationKey)))
                    update.keyLeaves.append(leaves[index].id)
                    update.keyTeams.append(leaves[index].team)
                    update.keyServices.append(service.name)
                    update.keys.append(group.aggregationKey)
                }
            }
        }
        let decoder = JSONDecoder()
        for try await (position, groupEpoch, groupTotal, labels, seriesEpoch, seriesTotal) in try await connection.rows(update, logger: logger) {
            let (index, key) = asked[Int(position) - 1]
            if let groupEpoch, let groupTotal { groups[index][key] = (groupEpoch, groupTotal) }
            if let labels, let seriesEpoch, let seriesTotal {
                let decoded = (try? decoder.decode(Labels.self, from: Data(labels.utf8))) ?? Labels()
                series[index][SeriesKey(group: key, labels: decoded)] = (seriesEpoch, seriesTotal)
            }
        }
        return (groups, series)
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

    /// A group as the database keys it: groups belong to a team.
    private struct TeamGroupKey: Hashable {
        var team: String
        var key: GroupKey
    }

    /// Adds the series' increases to their totals and minute history, and moves their cursors.
    private func writeSeries(
        _ steps: [(scrape: Int, step: SeriesStep)], groupIDs: [TeamGroupKey: Int64], leaves: [Leaf], scrapes: [Scrape], on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        guard !steps.isEmpty else { return }
        let encoder = CanopyJSON.encoder()
        // The series' totals, their cursors and their minutes in one statement: the cursors and
        // minutes take the ids the upsert returns, matched to the steps by group and labels.
        try await connection.run(
            IngestStatements.WriteSeries(
                groups: steps.map { groupIDs[TeamGroupKey(team: leaves[$0.scrape].team, key: $0.step.key)]! },
                labels: try steps.map { String(decoding: try encoder.encode($0.step.labels), as: UTF8.self) },
                increases: steps.map(\.step.increase), nexts: steps.map(\.step.next), leafIDs: steps.map { leaves[$0.scrape].id },
                epochs: steps.map { leaves[$0.scrape].epoch }, times: steps.map { scrapes[$0.scrape].time }),
            logger: logger)
    }

    /// The payloads' deploys, every one (a leaf sends its newest few per service).
    private func writeDeploys(_ scrapes: [(scrape: Scrape, team: String)], on connection: PostgresConnection, logger: Logger) async throws {
        // In key order, as every writer of these rows: two leaves of a team reporting one deploy never deadlock.
        let deploys = scrapes.flatMap { scrape, team in
            scrape.payload.services.flatMap { service in service.deploys.map { (team: team, service: service.name, deploy: $0) } }
        }.sorted { ($0.team, $0.service, $0.deploy.id) < ($1.team, $1.service, $1.deploy.id) }
        guard !deploys.isEmpty else { return }
        try await connection.run(
            IngestStatements.UpsertDeploys(
                teams: deploys.map(\.team), services: deploys.map(\.service), ids: deploys.map(\.deploy.id),
                times: deploys.map { $0.deploy.at.timeIntervalSince1970 }, versions: deploys.map { $0.deploy.version ?? "" },
                labels: deploys.map { $0.deploy.label ?? "" }, instances: deploys.map(\.deploy.instances)),
            logger: logger)
    }

    private func upsertGroups(
        _ changes: [Change], leaves: [Leaf], scrapes: [Scrape], on connection: PostgresConnection, logger: Logger
    ) async throws -> [TeamGroupKey: Int64] {
        guard !changes.isEmpty else { return [:] }
        func seconds(_ date: Date?) -> Double { date?.timeIntervalSince1970 ?? .nan }
        // The newest stack trace, searched in one column: bounded, as a sample's lines are.
        let stacktraces = changes.map { TextBounds.cut($0.group.samples.first?.error.stacktrace.joined(separator: "\n") ?? "", to: 64 * 1024) }
        let upsert = IngestStatements.UpsertGroups(
            teams: changes.map { leaves[$0.scrape].team }, times: changes.map { scrapes[$0.scrape].time }, services: changes.map(\.key.service),
            keys: changes.map(\.key.key), classes: changes.map(\.group.className), messages: changes.map(\.group.message), stacktraces: stacktraces,
            severities: changes.map { Int16(SeverityRank.rank($0.group.severity)) }, firstSeen: changes.map { seconds($0.group.firstSeen) },
            lastSeen: changes.map { seconds($0.group.lastSeen) }, increases: changes.map(\.increase),
            // From the stack trace as stored, so that `FingerprintBackfill` would compute the same.
            fingerprints: zip(changes, stacktraces).map { fingerprints.fingerprint(className: $0.group.className, message: $0.group.message, storedStacktrace: $1) })
        var ids: [TeamGroupKey: Int64] = [:]
        for try await (id, team, service, key) in try await connection.rows(upsert, logger: logger) {
            ids[TeamGroupKey(team: team, key: GroupKey(service: service, key: key))] = id
        }
        return ids
    }

    /// The samples of the changed groups, newest `samplesPerGroup` of each, as the statement binds them.
    private func samplesToStore(
        _ changes: [Change], groupIDs: [Int64], leaves: [Leaf]
    ) -> (ids: [Int64], uuids: [String], times: [Double], bodies: [String], leaves: [Int64]) {
        var ids: [Int64] = []
        var uuids: [String] = []
        var times: [Double] = []
        var bodies: [String] = []
        var leafIDs: [Int64] = []
        // The JSON value the sample's `Codable` form has (stored as jsonb, the same row), written
        // by the payload writer: `JSONEncoder` took a tenth of the hub's CPU here.
        let encoder = PayloadEncoder()
        for (change, id) in zip(changes, groupIDs) {
            for sample in change.group.samples.prefix(samplesPerGroup) {
                ids.append(id)
                uuids.append(sample.uuid)
                times.append(sample.timestamp?.timeIntervalSince1970 ?? .nan)
                bodies.append(String(decoding: encoder.encode(sample), as: UTF8.self))
                leafIDs.append(leaves[change.scrape].id)
            }
        }
        return (ids, uuids, times, bodies, leafIDs)
    }
}

/// A batch that could not be applied for a reason of its own, not the database's.
struct FederationApplyError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension FederationApply {
    static func warming(_ epoch: String) -> String { "warming:" + epoch }

    /// The first few things left out of a scrape, for its snapshot log row.
    static func detail(_ skipped: [FederationRejection]) -> String? {
        guard !skipped.isEmpty else { return nil }
        let shown = skipped.prefix(10).map { StorablePayload.preview($0.description) }
        return shown.joined(separator: "; ") + (skipped.count > shown.count ? "; and \(skipped.count - shown.count) more" : "")
    }
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
