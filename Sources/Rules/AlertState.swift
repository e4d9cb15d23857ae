import Foundation
import Shared

/// One alert of an alerting rule: a label set the rule's expression returned, and where it is
/// in Prometheus's life cycle (pending until `for` has passed, then firing; inactive once
/// resolved, kept 15 minutes so that Alertmanager hears it resolved).
public struct Alert: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        case pending, firing, inactive
    }

    /// The result's labels without the metric name, the rule's labels and `alertname`.
    public var labels: [String: String]
    public var annotations: [String: String]
    public var state: State
    public var value: Double
    public var activeAt: Date
    public var firedAt: Date?
    public var resolvedAt: Date?
    public var lastSentAt: Date?
    /// The `endsAt` last sent while firing.
    public var validUntil: Date?
    /// When the expression stopped returning it while `keep_firing_for` holds it firing.
    public var keepFiringSince: Date?

    public init(labels: [String: String], annotations: [String: String], value: Double, activeAt: Date) {
        self.labels = labels
        self.annotations = annotations
        self.state = .pending
        self.value = value
        self.activeAt = activeAt
    }

    /// The identity of an alert within its rule: its labels, in a canonical order.
    public var key: String { Self.key(labels) }

    public static func key(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.debugDescription)" }.joined(separator: ",")
    }

    /// Prometheus's `needsSending`: never while pending; at once when resolved since the last
    /// send; otherwise once `resendDelay` has passed.
    func needsSending(at time: Date, resendDelay: Duration) -> Bool {
        if state == .pending { return false }
        if let resolvedAt, resolvedAt > (lastSentAt ?? .distantPast) { return true }
        guard let lastSentAt else { return true }
        return lastSentAt.addingTimeInterval(resendDelay.seconds) < time
    }
}

/// The alerts of one alerting rule, advanced one evaluation at a time exactly as Prometheus's
/// `AlertingRule.Eval` does. Codable, so that the hub keeps it across restarts.
public struct AlertingRuleState: Sendable, Codable, Equatable {
    /// Alerts by `Alert.key`.
    public private(set) var active: [String: Alert] = [:]

    /// How long a resolved alert is kept, to be sent as resolved.
    public static let resolvedRetention: Duration = .seconds(15 * 60)

    public init() {}

    public struct LimitExceeded: Error, Sendable, Equatable, CustomStringConvertible {
        public var limit: Int
        public var count: Int
        public var description: String { "exceeded limit of \(limit) with \(count) alerts" }
    }

    public struct DuplicateLabels: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String { "vector contains metrics with the same labelset after applying alert labels" }
    }

    /// One evaluation at `time`: `results` are the alerts the expression gives now (labels and
    /// annotations already expanded; each pending, active since `time`). Existing alerts keep
    /// their start and take the new value and annotations; those no longer returned resolve
    /// (or keep firing for `keepFiringFor`); pending ones fire once `holdFor` has passed.
    /// Past `limit` alerts (0: none) every alert is dropped and the evaluation fails.
    public mutating func evaluate(
        _ results: [Alert], at time: Date, holdFor: Duration, keepFiringFor: Duration, limit: Int
    ) throws {
        var returned: Set<String> = []
        for alert in results {
            guard returned.insert(alert.key).inserted else { throw DuplicateLabels() }
        }
        for alert in results {
            if var existing = active[alert.key], existing.state != .inactive {
                existing.value = alert.value
                existing.annotations = alert.annotations
                active[alert.key] = existing
            } else {
                active[alert.key] = alert
            }
        }
        var activeOrPending = 0
        for key in active.keys.sorted() {
            guard var alert = active[key] else { continue }
            if !returned.contains(key) {
                var keepFiring = false
                if alert.state == .firing && keepFiringFor > .zero {
                    let since = alert.keepFiringSince ?? time
                    alert.keepFiringSince = since
                    keepFiring = time.timeIntervalSince(since) < keepFiringFor.seconds
                }
                if alert.state == .pending
                    || alert.resolvedAt.map({ time.timeIntervalSince($0) > Self.resolvedRetention.seconds }) == true
                {
                    active[key] = nil
                    continue
                }
                if alert.state != .inactive && !keepFiring {
                    alert.state = .inactive
                    alert.resolvedAt = time
                }
                active[key] = alert
                if !keepFiring { continue }
            } else {
                alert.keepFiringSince = nil
            }
            activeOrPending += 1
            if alert.state == .pending && time.timeIntervalSince(alert.activeAt) >= holdFor.seconds {
                alert.state = .firing
                alert.firedAt = time
            }
            active[key] = alert
        }
        if limit > 0 && activeOrPending > limit {
            active = [:]
            throw LimitExceeded(limit: limit, count: activeOrPending)
        }
    }

    /// The alerts to send to Alertmanager now, marked as sent: firing ones every `resendDelay`,
    /// each valid for four resend intervals (so that two lost evaluations or sends do not
    /// resolve it), and resolved ones until they are dropped.
    public mutating func alertsToSend(at time: Date, resendDelay: Duration, interval: Duration) -> [Alert] {
        var out: [Alert] = []
        for key in active.keys.sorted() {
            guard var alert = active[key], alert.needsSending(at: time, resendDelay: resendDelay) else { continue }
            alert.lastSentAt = time
            alert.validUntil = time.addingTimeInterval(4 * max(resendDelay, interval).seconds)
            active[key] = alert
            out.append(alert)
        }
        return out
    }

    /// `ALERTS{…, alertstate}` = 1 and `ALERTS_FOR_STATE{…}` = the alert's start in Unix
    /// seconds, for each pending or firing alert, as Prometheus records them.
    public func series(ruleLabels: [String: String]) -> [(labels: [String: String], value: Double)] {
        var out: [(labels: [String: String], value: Double)] = []
        for key in active.keys.sorted() {
            guard let alert = active[key], alert.state != .inactive else { continue }
            var labels = ruleLabels.merging(alert.labels) { $1 }
            labels["__name__"] = "ALERTS"
            labels["alertstate"] = alert.state.rawValue
            out.append((labels, 1))
            labels["__name__"] = "ALERTS_FOR_STATE"
            labels["alertstate"] = nil
            out.append((labels, alert.activeAt.timeIntervalSince1970.rounded(.down)))
        }
        return out
    }
}
