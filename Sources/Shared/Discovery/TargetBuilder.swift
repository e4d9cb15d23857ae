/// A discovered target that relabelling dropped, kept for the targets page.
public struct DroppedTarget: Hashable, Sendable {
    public var service: String
    public var discoveredLabels: Labels
    public init(service: String, discoveredLabels: Labels) {
        self.service = service
        self.discoveredLabels = discoveredLabels
    }
}

/// Turns discovered target groups into scrape targets: job defaults, relabelling, the URL and
/// the `instance` label, as Prometheus's `PopulateLabels` does.
public struct TargetBuilder: Sendable {
    public let job: ScrapeJobConfig
    let relabeler: Relabeler
    /// The label that names the job on every target: `service` on a leaf, `leaf` on the hub,
    /// none for Alertmanagers (Prometheus gives them none).
    let jobLabel: String?
    /// The label that holds the path: `__metrics_path__`, or `__alerts_path__` for Alertmanagers.
    let pathLabel: String

    public init(job: ScrapeJobConfig, jobLabel: String? = LabelName.service, pathLabel: String = LabelName.metricsPath) throws(RelabelError) {
        self.job = job
        self.relabeler = try Relabeler(job.relabelConfigs)
        self.jobLabel = jobLabel
        self.pathLabel = pathLabel
    }

    public func build(_ groups: [TargetGroup]) -> (targets: [ScrapeTarget], dropped: [DroppedTarget]) {
        var targets: [ScrapeTarget] = []
        var dropped: [DroppedTarget] = []
        var seen: Set<String> = []
        for group in groups {
            for target in group.targets {
                var labels = target.merging(defaults: group.labels).merging(defaults: job.labels)
                if let jobLabel { labels[jobLabel] = labels[jobLabel] ?? job.name }
                labels[LabelName.scheme] = labels[LabelName.scheme] ?? job.scheme
                labels[pathLabel] = labels[pathLabel] ?? job.endpoint
                let discovered = labels
                guard let relabelled = relabeler.process(labels), let address = relabelled[LabelName.address] else {
                    dropped.append(DroppedTarget(service: job.name, discoveredLabels: discovered))
                    continue
                }
                let scheme = relabelled[LabelName.scheme] ?? job.scheme
                var path = relabelled[pathLabel] ?? job.endpoint
                if !path.hasPrefix("/") { path = "/" + path }
                let url = "\(scheme)://\(address)\(path)"
                // Two groups naming the same address give one target, not two loops.
                guard seen.insert(url).inserted else { continue }
                var visible = relabelled.visible
                visible[LabelName.instance] = visible[LabelName.instance] ?? address
                if let jobLabel { visible[jobLabel] = job.name }
                targets.append(ScrapeTarget(service: job.name, url: url, labels: visible, discoveredLabels: discovered, settings: job.settings))
            }
        }
        return (targets, dropped)
    }
}
