import Foundation
import Periskop
import Prometheus
import Shared

/// `/metrics`: target health, per-group exception totals and process metrics, brought up to
/// date from the team state on each request.
struct LeafMetrics: Sendable {
    private let server = ServerMetrics(server: "leaf", scraped: "target", jobLabel: "service")
    private let exceptions: CounterFamily
    private let groups: GaugeFamily

    init() {
        exceptions = CounterFamily(registry: server.registry, name: "canopy_exceptions", help: "Occurrences of each exception group, counted across the service's instances.")
        groups = GaugeFamily(registry: server.registry, name: "canopy_groups", help: "Exception groups per service.")
    }

    func render(views: TeamViews, team: String) async -> [UInt8] {
        server.update(targets: views.scrapes.targets, health: views.scrapes.allHealth)
        let snapshot = await views.state.snapshot
        var totals: [(labels: [(String, String)], value: Int64)] = []
        var perService: [String: Int] = [:]
        totals.reserveCapacity(snapshot.groups.count)
        for (id, group) in snapshot.groups {
            let labels = [("team", team), ("service", id.service), ("aggregation_key", id.key), ("class", group.className), ("severity", group.severity.rawValue)]
            for series in group.series {
                totals.append((labels + series.labels.sorted.map { ($0.name, $0.value) }, Int64(series.total)))
            }
            perService[id.service, default: 0] += 1
        }
        exceptions.update(totals)
        groups.update(perService.map { ([("service", $0.key)], Double($0.value)) })
        return server.emit()
    }
}
