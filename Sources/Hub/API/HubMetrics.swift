import Foundation
import Prometheus
import Shared

/// The hub's `/metrics`: leaf scrape health, rows written, transaction time, database errors and
/// outages, the private PostgreSQL's restarts, process metrics.
struct HubMetrics: Sendable {
    private let server = ServerMetrics(server: "hub", scraped: "leaf", jobLabel: "leaf")
    /// Where the notifier registers its own metrics.
    var registry: PrometheusCollectorRegistry { server.registry }
    private let rows: Counter
    private let transactions: DurationHistogram
    private let batches: ValueHistogram
    private let batchesApartCount: Counter
    private let databaseErrors: Counter
    private let connections: GaugeFamily
    private let databaseUp: Gauge
    private let databaseUnavailable: Counter
    private let databaseOutages: Counter
    private let privatePostgresRestarts: Counter

    init() {
        let registry = server.registry
        rows = registry.makeCounter(descriptor: .init(metricName: "canopy_hub_rows_written", unitName: "total", helpText: "Rows written to PostgreSQL by applied scrapes."))
        transactions = registry.makeDurationHistogram(
            descriptor: .init(
                metricName: "canopy_hub_apply_transaction", unitName: "seconds",
                helpText: "Time to apply one scrape of one leaf: from its arrival at the ingest to its commit, the wait for the scrapes it is applied with included."),
            // Fine enough for a median and p90 of a few milliseconds to a second, as operators and
            // `canopy-bench hub ingest` read them.
            buckets: [1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 75, 100, 150, 250, 500, 1_000, 2_500, 5_000, 10_000].map { .milliseconds($0) })
        batches = registry.makeValueHistogram(
            descriptor: .init(metricName: "canopy_hub_apply_batch_scrapes", helpText: "Leaf scrapes applied together, in one transaction."),
            buckets: [1, 2, 5, 10, 20, 50, 100])
        batchesApartCount = registry.makeCounter(
            descriptor: .init(
                metricName: "canopy_hub_apply_batches_apart", unitName: "total",
                helpText: "Batches that failed together and were applied scrape by scrape, each in a transaction of its own."))
        databaseErrors = registry.makeCounter(descriptor: .init(metricName: "canopy_hub_database_errors", unitName: "total", helpText: "Scrapes that could not be stored."))
        databaseUp = registry.makeGauge(descriptor: .init(metricName: "canopy_hub_database_up", helpText: "1 while PostgreSQL answers, 0 while the hub finds it unreachable."))
        databaseUnavailable = registry.makeCounter(
            descriptor: .init(metricName: "canopy_hub_database_unavailable", unitName: "total", helpText: "Database calls refused or failed because PostgreSQL was unreachable."))
        databaseOutages = registry.makeCounter(
            descriptor: .init(metricName: "canopy_hub_database_outages", unitName: "total", helpText: "Times PostgreSQL was found unreachable after answering."))
        privatePostgresRestarts = registry.makeCounter(
            descriptor: .init(metricName: "canopy_hub_private_postgres_restarts", unitName: "total", helpText: "Times the hub restarted its private PostgreSQL after it stopped unexpectedly."))
        connections = GaugeFamily(registry: registry, name: "canopy_hub_database_connections", help: "The hub's PostgreSQL connections by state, as pg_stat_activity shows them.")
    }

    func recordTransaction(seconds: Double, rows: Int) {
        transactions.recordNanoseconds(Int64(seconds * 1e9))
        self.rows.increment(by: Int64(rows))
    }

    func recordBatch(scrapes: Int) { batches.record(Double(scrapes)) }

    func recordBatchApart() { batchesApartCount.increment() }

    func recordDatabaseError() { databaseErrors.increment() }

    func recordDatabase(up: Bool) {
        databaseUp.set(to: up ? 1.0 : 0.0)
        if !up { databaseOutages.increment() }
    }

    func recordDatabaseUnavailable() { databaseUnavailable.increment() }

    func recordPrivatePostgresRestart() { privatePostgresRestarts.increment() }

    /// An applied leaf body: the leaf's every group, or the groups changed since the body applied before.
    func recordBody(delta: Bool) {
        registry.makeCounter(
            descriptor: .init(
                metricName: "canopy_hub_federation_bodies", unitName: "total",
                helpText: "Leaf bodies applied, by kind: full (every group) or delta (the groups changed since the body applied before)."),
            labels: [("kind", delta ? "delta" : "full")]
        ).increment()
    }

    func recordSkipped(_ count: Int, leaf: String) {
        registry.makeCounter(
            descriptor: .init(metricName: "canopy_hub_skipped", unitName: "total", helpText: "Groups and samples left out of applied scrapes because they could not be stored."),
            labels: [("leaf", leaf)]
        ).increment(by: Int64(count))
    }

    func render(leaves: [ScrapeTarget], health: [TargetKey: TargetHealth], databaseConnections: [String: Int]) -> [UInt8] {
        server.update(targets: leaves, health: health)
        connections.update(databaseConnections.map { ([("state", $0.key)], Double($0.value)) })
        return server.emit()
    }
}
