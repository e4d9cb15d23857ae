/// A group of targets sharing labels, as a discovery mechanism reports it (Prometheus's
/// `targetgroup.Group`). Each target is a label set with at least `__address__`.
public struct TargetGroup: Hashable, Sendable {
    /// Identifies the group within its mechanism (a file path and index, a DNS name, ...),
    /// so that an update replaces the group with the same source.
    public var source: String
    public var targets: [Labels]
    /// Labels shared by every target of the group; a target's own labels win.
    public var labels: Labels

    public init(source: String, targets: [Labels], labels: Labels = Labels()) {
        self.source = source
        self.targets = targets
        self.labels = labels
    }
}

/// One discovery mechanism configured for one service: a `static_configs`, `dns_sd_configs`,
/// `file_sd_configs` or `http_sd_configs` entry.
public protocol Discoverer: Sendable {
    /// Runs until the task is cancelled. Calls `update` with the complete current list of target
    /// groups whenever it may have changed (at least once, soon after start). A failure to refresh
    /// is logged and keeps the last good list: a flaky DNS server must not drop every target.
    func run(update: @escaping @Sendable ([TargetGroup]) async -> Void) async throws
}
