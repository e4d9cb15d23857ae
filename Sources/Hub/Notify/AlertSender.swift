import Foundation

/// An alert as Alertmanager's v2 API takes it (`POST /api/v2/alerts`): what the rule manager
/// hands the notifier each time an alert needs sending.
struct PostableAlert: Sendable, Equatable, Codable {
    var labels: [String: String]
    var annotations: [String: String]
    var startsAt: Date
    /// While firing, a few resend intervals ahead (so Alertmanager resolves it if the hub goes
    /// quiet); once resolved, the time it resolved.
    var endsAt: Date?
    var generatorURL: String
}

/// Where the rule manager sends alerts. `send` only enqueues: it never waits for an
/// Alertmanager, so an unreachable one cannot hold up rule evaluation.
protocol AlertSender: Sendable {
    func send(_ alerts: [PostableAlert])
}
