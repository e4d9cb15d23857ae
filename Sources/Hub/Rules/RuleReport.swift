import Foundation
import Rules

/// The configured rule groups with what the board knows of each rule, read in one step of the
/// board, so that a page or an answer never mixes two evaluations. `/api/v1/rules`, `/rules` and
/// `/alerts` are all drawn from it.
struct RuleReport: Sendable {
    struct Group: Sendable {
        var group: RuleGroup
        /// The group's own `interval`, or the configured `evaluation_interval`.
        var interval: Duration
        /// Nil until the group's first evaluation.
        var status: RuleBoard.GroupStatus?
        var rules: [Entry]
    }

    struct Entry: Sendable {
        var rule: Rule
        var status: RuleBoard.RuleStatus
        /// The rule's pending and firing alerts, by `Alert.key`; none for a recording rule.
        var alerts: [Alert]
    }

    var groups: [Group]
}

extension RuleBoard {
    func report(_ settings: RuleSettings) -> RuleReport {
        RuleReport(
            groups: settings.groups.map { group in
                RuleReport.Group(
                    group: group, interval: group.interval ?? settings.evaluationInterval, status: groups[RuleKey.group(group)],
                    rules: zip(group.rules, RuleKey.keys(group)).map { rule, key in
                        let active = alerts[key]?.active.values.filter { $0.state != .inactive } ?? []
                        return RuleReport.Entry(rule: rule, status: rules[key] ?? RuleStatus(), alerts: active.sorted { $0.key < $1.key })
                    })
            })
    }

    /// How many alerts fire and wait, for the nav of every page.
    func alertCounts() -> AlertCounts {
        var counts = AlertCounts()
        for alert in alerts.values.flatMap(\.active.values) {
            switch alert.state {
            case .firing: counts.firing += 1
            case .pending: counts.pending += 1
            case .inactive: break
            }
        }
        return counts
    }
}

struct AlertCounts: Sendable, Equatable {
    var firing = 0
    var pending = 0
}
