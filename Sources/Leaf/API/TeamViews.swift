import Foundation
import Periskop
import Shared

/// Read-only views of the team's state for the APIs: everything a route needs, computed in one
/// place so that JSON API, Periskop API, federation and metrics agree.
struct TeamViews: Sendable {
    let state: TeamState
    let scrapes: ScrapeManager<TeamIngest>
    let discovery: DiscoveryManager
    let identity: @Sendable () -> LeafIdentity
    /// The services of the config in force: a service exists even before it has targets.
    let configuredServices: @Sendable () -> [String]
    /// What each group was when last federated: hubs are sent only what changed since.
    let federationLog = FederationChangeLog()

    enum Sort: String { case lastSeen = "last_seen", count, firstSeen = "first_seen" }

    struct Filter {
        var severity: Severity?
        var text: String?
        var includeResolved = false
        var sort: Sort = .lastSeen
    }

    func services() async -> [ServiceSummary] {
        let groups = await state.snapshot.groups
        let (total, up) = targetCounts()
        var summaries: [String: ServiceSummary] = [:]
        for service in Set(total.keys).union(groups.keys.map(\.service)).union(configuredServices()) {
            summaries[service] = ServiceSummary(name: service, targetsTotal: total[service] ?? 0, targetsUp: up[service] ?? 0, groups: 0, occurrences: 0)
        }
        for (id, group) in groups {
            guard var summary = summaries[id.service] else { continue }
            summary.groups += 1
            summary.occurrences += Int64(group.total)
            summary.lastSeen = GroupMerge.latest(summary.lastSeen, group.lastSeen)
            summaries[id.service] = summary
        }
        return summaries.values.sorted { $0.name < $1.name }
    }

    func hasService(_ name: String) async -> Bool {
        if configuredServices().contains(name) || scrapes.targets.contains(where: { $0.service == name }) { return true }
        return await state.snapshot.groups.keys.contains { $0.service == name }
    }

    func groups(of service: String, filter: Filter) async -> [GroupSummary] {
        await groups(in: [service], filter: filter)
    }

    /// The groups of several services (nil: all of them), as the team's pages list them together.
    func groups(in services: Set<String>?, filter: Filter) async -> [GroupSummary] {
        let groups = await state.snapshot.groups
        let instances = await state.instanceCounts()
        let needle = filter.text?.lowercased()
        var result: [GroupSummary] = []
        for (id, group) in groups where services?.contains(id.service) ?? true {
            if !filter.includeResolved && group.isResolved { continue }
            if let severity = filter.severity, group.severity != severity { continue }
            if let needle, !needle.isEmpty, !Self.matches(group, key: id.key, needle: needle) { continue }
            result.append(summary(id, group, instances: instances[id] ?? 0))
        }
        switch filter.sort {
        case .lastSeen:
            result.sort { ($0.lastSeen ?? .distantPast, $0.aggregationKey, $0.service) > ($1.lastSeen ?? .distantPast, $1.aggregationKey, $1.service) }
        case .firstSeen:
            result.sort { ($0.firstSeen ?? .distantPast, $0.aggregationKey, $0.service) > ($1.firstSeen ?? .distantPast, $1.aggregationKey, $1.service) }
        case .count: result.sort { ($0.total, $0.aggregationKey, $0.service) > ($1.total, $1.aggregationKey, $1.service) }
        }
        return result
    }

    func group(_ id: GroupID) async -> LeafGroupDetail? {
        guard let group = await state.group(id) else { return nil }
        let instances = await state.instances(of: id)
        let reports = instances.map {
            InstanceReport(instance: $0.process.instance, url: $0.process.url, targetUUID: $0.process.cursor.identity, count: $0.count, lastSeen: $0.process.lastSeen, current: $0.current)
        }
        return LeafGroupDetail(group: summary(id, group, instances: instances.filter(\.current).count), samples: group.samples, instances: reports)
    }

    /// A service's deploys, newest first (`GET /api/v1/services/{service}/deploys`).
    func deploys(of service: String) async -> [FederatedDeploy] {
        await state.deploys(of: service).reversed().map(\.federated)
    }

    func targets() -> TargetsReport {
        let health = scrapes.allHealth
        let active = scrapes.targets.sorted { $0.key < $1.key }.map { target in
            let record = health[target.key] ?? TargetHealth()
            return TargetReport(
                service: target.service, url: target.url, labels: target.labels, discoveredLabels: target.discoveredLabels, health: record.state,
                lastError: record.lastError, lastScrape: record.lastScrape, lastScrapeDurationSeconds: record.lastDurationSeconds,
                lastBodyBytes: record.lastBodyBytes, scrapeInterval: DurationParser.format(target.settings.interval),
                scrapeTimeout: DurationParser.format(target.settings.timeout))
        }
        let dropped = discovery.dropped.map { DroppedTargetReport(service: $0.service, discoveredLabels: $0.discoveredLabels) }
        return TargetsReport(active: active, dropped: dropped)
    }

    /// The federation payload; for a hub that names a body of this run it applied
    /// (`FederationChanges.requestHeader`), only the groups changed since (`FederationLog`).
    func federation(since header: String? = nil) async -> FederationPayload {
        let snapshot = await state.snapshot
        let instances = await state.instanceCounts()
        let (total, up) = targetCounts()
        var services: [String: FederatedService] = [:]
        for service in Set(total.keys).union(snapshot.groups.keys.map(\.service)).union(configuredServices()) {
            services[service] = FederatedService(
                name: service, targetsTotal: total[service] ?? 0, targetsUp: up[service] ?? 0, groups: [],
                deploys: snapshot.deploys[service]?.deploys.map(\.federated) ?? [])
        }
        let groups = snapshot.groups.sorted(by: { $0.key < $1.key }).map { id, group in
            (
                id: id,
                group: FederatedGroup(
                    aggregationKey: id.key, className: group.className, message: group.message, severity: group.severity, total: group.total,
                    firstSeen: group.firstSeen, lastSeen: group.lastSeen, instances: instances[id] ?? 0, samples: group.samples,
                    series: group.series.sorted { $0.labels.sorted.lexicographicallyPrecedes($1.labels.sorted) { ($0.name, $0.value) < ($1.name, $1.value) } })
            )
        }
        let (send, changes) = federationLog.record(groups, since: header.flatMap(FederationChanges.parse(header:)))
        for (id, group) in send { services[id.service]?.groups.append(group) }
        let leaf = identity()
        return FederationPayload(
            leaf: leaf, complete: isComplete(since: leaf.startedAt), services: services.values.sorted { $0.name < $1.name }, changes: changes)
    }

    /// Every target scraped at least once since the leaf started, and a whole interval passed (so
    /// that discovery had its turn too).
    func isComplete(since start: Date) -> Bool {
        let targets = scrapes.targets
        let health = scrapes.allHealth
        let longest = targets.map { $0.settings.interval }.max() ?? .zero
        guard Date().timeIntervalSince(start) >= longest.seconds else { return false }
        return targets.allSatisfy { health[$0.key]?.lastScrape != nil }
    }

    /// Targets per service, and how many of them answered their last scrape.
    func targetCounts() -> (total: [String: Int], up: [String: Int]) {
        let health = scrapes.allHealth
        var total: [String: Int] = [:]
        var up: [String: Int] = [:]
        for target in scrapes.targets {
            total[target.service, default: 0] += 1
            if health[target.key]?.state == .up { up[target.service, default: 0] += 1 }
        }
        return (total, up)
    }

    private func summary(_ id: GroupID, _ group: GroupState, instances: Int) -> GroupSummary {
        GroupSummary(
            service: id.service, aggregationKey: id.key, className: group.className, message: group.message, severity: group.severity, total: group.total,
            firstSeen: group.firstSeen, lastSeen: group.lastSeen, instances: instances, resolved: group.isResolved)
    }

    /// Text search over key, class, message and the newest sample's stack trace.
    static func matches(_ group: GroupState, key: String, needle: String) -> Bool {
        if key.lowercased().contains(needle) || group.className.lowercased().contains(needle) || group.message.lowercased().contains(needle) {
            return true
        }
        return group.samples.first?.error.stacktrace.contains { $0.lowercased().contains(needle) } ?? false
    }
}
