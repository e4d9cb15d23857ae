import Foundation
import PromQL
import Rules

/// What the rule manager knows between evaluations: each rule's health and timings for the
/// API and pages, each alerting rule's alerts, and the series each rule wrote last, so that
/// the next evaluation can end those it no longer returns.
actor RuleBoard {
    struct RuleStatus: Sendable {
        enum Health: String, Sendable { case unknown, ok, err }
        var health = Health.unknown
        var lastError: String?
        var lastEvaluation: Date?
        var evaluationSeconds = 0.0
    }

    struct GroupStatus: Sendable {
        var lastEvaluation: Date?
        var evaluationSeconds = 0.0
        var evaluations = 0
        var failures = 0
        var missed = 0
    }

    private(set) var rules: [RuleKey: RuleStatus] = [:]
    private(set) var groups: [String: GroupStatus] = [:]
    private(set) var alerts: [RuleKey: AlertingRuleState] = [:]
    private var written: [RuleKey: Set<PromQL.Labels>] = [:]
    /// The groups whose last evaluation failed because the database was unreachable.
    private var paused: Set<String> = []


    /// The alerts exactly as stored: on taking the lead, and on a follower showing the leader's.
    func replaceAlerts(_ states: [RuleKey: AlertingRuleState]) { alerts = states }

    func alertState(_ key: RuleKey) -> AlertingRuleState { alerts[key] ?? AlertingRuleState() }

    func setAlertState(_ state: AlertingRuleState, for key: RuleKey) { alerts[key] = state }

    /// The series `key` wrote last time and not now; remembers `now` for next time.
    func ended(_ key: RuleKey, now: Set<PromQL.Labels>) -> [PromQL.Labels] {
        let before = written[key] ?? []
        written[key] = now
        return before.subtracting(now).sorted()
    }

    func recordRule(_ key: RuleKey, at time: Date, seconds: Double, error: String?) {
        rules[key] = RuleStatus(health: error == nil ? .ok : .err, lastError: error, lastEvaluation: time, evaluationSeconds: seconds)
    }

    func recordGroup(_ group: String, at time: Date, seconds: Double, failures: Int) {
        var status = groups[group] ?? GroupStatus()
        status.lastEvaluation = time
        status.evaluationSeconds = seconds
        status.evaluations += 1
        status.failures += failures
        groups[group] = status
    }

    /// Records whether a group's evaluation is paused by a database outage; true when that changed.
    func notePaused(_ group: String, _ now: Bool) -> Bool {
        now ? paused.insert(group).inserted : paused.remove(group) != nil
    }

    func recordMissed(_ group: String, _ count: Int) { groups[group, default: GroupStatus()].missed += count }

    /// The rule groups' metrics for `/metrics`, with Prometheus's meanings (`prometheus_rule_*`).
    func exposition() -> String {
        let ordered = groups.sorted { $0.key < $1.key }
        guard !ordered.isEmpty else { return "" }
        func family(_ name: String, _ type: String, _ help: String, _ value: (GroupStatus) -> Double?) -> String {
            var text = "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for (group, status) in ordered {
                guard let value = value(status) else { continue }
                let label = group.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                    .replacingOccurrences(of: "\n", with: "\\n")
                text += "\(name){rule_group=\"\(label)\"} \(GoText.formatFloatPlain(value))\n"
            }
            return text
        }
        return family("canopy_rule_evaluations_total", "counter", "Evaluations of each rule group.") { Double($0.evaluations) }
            + family("canopy_rule_evaluation_failures_total", "counter", "Rule evaluations that failed, per group.") { Double($0.failures) }
            + family("canopy_rule_group_iterations_missed_total", "counter", "Evaluations skipped because the previous one took longer than the interval.") {
                Double($0.missed)
            }
            + family("canopy_rule_group_last_duration_seconds", "gauge", "How long the group's last evaluation took.") { $0.evaluationSeconds }
            + family("canopy_rule_group_last_evaluation_timestamp_seconds", "gauge", "When the group was last evaluated.") {
                $0.lastEvaluation?.timeIntervalSince1970
            }
    }

    /// Drops what belongs to rules no longer configured, keeping the rest as it is (a reload
    /// keeps the state of unchanged rules).
    func retain(_ keys: Set<RuleKey>) -> [RuleKey: Set<PromQL.Labels>] {
        let gone = written.filter { !keys.contains($0.key) }
        for key in gone.keys { written[key] = nil }
        rules = rules.filter { keys.contains($0.key) }
        alerts = alerts.filter { keys.contains($0.key) }
        let groupKeys = Set(keys.map(\.group))
        groups = groups.filter { groupKeys.contains($0.key) }
        return gone
    }
}

/// A rule's identity across evaluations and reloads, as Prometheus matches rules when it
/// copies state: its group (file and name), its name and labels, and which of several rules
/// with the same name and labels it is.
struct RuleKey: Hashable, Sendable, CustomStringConvertible {
    var group: String
    var rule: String

    static func group(_ group: RuleGroup) -> String { "\(group.file);\(group.name)" }

    /// The keys of a group's rules, in order.
    static func keys(_ group: RuleGroup) -> [RuleKey] {
        var seen: [String: Int] = [:]
        return group.rules.map { rule in
            let name = rule.name + "{" + rule.labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.debugDescription)" }.joined(separator: ",") + "}"
            let index = seen[name, default: 0]
            seen[name] = index + 1
            return RuleKey(group: Self.group(group), rule: index == 0 ? name : "\(name)#\(index)")
        }
    }

    var description: String { "\(group) \(rule)" }
}
