import Foundation
import Prometheus
import Shared

/// The hub's `/metrics`: leaf scrape health, rows written, transaction time, database errors,
/// process metrics.
struct HubMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let up: GaugeFamily
    private let duration: GaugeFamily
    private let scrapes: CounterFamily
    private let failures: CounterFamily
    private let rows: Counter
    private let transactions: DurationHistogram
    private let databaseErrors: Counter
    private let connections: GaugeFamily
    private let process: ProcessMetrics

    init() {
        up = GaugeFamily(registry: registry, name: "canopy_leaf_up", help: "1 if the leaf's last scrape succeeded, 0 if it failed.")
        duration = GaugeFamily(registry: registry, name: "canopy_leaf_scrape_duration", unit: "seconds", help: "Duration of the leaf's last scrape, storing included.")
        scrapes = CounterFamily(registry: registry, name: "canopy_leaf_scrapes", help: "Scrapes of the leaf since the hub started.")
        failures = CounterFamily(registry: registry, name: "canopy_leaf_scrape_failures", help: "Failed scrapes of the leaf since the hub started.")
        rows = registry.makeCounter(descriptor: .init(metricName: "canopy_hub_rows_written", unitName: "total", helpText: "Rows written to PostgreSQL by applied scrapes."))
        transactions = registry.makeDurationHistogram(
            descriptor: .init(metricName: "canopy_hub_apply_transaction", unitName: "seconds", helpText: "Time to apply one scrape of one leaf in its transaction."),
            buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(2), .seconds(10)])
        databaseErrors = registry.makeCounter(descriptor: .init(metricName: "canopy_hub_database_errors", unitName: "total", helpText: "Scrapes that could not be stored."))
        connections = GaugeFamily(registry: registry, name: "canopy_hub_database_connections", help: "The hub's PostgreSQL connections by state, as pg_stat_activity shows them.")
        process = ProcessMetrics(registry: registry)
        registry.makeGauge(descriptor: .init(metricName: "canopy_build_info", unitName: "", helpText: "Canopy's version."), labels: [("version", HubVersion.current), ("server", "hub")]).set(1.0)
    }

    func recordTransaction(seconds: Double, rows: Int) {
        transactions.recordNanoseconds(Int64(seconds * 1e9))
        self.rows.increment(by: Int64(rows))
    }

    func recordDatabaseError() { databaseErrors.increment() }

    func recordSkipped(_ count: Int, leaf: String) {
        registry.makeCounter(
            descriptor: .init(metricName: "canopy_hub_skipped", unitName: "total", helpText: "Groups and samples left out of applied scrapes because they could not be stored."),
            labels: [("leaf", leaf)]
        ).increment(by: Int64(count))
    }

    func render(leaves: [ScrapeTarget], health: [TargetKey: TargetHealth], databaseConnections: [String: Int]) -> [UInt8] {
        var upValues: [(labels: [(String, String)], value: Double)] = []
        var durations: [(labels: [(String, String)], value: Double)] = []
        var scrapeCounts: [(labels: [(String, String)], value: Int64)] = []
        var failureCounts: [(labels: [(String, String)], value: Int64)] = []
        for leaf in leaves {
            let labels = [("leaf", leaf.service), ("instance", leaf.instance)]
            let record = health[leaf.key] ?? TargetHealth()
            upValues.append((labels, record.state == .up ? 1 : 0))
            durations.append((labels, record.lastDurationSeconds))
            scrapeCounts.append((labels, Int64(record.scrapes)))
            failureCounts.append((labels, Int64(record.failures)))
        }
        up.update(upValues)
        duration.update(durations)
        scrapes.update(scrapeCounts)
        failures.update(failureCounts)
        connections.update(databaseConnections.map { ([("state", $0.key)], Double($0.value)) })
        process.update()
        return registry.emitToBuffer()
    }
}

enum HubVersion {
    static let current = "0.1.0"
}
