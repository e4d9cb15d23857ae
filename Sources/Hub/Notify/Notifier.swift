import AsyncHTTPClient
import Logging
import Prometheus
import ServiceLifecycle
import Shared
import Synchronization

/// Sends alerts to every Alertmanager that `alerting.alertmanagers` discovers (Prometheus's
/// notifier manager): `send` relabels the alerts and queues them for each Alertmanager, whose
/// own loop posts them; the service runs the discovery and one loop per Alertmanager found.
final class Notifier: AlertSender, Service {
    /// The alert relabelling in force: the global one, then each set's own.
    private struct Relabelling: Sendable {
        var global: Relabeler
        var sets: [String: Relabeler]
    }
    private struct State {
        var relabelling: Relabelling
        var loops: [Alertmanager: SendLoop] = [:]
        /// While the service runs: it owns the HTTP clients, which must be shut down before release.
        var client: AlertmanagerClient?
    }

    let capacity: Int
    private let state: Mutex<State>
    private let discovered = Mailbox<[ScrapeTarget]>()
    private let discovery: DiscoveryManager
    private let metrics: NotificationMetrics
    private let logger: Logger

    /// `capacity`: how many alerts each Alertmanager's queue holds (`--alertmanager.notification-queue-capacity`).
    init(capacity: Int, registry: PrometheusCollectorRegistry, logger: Logger) {
        self.capacity = capacity
        self.state = Mutex(State(relabelling: Relabelling(global: Relabeler.none, sets: [:])))
        self.metrics = NotificationMetrics(registry: registry, queueCapacity: capacity)
        self.logger = logger
        let discovered = self.discovered
        self.discovery = DiscoveryManager(httpClient: HTTPClient.shared, logger: logger) { targets, _ in discovered.send(targets) }
    }

    /// Starts using `config` (at start and on every reload): its relabelling at once, its
    /// Alertmanagers once discovered. An Alertmanager found again keeps its queue.
    func apply(_ config: AlertingConfig) throws(RelabelError) {
        var relabelling = Relabelling(global: try Relabeler(config.alertRelabelConfigs), sets: [:])
        var builders: [TargetBuilder] = []
        for set in config.alertmanagers {
            relabelling.sets[set.job.name] = try Relabeler(set.alertRelabelConfigs)
            builders.append(try TargetBuilder(job: set.job, jobLabel: nil, pathLabel: AlertmanagerConfig.pathLabel))
        }
        state.withLock { $0.relabelling = relabelling }
        discovery.apply(builders)
    }

    /// Relabels `alerts` and queues them for every Alertmanager; never waits for one.
    func send(_ alerts: [PostableAlert]) {
        let (relabelling, loops) = state.withLock { ($0.relabelling, Array($0.loops.values)) }
        let relabelled = Self.relabel(alerts, relabelling.global)
        guard !relabelled.isEmpty else { return }
        var perSet: [String: [PostableAlert]] = [:]
        for loop in loops {
            let set = loop.alertmanager.set
            if perSet[set] == nil { perSet[set] = relabelling.sets[set].map { Self.relabel(relabelled, $0) } ?? relabelled }
            loop.add(perSet[set] ?? [])
        }
    }

    /// The Alertmanagers discovered now, and the client that reaches them while the notifier runs.
    func alertmanagers() -> (targets: [Alertmanager], client: AlertmanagerClient)? {
        state.withLock { state in
            state.client.map { client in (state.loops.keys.sorted { ($0.set, $0.alertsURL) < ($1.set, $1.alertsURL) }, client) }
        }
    }

    func run() async throws {
        let fetcher = HTTPFetcher(userAgent: "canopy-hub/\(CanopyVersion.current)")
        let client = AlertmanagerClient(fetcher: fetcher)
        state.withLock { $0.client = client }
        let logger = self.logger
        await withDiscardingTaskGroup { group in
            group.addTask { try? await self.discovery.run() }
            while let targets = await cancelWhenGracefulShutdown({ await self.discovered.take() }) ?? nil {
                for loop in sync(targets) {
                    group.addTask { await loop.run(client: client, logger: logger) }
                }
            }
            // Shutting down: in-flight posts are cancelled, queued alerts are not sent.
            group.cancelAll()
        }
        state.withLock { state in
            for loop in state.loops.values { loop.stop() }
            state.client = nil
        }
        await fetcher.shutdown()
    }

    /// Stops the loops of Alertmanagers that are gone and makes those of new ones (to be run).
    private func sync(_ targets: [ScrapeTarget]) -> [SendLoop] {
        let current = Set(targets.map(Alertmanager.init))
        return state.withLock { state in
            // Gone first: a URL found again with other settings gets fresh metrics.
            let gone = state.loops.filter { !current.contains($0.key) }
            for (alertmanager, loop) in gone {
                loop.stop()
                metrics.remove(loop.metrics)
                state.loops[alertmanager] = nil
            }
            var started: [SendLoop] = []
            for alertmanager in current where state.loops[alertmanager] == nil {
                let loop = SendLoop(alertmanager: alertmanager, capacity: capacity, metrics: metrics.members(alertmanager: alertmanager.alertsURL))
                state.loops[alertmanager] = loop
                started.append(loop)
            }
            metrics.setDiscovered(state.loops.count)
            if !started.isEmpty || !gone.isEmpty {
                logger.info("alertmanagers discovered", metadata: ["notify.alertmanagers": "\(state.loops.keys.map(\.alertsURL).sorted())"])
            }
            return started
        }
    }

    /// Prometheus's `relabelAlerts`: an alert whose labels the configs drop is not sent. Nor is
    /// one left without labels: Alertmanager would refuse it, and with it the whole batch.
    static func relabel(_ alerts: [PostableAlert], _ relabeler: Relabeler) -> [PostableAlert] {
        guard !relabeler.isEmpty else { return alerts }
        return alerts.compactMap { alert in
            guard let labels = relabeler.process(Labels(alert.labels)), !labels.isEmpty else { return nil }
            var relabelled = alert
            relabelled.labels = labels.values
            return relabelled
        }
    }
}

extension Relabeler {
    /// No relabelling: nothing to validate.
    fileprivate static let none = try! Relabeler([])
}
