import Prometheus

/// What both servers' `/metrics` have: the health of the things they scrape (the leaf's targets
/// as `canopy_target_*{service,instance}`, the hub's leaves as `canopy_leaf_*{leaf,instance}`),
/// `canopy_build_info` and the process metrics. Each server registers its own metrics beside
/// these on `registry`.
public struct ServerMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let jobLabel: String
    private let up: GaugeFamily
    private let duration: GaugeFamily
    private let bodyBytes: GaugeFamily
    private let scrapes: CounterFamily
    private let failures: CounterFamily
    private let process: ProcessMetrics

    /// - Parameters:
    ///   - server: `leaf` or `hub`, for `canopy_build_info`.
    ///   - scraped: what is scraped (`target`, `leaf`): the metric names' middle and the job label's name.
    ///   - jobLabel: the label that names a scraped thing's job (`service`, `leaf`).
    public init(server: String, scraped: String, jobLabel: String) {
        self.jobLabel = jobLabel
        let prefix = "canopy_\(scraped)"
        up = GaugeFamily(registry: registry, name: "\(prefix)_up", help: "1 if the \(scraped)'s last scrape succeeded, 0 if it failed.")
        duration = GaugeFamily(registry: registry, name: "\(prefix)_scrape_duration", unit: "seconds", help: "Duration of the \(scraped)'s last scrape.")
        bodyBytes = GaugeFamily(registry: registry, name: "\(prefix)_scrape_body", unit: "bytes", help: "Size of the body of the \(scraped)'s last scrape.")
        scrapes = CounterFamily(registry: registry, name: "\(prefix)_scrapes", help: "Scrapes of the \(scraped) since the \(server) started.")
        failures = CounterFamily(registry: registry, name: "\(prefix)_scrape_failures", help: "Failed scrapes of the \(scraped) since the \(server) started.")
        process = ProcessMetrics(registry: registry)
        registry.makeGauge(
            descriptor: .init(metricName: "canopy_build_info", unitName: "", helpText: "Canopy's version."),
            labels: [("version", CanopyVersion.current), ("server", server)]
        ).set(1.0)
    }

    /// Brings the scrape health up to date: one member per current target, none for the gone.
    public func update(targets: [ScrapeTarget], health: [TargetKey: TargetHealth]) {
        var upValues: [(labels: [(String, String)], value: Double)] = []
        var durations: [(labels: [(String, String)], value: Double)] = []
        var bodies: [(labels: [(String, String)], value: Double)] = []
        var scrapeCounts: [(labels: [(String, String)], value: Int64)] = []
        var failureCounts: [(labels: [(String, String)], value: Int64)] = []
        for target in targets {
            let labels = [(jobLabel, target.service), ("instance", target.instance)]
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
    }

    /// The exposition, with the process metrics read now.
    public func emit() -> [UInt8] {
        process.update()
        return registry.emitToBuffer()
    }
}

/// The version both servers report (`canopy_build_info`, user agents, page footers).
public enum CanopyVersion {
    public static let current = "0.1.0"
}
