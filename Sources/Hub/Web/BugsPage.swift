import Foundation
import Shared

/// The bugs page (`/bugs`): every fingerprint seen in two or more teams or services, with its
/// groups (each a link to its page, with its own total and status) and forms that change the
/// status of all of them at once. Pure: drawn from the bugs the API lists.
enum BugsPage {
    struct GroupRow: Sendable {
        let team: String
        let service: String
        let href: String
        /// The aggregation key, wrapping after its `@`, `.`, `/`... (`SafeHTML.breakable`).
        let keyHTML: SafeHTML
        let status: StatusBadgeView
        let total: CountView
        let lastSeen: TimeView
    }

    struct BugSection: Sendable {
        /// The section's fragment id (`bug-<fingerprint>`), where a status form returns to.
        let anchor: String
        let fingerprint: String
        /// The class, wrapping after its `.`, `$`... (`SafeHTML.breakable`).
        let nameHTML: SafeHTML
        let message: String
        let firstSeen: TimeView
        let total: CountView
        let spread: String
        let groups: [GroupRow]
        let actions: StatusActionsView
    }

    struct View: Sendable {
        let hasBugs: Bool
        let summary: String
        let bugs: [BugSection]
        let empty: EmptyStateView
    }

    static func view(_ bugs: [Bug], now: Date) -> View {
        let sections = bugs.map { bug in
            let teams = Set(bug.groups.map(\.team)).count
            let services = Set(bug.groups.map { [$0.team, $0.service] }).count
            return BugSection(
                anchor: "bug-\(bug.fingerprint)", fingerprint: bug.fingerprint, nameHTML: .breakable(bug.className.isEmpty ? "(no class)" : bug.className),
                message: bug.message, firstSeen: TimeView(bug.firstSeen, now: now), total: CountView(bug.groups.reduce(0) { $0 + $1.total }),
                spread: "\(teams) \(teams == 1 ? "team" : "teams"), \(services) \(services == 1 ? "service" : "services"), \(bug.groups.count) groups",
                groups: bug.groups.map { group in
                    GroupRow(
                        team: group.team, service: group.service, href: "/groups/\(group.id)", keyHTML: .breakable(group.aggregationKey),
                        status: StatusBadgeView(status: group.status), total: CountView(group.total), lastSeen: TimeView(group.lastSeen, now: now))
                },
                actions: StatusActionsView(actions: actions(fingerprint: bug.fingerprint, statuses: Set(bug.groups.map(\.status)))))
        }
        return View(
            hasBugs: !sections.isEmpty, summary: "\(sections.count) \(sections.count == 1 ? "bug" : "bugs") seen in more than one team or service",
            bugs: sections,
            empty: EmptyStateView(
                title: "No bug is seen in two places",
                detail: "A bug shows here when groups in two or more teams or services have the same fingerprint: the same class raised in the same innermost frames."))
    }

    /// For all the bug's groups at once: each is offered unless every group has that status already.
    static func actions(fingerprint: String, statuses: Set<String>) -> [StatusActionView] {
        let action = "/api/v1/bugs/\(fingerprint)/status"
        var actions: [StatusActionView] = []
        if statuses != ["resolved"] { actions.append(StatusActionView(formAction: action, name: "resolve-all", value: "resolved", label: "Resolve all")) }
        if statuses != ["ignored"] {
            actions.append(StatusActionView(formAction: action, name: "ignore-all-24h", value: "ignored", fields: [("ignore_for", "24h")], label: "Ignore all for 24 hours"))
        }
        if statuses != ["unresolved"] { actions.append(StatusActionView(formAction: action, name: "reopen-all", value: "unresolved", label: "Reopen all")) }
        return actions
    }
}
