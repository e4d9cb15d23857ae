import Foundation
import Periskop
import Prometheus
import Shared

/// `/metrics`: target health, per-group exception totals and process metrics, brought up to
/// date from the team state on each request. The exception series have the hub's names and
/// labels, so that the shipped rules work in a team's own Prometheus too; and Periskop's
/// `periskop_error_occurrences`, so that rules written for a Periskop server keep working.
struct LeafMetrics: Sendable {
    private let server = ServerMetrics(server: "leaf", scraped: "target", jobLabel: "service")
    private let exceptions: CounterFamily
    private let groups: GaugeFamily
    private let firstSeen: GaugeFamily
    private let lastSeen: GaugeFamily
    private let periskop: GaugeFamily
    private let saves: CounterFamily
    private let saveFailures: CounterFamily
    private let lastSave: GaugeFamily
    private let saveFailing: GaugeFamily
    private let saveHealth: SaveHealth
    private let federationBodies: CounterFamily

    init(saveHealth: SaveHealth) {
        self.saveHealth = saveHealth
        saves = CounterFamily(registry: server.registry, name: "canopy_leaf_state_saves", help: "Saves of the counts to the data dir.")
        saveFailures = CounterFamily(
            registry: server.registry, name: "canopy_leaf_state_save_failures", help: "Saves of the counts to the data dir that failed (a full or read-only disk).")
        lastSave = GaugeFamily(
            registry: server.registry, name: "canopy_leaf_state_last_save_timestamp_seconds", help: "When the counts were last saved, in seconds since the Unix epoch (0: not yet).")
        saveFailing = GaugeFamily(
            registry: server.registry, name: "canopy_leaf_state_save_failing", help: "1 while the latest save of the counts failed: a restart now would lose what came since.")
        federationBodies = CounterFamily(
            registry: server.registry, name: "canopy_leaf_federation_bodies",
            help: "Federation bodies served, by kind: full (every group), or delta (the groups changed since the body the hub applied last).")
        exceptions = CounterFamily(registry: server.registry, name: "canopy_exceptions", help: "Occurrences of each exception group, counted across the service's instances.")
        groups = GaugeFamily(registry: server.registry, name: "canopy_groups", help: "Exception groups per service.")
        firstSeen = GaugeFamily(
            registry: server.registry, name: "canopy_group_first_seen_timestamp_seconds", help: "When the group first occurred, in seconds since the Unix epoch.")
        lastSeen = GaugeFamily(
            registry: server.registry, name: "canopy_group_last_seen_timestamp_seconds", help: "When the group last occurred, in seconds since the Unix epoch.")
        // A gauge, not a counter: a counter's name must end in _total, Periskop's does not.
        periskop = GaugeFamily(
            registry: server.registry, name: "periskop_error_occurrences",
            help: "Occurrences of each exception group, as a Periskop server names them (service_name, severity, aggregation_key).")
    }

    func render(views: TeamViews, team: String) async -> [UInt8] {
        server.update(targets: views.scrapes.targets, health: views.scrapes.allHealth)
        let snapshot = await views.state.snapshot
        var totals: [(labels: [(String, String)], value: Int64)] = []
        var first: [(labels: [(String, String)], value: Double)] = []
        var last: [(labels: [(String, String)], value: Double)] = []
        var occurrences: [(labels: [(String, String)], value: Double)] = []
        var perService: [String: Int] = [:]
        totals.reserveCapacity(snapshot.groups.count)
        for (id, group) in snapshot.groups {
            let labels = [("team", team), ("service", id.service), ("aggregation_key", id.key), ("class", group.className), ("severity", group.severity.rawValue)]
            for series in group.series {
                totals.append((labels + series.labels.sorted.map { ($0.name, $0.value) }, Int64(series.total)))
            }
            if let seen = group.firstSeen { first.append((labels, seen.timeIntervalSince1970)) }
            if let seen = group.lastSeen { last.append((labels, seen.timeIntervalSince1970)) }
            occurrences.append(([("service_name", id.service), ("severity", group.severity.rawValue), ("aggregation_key", id.key)], Double(group.total)))
            perService[id.service, default: 0] += 1
        }
        exceptions.update(totals)
        firstSeen.update(first)
        lastSeen.update(last)
        periskop.update(occurrences)
        groups.update(perService.map { ([("service", $0.key)], Double($0.value)) })
        let saving = saveHealth.current
        saves.update([([], Int64(saving.saves))])
        let served = views.federationLog.served
        federationBodies.update([([("kind", "full")], Int64(served.full)), ([("kind", "delta")], Int64(served.delta))])
        saveFailures.update([([], Int64(saving.failures))])
        lastSave.update([([], saving.lastSuccess?.timeIntervalSince1970 ?? 0)])
        saveFailing.update([([], saving.failingSince == nil ? 0 : 1)])
        return server.emit()
    }
}
