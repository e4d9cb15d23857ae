import Foundation
import Hummingbird
import PromQL
import Rules
import Shared

/// `/api/v1/rules` and `/api/v1/alerts` in Prometheus's shapes, which Grafana reads: each group
/// with its rules' health, last evaluation and duration, alerting rules with their alerts.
struct RulesAPI<Context: RequestContext> {
    let rules: @Sendable () -> RuleSettings
    let board: RuleBoard

    func addRoutes(to router: Router<Context>) {
        let api = router.group("api/v1")
        api.get("rules") { request, _ in
            let only = request.uri.queryParameters.get("type")
            guard only == nil || only == "alert" || only == "record" else {
                return try PrometheusAPI<Context>.failure(PrometheusAPIError(.badData, "unsupported type \(only ?? "")"))
            }
            return try PrometheusAPI<Context>.success(["groups": await groups(only: only)])
        }
        api.get("alerts") { _, _ in
            let alerts = await board.alerts.values.flatMap(\.active.values).filter { $0.state != .inactive }
            return try PrometheusAPI<Context>.success(["alerts": alerts.sorted { $0.key < $1.key }.map(AlertJSON.init)])
        }
    }

    private func groups(only: String?) async -> [GroupJSON] {
        await board.report(rules()).groups.map { group in
            var rules: [RuleJSON] = []
            for entry in group.rules {
                switch entry.rule.kind {
                case .alerting(let name, let holdFor, let keepFiringFor):
                    guard only != "record" else { continue }
                    let state = entry.alerts.contains { $0.state == .firing } ? "firing" : entry.alerts.isEmpty ? "inactive" : "pending"
                    rules.append(
                        RuleJSON(
                            entry.rule, name: name, status: entry.status, type: "alerting", state: state, duration: holdFor.seconds,
                            keepFiringFor: keepFiringFor.seconds, alerts: entry.alerts.map(AlertJSON.init)))
                case .recording(let name):
                    guard only != "alert" else { continue }
                    rules.append(RuleJSON(entry.rule, name: name, status: entry.status, type: "recording"))
                }
            }
            return GroupJSON(
                name: group.group.name, file: group.group.file, rules: rules, interval: group.interval.seconds, limit: group.group.limit,
                evaluationTime: group.status?.evaluationSeconds ?? 0, lastEvaluation: Self.time(group.status?.lastEvaluation))
        }
    }


    /// RFC 3339 with milliseconds; Go's zero time for never.
    static func time(_ date: Date?) -> String {
        guard let date else { return "0001-01-01T00:00:00Z" }
        return date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    struct GroupJSON: Encodable, Sendable {
        var name: String
        var file: String
        var rules: [RuleJSON]
        var interval: Double
        var limit: Int
        var evaluationTime: Double
        var lastEvaluation: String
    }

    struct RuleJSON: Encodable, Sendable {
        var state: String?
        var name: String
        var query: String
        var duration: Double?
        var keepFiringFor: Double?
        var labels: [String: String]
        var annotations: [String: String]?
        var alerts: [AlertJSON]?
        var health: String
        var lastError: String?
        var evaluationTime: Double
        var lastEvaluation: String
        var type: String

        init(
            _ rule: Rule, name: String, status: RuleBoard.RuleStatus, type: String, state: String? = nil, duration: Double? = nil,
            keepFiringFor: Double? = nil, alerts: [AlertJSON]? = nil
        ) {
            self.state = state
            self.name = name
            query = rule.expression
            self.duration = duration
            self.keepFiringFor = keepFiringFor
            labels = rule.labels
            annotations = type == "alerting" ? rule.annotations : nil
            self.alerts = alerts
            health = status.health.rawValue
            lastError = status.lastError
            evaluationTime = status.evaluationSeconds
            lastEvaluation = RulesAPI.time(status.lastEvaluation)
            self.type = type
        }
    }

    struct AlertJSON: Encodable, Sendable {
        var labels: [String: String]
        var annotations: [String: String]
        var state: String
        var activeAt: String
        /// Go's `%e` with the shortest digits, as Prometheus writes it.
        var value: String

        init(_ alert: Alert) {
            labels = alert.labels
            annotations = alert.annotations
            state = alert.state.rawValue
            activeAt = RulesAPI.time(alert.activeAt)
            value = GoText.formatFloatExponent(alert.value)
        }
    }
}
