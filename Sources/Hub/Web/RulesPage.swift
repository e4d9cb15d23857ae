import Foundation
import PromQL
import Rules
import Shared

/// The rules page (`/rules`): every rule group with its file, interval and last evaluation, and
/// its rules with their expression (a link to the graph page), health and last error, timings,
/// labels and annotations, and an alerting rule's alerts (a link to the alerts page). Rules that
/// fail are marked and listed at the top, so that a broken rule is not missed. Pure: drawn from
/// a `RuleReport`.
enum RulesPage {
    struct Label: Sendable {
        let name: String
        let value: String
        /// `value` with a `<wbr>` after each `/`, `.`, `-`..., so that a long value wraps there.
        let valueHTML: SafeHTML

        init(name: String, value: String) {
            self.name = name
            self.value = value
            valueHTML = .breakable(value)
        }
    }

    struct RuleCard: Sendable {
        /// The card's fragment id, for the links from the list of failing rules.
        let anchor: String
        let type: String
        let name: String
        /// `name` and `lastError` wrapping after `:`, `_`, `.`... (`SafeHTML.breakable`).
        let nameHTML: SafeHTML
        let health: HealthBadgeView
        /// `rule-card`, with `rule-err` for a rule whose last evaluation failed, `rule-unknown` before its first.
        let cardClass: String
        let hasError: Bool
        let lastError: String
        let lastErrorHTML: SafeHTML
        let expression: String
        let graphHref: String
        let isAlerting: Bool
        let holdFor: String
        let keepFiringFor: String
        let alertsText: String
        let alertsHref: String
        let lastEvaluation: TimeView
        let duration: String
        let labels: [Label]
        let annotations: [Label]
    }

    struct GroupSection: Sendable {
        let anchor: String
        let name: String
        /// The rule file's path, wrapping after its `/`, `.`, `-`... (`SafeHTML.breakable`).
        let fileHTML: SafeHTML
        let interval: String
        let hasLimit: Bool
        let limit: String
        let lastEvaluation: TimeView
        let duration: String
        let failing: String
        let hasFailing: Bool
        let rules: [RuleCard]
    }

    /// A link to one failing rule, in the banner at the top.
    struct FailingLink: Sendable {
        let anchor: String
        let name: String
        let last: Bool
    }

    /// What the `hubRules` template reads. Lists of zero or one stand for what may be absent.
    struct View: Sendable {
        let hasFailing: Bool
        let failingTitle: String
        let failing: [FailingLink]
        let hasGroups: Bool
        let summary: String
        let groups: [GroupSection]
        let empty: EmptyStateView
    }

    static func view(_ report: RuleReport, now: Date) -> View {
        let groups = report.groups.enumerated().map { groupIndex, group in
            let cards = group.rules.enumerated().map { ruleIndex, entry in card(entry, anchor: "rule-\(groupIndex)-\(ruleIndex)", now: now) }
            let broken = cards.count(where: \.hasError)
            return GroupSection(
                anchor: "group-\(groupIndex)", name: group.group.name, fileHTML: .breakable(group.group.file), interval: configured(group.interval),
                hasLimit: group.group.limit > 0, limit: "\(group.group.limit)", lastEvaluation: TimeView(group.status?.lastEvaluation, now: now),
                duration: group.status.map { took($0.evaluationSeconds) } ?? "", failing: "\(broken) failing", hasFailing: broken > 0,
                rules: cards)
        }
        let broken = groups.flatMap { group in group.rules.filter(\.hasError).map { (anchor: $0.anchor, name: "\($0.name) (\(group.name))") } }
        let failing = broken.enumerated().map { FailingLink(anchor: $1.anchor, name: $1.name, last: $0 == broken.count - 1) }
        let ruleCount = groups.map(\.rules.count).reduce(0, +)
        let groupsText = groups.count == 1 ? "1 group" : "\(groups.count) groups"
        let rulesText = ruleCount == 1 ? "1 rule" : "\(ruleCount) rules"
        return View(
            hasFailing: !failing.isEmpty,
            failingTitle: failing.count == 1 ? "A rule fails:" : "\(failing.count) rules fail:", failing: failing,
            hasGroups: !groups.isEmpty, summary: "\(rulesText) in \(groupsText), \(failing.count) failing", groups: groups,
            empty: EmptyStateView(
                title: "No rules loaded",
                detail: "List Prometheus rule files under `rule_files:` in the hub's config, then reload it (POST /-/reload or SIGHUP)."))
    }

    static func card(_ entry: RuleReport.Entry, anchor: String, now: Date) -> RuleCard {
        let rule = entry.rule
        let status = entry.status
        let health: HealthBadgeView =
            switch status.health {
            case .ok: HealthBadgeView(.up, label: "ok")
            case .err: HealthBadgeView(.down, label: "err")
            case .unknown: HealthBadgeView(.unknown)
            }
        var isAlerting = false, holdFor = "", keepFiringFor = "", alertsText = "", alertsHref = ""
        if case .alerting(let name, let hold, let keep) = rule.kind {
            isAlerting = true
            holdFor = configured(hold)
            keepFiringFor = configured(keep)
            let firing = entry.alerts.count(where: { $0.state == .firing })
            let pending = entry.alerts.count - firing
            alertsText = entry.alerts.isEmpty ? "none firing or pending" : "\(firing) firing, \(pending) pending"
            alertsHref = PageLink.href("/alerts", query: [("q", name)])
        }
        return RuleCard(
            anchor: anchor, type: isAlerting ? "alert" : "record", name: rule.name, nameHTML: .breakable(rule.name), health: health,
            cardClass: status.health == .err ? "rule-card rule-err" : status.health == .unknown ? "rule-card rule-unknown" : "rule-card",
            hasError: status.health == .err, lastError: status.lastError ?? "", lastErrorHTML: .breakable(status.lastError ?? ""), expression: rule.expression,
            graphHref: AlertsPage.graphHref(rule.expression), isAlerting: isAlerting, holdFor: holdFor, keepFiringFor: keepFiringFor,
            alertsText: alertsText, alertsHref: alertsHref, lastEvaluation: TimeView(status.lastEvaluation, now: now),
            duration: status.lastEvaluation == nil ? "" : took(status.evaluationSeconds),
            labels: rule.labels.sorted { $0.key < $1.key }.map { Label(name: $0.key, value: $0.value) },
            annotations: rule.annotations.sorted { $0.key < $1.key }.map { Label(name: $0.key, value: $0.value) })
    }

    /// A configured duration as the rule file writes it (`5m`, `0s`).
    static func configured(_ duration: Duration) -> String {
        let milliseconds = Int64((duration.seconds * 1000).rounded())
        return milliseconds == 0 ? "0s" : PromDuration(milliseconds: milliseconds).description
    }

    /// How long an evaluation took: most take well under a millisecond.
    static func took(_ seconds: Double) -> String {
        seconds < 0.001 ? "under 1 ms" : WebFormat.duration(seconds: seconds)
    }
}
