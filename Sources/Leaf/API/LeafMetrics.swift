import Foundation
import Periskop
import Prometheus
import Shared

/// `/metrics`: target health, per-group exception totals and process metrics, brought up to
/// date from the team state on each request.
struct LeafMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let up: GaugeFamily
    private let duration: GaugeFamily
    private let bodyBytes: GaugeFamily
    private let scrapes: CounterFamily
    private let failures: CounterFamily
    private let exceptions: CounterFamily
    private let groups: GaugeFamily
    private let process: ProcessMetrics

    init() {
        up = GaugeFamily(registry: registry, name: "canopy_target_up", help: "1 if the target's last scrape succeeded, 0 if it failed.")
        duration = GaugeFamily(registry: registry, name: "canopy_target_scrape_duration", unit: "seconds", help: "Duration of the target's last scrape.")
        bodyBytes = GaugeFamily(registry: registry, name: "canopy_target_scrape_body", unit: "bytes", help: "Size of the body of the target's last scrape.")
        scrapes = CounterFamily(registry: registry, name: "canopy_target_scrapes", help: "Scrapes of the target since the leaf started.")
        failures = CounterFamily(registry: registry, name: "canopy_target_scrape_failures", help: "Failed scrapes of the target since the leaf started.")
        exceptions = CounterFamily(registry: registry, name: "canopy_exceptions", help: "Occurrences of each exception group, counted across the service's instances.")
        groups = GaugeFamily(registry: registry, name: "canopy_groups", help: "Exception groups per service.")
        process = ProcessMetrics(registry: registry)
        let info = registry.makeGauge(descriptor: .init(metricName: "canopy_build_info", unitName: "", helpText: "Canopy's version."), labels: [("version", CanopyVersion.current), ("server", "leaf")])
        info.set(1.0)
    }

    func render(views: TeamViews, team: String) async -> [UInt8] {
        let health = views.scrapes.allHealth
        let targets = views.scrapes.targets
        var upValues: [(labels: [(String, String)], value: Double)] = []
        var durations: [(labels: [(String, String)], value: Double)] = []
        var bodies: [(labels: [(String, String)], value: Double)] = []
        var scrapeCounts: [(labels: [(String, String)], value: Int64)] = []
        var failureCounts: [(labels: [(String, String)], value: Int64)] = []
        for target in targets {
            let labels = [("service", target.service), ("instance", target.instance)]
            let record = health[target.key] ?? TargetHealth()
            upValues.append((labels, record.state == .up ? 1 : 0))
            durations.append((labels, record.lastDurationSeconds))
            bodies.append((labels, Double(record.lastBodyBytes)))
            scrapeCounts.append((labels, Int64(record.scrapes)))
            failureCounts.append((labels, Int64(record.failures)))
        }
        up.update(upValues)
        duration.update(durations)
        bodyBytes.update(bodies)
        scrapes.update(scrapeCounts)
        failures.update(failureCounts)

        let snapshot = await views.state.snapshot
        var totals: [(labels: [(String, String)], value: Int64)] = []
        var perService: [String: Int] = [:]
        totals.reserveCapacity(snapshot.groups.count)
        for (id, group) in snapshot.groups {
            totals.append(([("team", team), ("service", id.service), ("aggregation_key", id.key), ("severity", group.severity.rawValue)], Int64(group.total)))
            perService[id.service, default: 0] += 1
        }
        exceptions.update(totals)
        groups.update(perService.map { ([("service", $0.key)], Double($0.value)) })
        process.update()
        return registry.emitToBuffer()
    }
}

enum CanopyVersion {
    static let current = "0.1.0"
}
