import Foundation
import Periskop
import Shared

/// A group at the leaf: one aggregation key of one service.
struct GroupID: Hashable, Codable, Sendable, Comparable {
    var service: String
    var key: String

    static func < (lhs: GroupID, rhs: GroupID) -> Bool { (lhs.service, lhs.key) < (rhs.service, rhs.key) }
}

struct GroupState: Codable, Sendable, Equatable {
    var className: String
    var message: String
    var severity: Severity
    /// Occurrences counted by this leaf: only grows.
    var total: Int
    /// The total per target-label set: they sum to `total`.
    var series: [ExceptionSeries] = []
    var firstSeen: Date?
    var lastSeen: Date?
    /// Newest first, scrubbed.
    var samples: [ErrorWithContext]
    /// Set by a resolve through the Periskop API: the group is hidden until its total passes this.
    var resolvedAtTotal: Int?

    var isResolved: Bool { resolvedAtTotal.map { total <= $0 } ?? false }

    init(className: String, message: String, severity: Severity, total: Int, series: [ExceptionSeries] = [], firstSeen: Date?, lastSeen: Date?, samples: [ErrorWithContext]) {
        self.className = className
        self.message = message
        self.severity = severity
        self.total = total
        self.series = series
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.samples = samples
    }

    enum CodingKeys: String, CodingKey {
        case className = "class"
        case message, severity, total, samples, series
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
        case resolvedAtTotal = "resolved_at_total"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        className = try container.decode(String.self, forKey: .className)
        message = try container.decode(String.self, forKey: .message)
        severity = try container.decode(Severity.self, forKey: .severity)
        total = try container.decode(Int.self, forKey: .total)
        firstSeen = try container.decodeIfPresent(Date.self, forKey: .firstSeen)
        lastSeen = try container.decodeIfPresent(Date.self, forKey: .lastSeen)
        samples = try container.decode([ErrorWithContext].self, forKey: .samples)
        resolvedAtTotal = try container.decodeIfPresent(Int.self, forKey: .resolvedAtTotal)
        // Saved before series existed: everything counted so far is one series without target labels.
        series = try container.decodeIfPresent([ExceptionSeries].self, forKey: .series) ?? (total > 0 ? [ExceptionSeries(labels: Labels(), total: total)] : [])
    }
}

/// One process as the leaf knows it: the counts it reported last, to count on from.
struct ProcessState: Codable, Sendable, Equatable {
    var service: String
    var instance: String
    var url: String
    var cursor: SourceCursor
    var lastSeen: Date

    enum CodingKeys: String, CodingKey {
        case service, instance, url, cursor
        case lastSeen = "last_seen"
    }
}

/// Everything a leaf counts, as one value: what is persisted and restored. Totals and cursors
/// live together so that any saved copy is consistent: a leaf restored from it counts on exactly.
struct TeamSnapshot: Codable, Sendable, Equatable {
    static let currentVersion = 1

    var version = currentVersion
    var epoch: String
    var groups: [GroupID: GroupState] = [:]
    /// Keyed by process identity: `<service> uuid:<target_uuid>`, or `<service> url:<url>` for clients that send none.
    var processes: [String: ProcessState] = [:]
    /// Per service, the deploys seen. Absent from a state saved before deploys.
    var deploys: [String: DeployLog] = [:]

    init(epoch: String) { self.epoch = epoch }

    // Groups are stored as a list: JSON objects only have string keys.
    private struct StoredGroup: Codable {
        var service: String
        var key: String
        var group: GroupState
    }

    enum CodingKeys: String, CodingKey { case version, epoch, groups, processes, deploys }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(Int.self, forKey: .version)
        epoch = try container.decode(String.self, forKey: .epoch)
        processes = try container.decode([String: ProcessState].self, forKey: .processes)
        deploys = try container.decodeIfPresent([String: DeployLog].self, forKey: .deploys) ?? [:]
        for stored in try container.decode([StoredGroup].self, forKey: .groups) {
            groups[GroupID(service: stored.service, key: stored.key)] = stored.group
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encode(epoch, forKey: .epoch)
        try container.encode(processes, forKey: .processes)
        if !deploys.isEmpty { try container.encode(deploys, forKey: .deploys) }
        try container.encode(groups.sorted { $0.key < $1.key }.map { StoredGroup(service: $0.key.service, key: $0.key.key, group: $0.value) }, forKey: .groups)
    }
}

/// The team's aggregates: what every scrape is merged into, and what every view reads.
actor TeamState {
    private(set) var snapshot: TeamSnapshot
    /// Which process each target showed last, so an unchanged body can mark it seen.
    private var currentProcess: [TargetKey: String] = [:]
    private(set) var changes = 0
    /// What each group keeps of its samples, for decoding to skip what merging would drop.
    nonisolated let keptSamples = KeptSampleIndex()

    /// Processes not heard from for this long are forgotten. A process that came back after that
    /// would be counted again from zero, so this is far longer than any real outage.
    static let processRetention: TimeInterval = 7 * 86400

    init(snapshot: TeamSnapshot) {
        self.snapshot = snapshot
    }

    var epoch: String { snapshot.epoch }

    /// A consistent copy to save, and the change count it includes.
    func snapshotForSaving() -> (TeamSnapshot, Int) { (snapshot, changes) }

    /// Merges one fully decoded scrape of one target.
    func apply(
        _ payload: ExceptionsPayload, from target: ScrapeTarget, at time: Date, sampleLimit: Int, scrubber: Scrubber, series rule: SeriesRule = SeriesRule(),
        deploys: DeployRule = DeployRule()
    ) {
        // Nothing was skipped, so nothing can be uncovered: this always merges.
        apply(SkimmedPayload(payload), from: target, at: time, sampleLimit: sampleLimit, scrubber: scrubber, series: rule, deploys: deploys)
    }

    /// Merges one scrape of one target: adds what each count grew by, merges samples.
    ///
    /// Returns false, and changes nothing, when a sample that decoding skipped is not one this
    /// state covers (another scrape merged since the decode read `keptSamples`): then the caller
    /// decodes the body in full and applies that.
    @discardableResult
    func apply(
        _ payload: SkimmedPayload, from target: ScrapeTarget, at time: Date, sampleLimit: Int, scrubber: Scrubber, series rule: SeriesRule = SeriesRule(),
        deploys: DeployRule = DeployRule()
    ) -> Bool {
        // A process scraped by two services counts in each; within a service, once.
        let identity = payload.targetUUID.map { "\(target.service) uuid:\($0)" } ?? "\(target.service) url:\(target.url)"
        var process = snapshot.processes[identity] ?? ProcessState(
            service: target.service, instance: target.instance, url: target.url, cursor: SourceCursor(identity: payload.targetUUID), lastSeen: time)
        var counts: [String: Int] = [:]
        counts.reserveCapacity(payload.groups.count)
        for entry in payload.groups { counts[entry.group.aggregationKey] = max(counts[entry.group.aggregationKey] ?? 0, entry.group.totalCount) }
        let increases = process.cursor.advance(identity: payload.targetUUID, counts: counts)

        // Merged aside first, so that an uncovered skip leaves everything as it was. A key that
        // comes twice merges twice, the second time into the first's result.
        let merge = ScrapeMerge(
            identity: identity, time: time, sampleLimit: sampleLimit, scrubber: scrubber, rule: rule, seriesLabels: rule.seriesLabels(of: target.labels))
        var merged: [GroupID: (state: GroupState, kept: KeptSamples?)] = [:]
        merged.reserveCapacity(payload.groups.count)
        for entry in payload.groups {
            let id = GroupID(service: target.service, key: entry.group.aggregationKey)
            let state = merged[id]?.state ?? snapshot.groups[id] ?? GroupState(
                className: "", message: "", severity: entry.group.severity, total: 0, firstSeen: nil, lastSeen: nil, samples: [])
            // What the group's samples cover before this scrape: published by the last merge into it
            // (every merge publishes), made again only for a new group or a new sample_limit.
            let increase = increases[entry.group.aggregationKey] ?? 0
            let covered = increase == 0 ? nil : merged[id]?.kept ?? keptSamples.kept(id, limit: sampleLimit) ?? KeptSamples(newestFirst: state.samples, limit: sampleLimit)
            guard let result = merge(entry, into: state, increase: increase, covered: covered) else { return false }
            merged[id] = result
        }

        recordDeploy(payload, from: target, identity: identity, at: time, rule: deploys)
        process.lastSeen = time
        process.instance = target.instance
        snapshot.processes[identity] = process
        currentProcess[target.key] = identity
        for (id, result) in merged {
            if result.state != snapshot.groups[id] { snapshot.groups[id] = result.state }
            if let kept = result.kept {
                keptSamples.publish(kept, limit: sampleLimit, for: id)
            } else if keptSamples.kept(id, limit: sampleLimit) == nil {
                keptSamples.publish(KeptSamples(newestFirst: result.state.samples, limit: sampleLimit), limit: sampleLimit, for: id)
            }
        }
        changes += 1
        return true
    }

    /// What this scrape shows of the service's deploys (`DeployLog`), before the process is recorded.
    private func recordDeploy(_ payload: SkimmedPayload, from target: ScrapeTarget, identity: String, at time: Date, rule: DeployRule) {
        let version = rule.version(in: target.labels)
        let newProcess = snapshot.processes[identity] == nil
        guard version != nil || newProcess else { return }
        // A new target_uuid where the service had a process at the same URL: that process was replaced.
        let restart =
            newProcess && payload.targetUUID != nil
            && snapshot.processes.contains { $0.key != identity && $0.value.service == target.service && $0.value.url == target.url }
        // A new process has reported nothing from before it started: its oldest occurrence is
        // when it ran at the latest, and may be well before its first scrape.
        var start = time
        if newProcess {
            for entry in payload.groups {
                if let created = entry.group.createdAt, created < start { start = created }
                if let earliest = entry.sampleTimes.earliest, earliest < start { start = earliest }
            }
        }
        let sighting = DeployLog.Sighting(instance: target.instance, version: version, newProcess: newProcess, restart: restart, at: start)
        if snapshot.deploys[target.service, default: DeployLog()].record(sighting, rule: rule) { changes += 1 }
    }

    /// The deploys of a service, oldest first.
    func deploys(of service: String) -> [DeployRecord] { snapshot.deploys[service]?.deploys ?? [] }

    /// The targets answered with the bodies they gave last time: their processes are alive.
    func markSeen(_ sightings: [TargetKey: Date]) {
        for (key, time) in sightings {
            guard let identity = currentProcess[key], let seen = snapshot.processes[identity]?.lastSeen else { continue }
            // A sighting waits up to a second: a body consumed meanwhile may have seen it later.
            snapshot.processes[identity]?.lastSeen = max(seen, time)
        }
    }

    func targetRemoved(_ target: ScrapeTarget) {
        currentProcess[target.key] = nil
    }

    /// Resolves a group (Periskop's DELETE): hidden until its count grows again.
    func resolve(_ id: GroupID) -> Bool {
        guard var state = snapshot.groups[id] else { return false }
        state.resolvedAtTotal = state.total
        snapshot.groups[id] = state
        changes += 1
        return true
    }

    /// Forgets processes not seen for `processRetention`. Their counts stay in the totals.
    func forgetStaleProcesses(now: Date) {
        let before = snapshot.processes.count
        snapshot.processes = snapshot.processes.filter { now.timeIntervalSince($0.value.lastSeen) < Self.processRetention }
        if snapshot.processes.count != before { changes += 1 }
    }

    func group(_ id: GroupID) -> GroupState? { snapshot.groups[id] }

    /// The processes reporting a group, and which of them are the current process of a target.
    func instances(of id: GroupID) -> [(process: ProcessState, count: Int, current: Bool)] {
        let current = Set(currentProcess.values)
        return snapshot.processes.compactMap { identity, process in
            guard process.service == id.service, let count = process.cursor.counts[id.key] else { return nil }
            return (process, count, current.contains(identity))
        }
        .sorted { $0.process.instance < $1.process.instance }
    }

    /// How many current processes report each group.
    func instanceCounts() -> [GroupID: Int] {
        var counts: [GroupID: Int] = [:]
        for identity in Set(currentProcess.values) {
            guard let process = snapshot.processes[identity] else { continue }
            for key in process.cursor.counts.keys { counts[GroupID(service: process.service, key: key), default: 0] += 1 }
        }
        return counts
    }
}

/// How one scrape's groups are merged into their states.
private struct ScrapeMerge {
    /// The process, as a source of derived sample uuids.
    var identity: String
    var time: Date
    var sampleLimit: Int
    var scrubber: Scrubber
    var rule: SeriesRule
    var seriesLabels: Labels

    /// The group's new state, and what it keeps of its samples when they were merged (only then
    /// is it worth publishing); nil when a skipped sample is not one `state` covers. `covered` is
    /// what `state`'s samples cover, given when `increase` is positive.
    func callAsFunction(
        _ entry: SkimmedGroup, into state: GroupState, increase: Int, covered: KeptSamples?
    ) -> (state: GroupState, kept: KeptSamples?)? {
        let group = entry.group
        var state = state
        var kept: KeptSamples?
        // Samples change only with new occurrences: a process whose count did not grow shows
        // the samples it showed before. And what the state covers (a kept uuid, or, once the group
        // is full, a time no newer than the oldest kept) would be dropped at once: neither is
        // scrubbed or merged. Skipped samples are exactly such; with the built ones dropped the
        // same way, the merge is what it would be had every sample been built.
        if increase > 0, let before = covered {
            guard entry.skipped.allSatisfy({ before.covers(uuid: $0.uuid, timestamp: $0.timestamp) }) else { return nil }
            let fresh = Array(
                group.latestErrors.lazy
                    .map { GroupMerge.withUUID($0, source: identity) }
                    .filter { !before.covers(uuid: $0.uuid, timestamp: $0.timestamp) }
                    .map(scrubber.scrub))
            state.samples = GroupMerge.samples(state.samples, adding: fresh, limit: sampleLimit)
            kept = fresh.isEmpty ? before : KeptSamples(newestFirst: state.samples, limit: sampleLimit)
        }
        state.total += increase
        if increase > 0 { rule.add(increase, labels: seriesLabels, to: &state.series) }
        state.severity = max(state.severity, group.severity)
        // Skipped samples count here as much as built ones.
        let times = entry.sampleTimes
        state.firstSeen = GroupMerge.earliest(state.firstSeen, GroupMerge.earliest(group.createdAt, times.earliest))
        if increase > 0 {
            if let newest = times.latest, newest > (state.lastSeen ?? .distantPast) {
                state.lastSeen = newest
            } else {
                state.lastSeen = max(time, state.lastSeen ?? time)
            }
            if let resolved = state.resolvedAtTotal, state.total > resolved { state.resolvedAtTotal = nil }
        }
        if let latest = state.samples.first {
            state.className = latest.error.className
            state.message = latest.error.message
        } else if state.className.isEmpty {
            state.className = group.aggregationKey
        }
        return (state, kept)
    }
}
