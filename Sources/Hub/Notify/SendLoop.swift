import Logging
import NIOCore
import Shared
import Synchronization

/// Alerts waiting for one Alertmanager, oldest first. When full, the oldest make room for the
/// newest, as in Prometheus: a newer alert about the same thing supersedes an older one.
struct AlertQueue: Sendable {
    let capacity: Int
    private var alerts = CircularBuffer<PostableAlert>()

    init(capacity: Int) { self.capacity = max(1, capacity) }

    var count: Int { alerts.count }

    /// Adds `new`; returns how many alerts were dropped to make room.
    mutating func append(_ new: [PostableAlert]) -> Int {
        var new = new[...]
        // More than fit at all: the oldest of them go.
        let excess = max(0, new.count - capacity)
        new = new.dropFirst(excess)
        let overflow = max(0, alerts.count + new.count - capacity)
        alerts.removeFirst(overflow)
        alerts.append(contentsOf: new)
        return excess + overflow
    }

    /// Takes up to `limit` of the oldest alerts.
    mutating func next(limit: Int) -> [PostableAlert] {
        let batch = Array(alerts.prefix(limit))
        alerts.removeFirst(batch.count)
        return batch
    }
}

/// One Alertmanager's queue and the loop that posts it in batches (Prometheus's `sendLoop`).
/// Every Alertmanager has its own, so one that is down or slow delays only its own alerts, and
/// `add` never waits for any of them.
final class SendLoop: Sendable {
    /// Prometheus's `maxBatchSize`.
    static let maxBatch = 256

    let alertmanager: Alertmanager
    let metrics: AlertmanagerMetrics
    private let queue: Mutex<AlertQueue>
    private let work = Mailbox<Bool>()
    private let stopped = Atomic<Bool>(false)

    init(alertmanager: Alertmanager, capacity: Int, metrics: AlertmanagerMetrics) {
        self.alertmanager = alertmanager
        self.queue = Mutex(AlertQueue(capacity: capacity))
        self.metrics = metrics
    }

    /// Queues `alerts` and wakes the loop.
    func add(_ alerts: [PostableAlert]) {
        guard !alerts.isEmpty, !stopped.load(ordering: .relaxed) else { return }
        let (dropped, length) = queue.withLock { queue in (queue.append(alerts), queue.count) }
        metrics.queueLength.set(Double(length))
        if dropped > 0 { metrics.dropped.increment(by: Int64(dropped)) }
        work.send(true)
    }

    /// Ends the loop once its current post (if any) is done; what is still queued is not sent.
    func stop() {
        stopped.store(true, ordering: .relaxed)
        work.send(true)
    }

    /// Posts batches while there are alerts, until stopped or cancelled. A failed post is logged
    /// and its alerts dropped, as in Prometheus: the rule manager sends firing alerts again at its
    /// next evaluation.
    func run(client: AlertmanagerClient, logger: Logger) async {
        while await work.take() != nil, !stopped.load(ordering: .relaxed) {
            while !stopped.load(ordering: .relaxed), !Task.isCancelled {
                let (batch, length) = queue.withLock { queue in (queue.next(limit: Self.maxBatch), queue.count) }
                metrics.queueLength.set(Double(length))
                guard !batch.isEmpty else { break }
                do {
                    try await client.post(batch, to: alertmanager)
                    metrics.sent.increment(by: Int64(batch.count))
                } catch {
                    // Cancelled: the hub is shutting down, and the Alertmanager is not at fault.
                    guard !Task.isCancelled else { return }
                    metrics.errors.increment(by: Int64(batch.count))
                    metrics.dropped.increment(by: Int64(batch.count))
                    logger.warning(
                        "alerts not sent",
                        metadata: ["notify.alertmanager": "\(alertmanager.alertsURL)", "notify.alerts": "\(batch.count)", "notify.error": "\(error)"])
                }
            }
        }
    }
}
