import Prometheus

/// `canopy_notifications_*` on the hub's `/metrics`, with the meanings of Prometheus's
/// `prometheus_notifications_*`: each Alertmanager has its own queue, so the queue length and
/// the drops are per Alertmanager (labelled with its alerts URL, as Prometheus 3 has them).
struct NotificationMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let discovered: Gauge

    init(registry: PrometheusCollectorRegistry, queueCapacity: Int) {
        self.registry = registry
        func gauge(_ name: String, _ help: String, labels: [(String, String)] = []) -> Gauge {
            registry.makeGauge(descriptor: .init(metricName: name, unitName: "", helpText: help), labels: labels)
        }
        gauge("canopy_notifications_queue_capacity", "The capacity of each Alertmanager's alert queue.").set(Double(queueCapacity))
        discovered = gauge("canopy_notifications_alertmanagers_discovered", "The number of Alertmanagers discovered and active.")
        discovered.set(0.0)
    }

    func setDiscovered(_ count: Int) { discovered.set(Double(count)) }

    /// The members of one Alertmanager, at zero from its discovery on.
    func members(alertmanager url: String) -> AlertmanagerMetrics {
        let labels = [("alertmanager", url)]
        func counter(_ name: String, _ help: String) -> Counter {
            registry.makeCounter(descriptor: .init(metricName: name, unitName: "total", helpText: help), labels: labels)
        }
        let queueLength = registry.makeGauge(
            descriptor: .init(metricName: "canopy_notifications_queue_length", unitName: "", helpText: "Alerts waiting in the Alertmanager's queue."), labels: labels)
        queueLength.set(0.0)
        return AlertmanagerMetrics(
            sent: counter("canopy_notifications_sent", "Alerts the Alertmanager accepted."),
            errors: counter("canopy_notifications_errors", "Alerts in posts to the Alertmanager that failed."),
            dropped: counter("canopy_notifications_dropped", "Alerts lost: the queue was full, or the post that held them failed."),
            queueLength: queueLength)
    }

    /// Takes a gone Alertmanager's members off `/metrics`, as Prometheus does.
    func remove(_ members: AlertmanagerMetrics) {
        for counter in [members.sent, members.errors, members.dropped] { registry.unregisterCounter(counter) }
        registry.unregisterGauge(members.queueLength)
    }
}

/// One Alertmanager's counters and its queue's length.
struct AlertmanagerMetrics: Sendable {
    let sent: Counter
    let errors: Counter
    let dropped: Counter
    let queueLength: Gauge
}
