import Foundation
import PromQL
import Rules
import Shared

/// The alerts page (`/alerts`): the firing and pending alerts of the hub's alerting rules, firing
/// first, each with its labels, annotations, value and start, a link to its rule's expression on
/// the graph page and, for an alert about one group, to the group's page. The filters (`state`,
/// `q`) are in the URL. Reading the URL (`Filter`) and drawing the page (`view`) are pure
/// functions; `HubPages` reads the board and looks up the groups.
enum AlertsPage {
    /// One alert, with what the page shows of the rule that raised it.
    struct Item: Sendable {
        var alert: Alert
        var expression: String
        var ruleGroup: String
    }

    /// The pending and firing alerts of `report`: firing first, then pending, each state by
    /// alert name and then labels, so that a page reads the same from one load to the next.
    static func items(_ report: RuleReport) -> [Item] {
        let items = report.groups.flatMap { group in
            group.rules.flatMap { entry in entry.alerts.map { Item(alert: $0, expression: entry.rule.expression, ruleGroup: group.group.name) } }
        }
        func rank(_ state: Alert.State) -> Int { state == .firing ? 0 : 1 }
        return items.sorted {
            (rank($0.alert.state), $0.alert.labels["alertname"] ?? "", $0.alert.key) < (rank($1.alert.state), $1.alert.labels["alertname"] ?? "", $1.alert.key)
        }
    }

    /// The group an alert is about: its labels name the team, the service and the key.
    static func group(of alert: Alert) -> HubQueries.GroupIdentity? {
        guard let team = alert.labels["team"], let service = alert.labels["service"], let key = alert.labels["aggregation_key"] else { return nil }
        return HubQueries.GroupIdentity(team: team, service: service, key: key)
    }

    // MARK: The URL

    /// `state=firing|pending` and `q=`: words that must each be in one of the alert's labels,
    /// written `name=value` (`payments`, `team=payments`, an alert's name), ignoring case. A state
    /// the page does not know is named as a problem and filters nothing.
    struct Filter: Sendable, Equatable {
        var state: Alert.State?
        var stateText = ""
        var query = ""
        var problems: [String] = []

        init(_ items: [(name: String, value: String)]) {
            func value(_ name: String) -> String { items.first { $0.name == name }?.value.trimmingCharacters(in: .whitespaces) ?? "" }
            stateText = value("state")
            query = value("q")
            switch stateText {
            case "": break
            case "firing": state = .firing
            case "pending": state = .pending
            default: problems.append("invalid parameter \"state\": \"\(stateText)\" is neither firing nor pending")
            }
        }

        var isActive: Bool { state != nil || !query.isEmpty }

        func matches(_ alert: Alert) -> Bool {
            if let state, alert.state != state { return false }
            let labels = alert.labels.map { "\($0.key)=\($0.value)".lowercased() }
            return query.lowercased().split(whereSeparator: \.isWhitespace).allSatisfy { word in labels.contains { $0.contains(word) } }
        }
    }

    // MARK: The page

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

    /// An alert's state, with a class from a fixed set.
    struct StateBadge: Sendable {
        let label: String
        let cssClass: String

        init(_ state: Alert.State) {
            label = state.rawValue
            cssClass = "badge alert-state alert-\(state.rawValue)"
        }
    }

    struct Card: Sendable {
        let name: String
        /// `name` wrapping between its camel-case humps (`SafeHTML.breakable`).
        let nameHTML: SafeHTML
        let state: StateBadge
        let stateName: String
        /// Every label but `alertname` (the card's title), by name.
        let labels: [Label]
        let hasSummary: Bool
        let summary: String
        let hasDescription: Bool
        let description: String
        /// The annotations other than `summary` and `description`, by name.
        let annotations: [Label]
        let value: String
        let exactValue: String
        let activeSince: TimeView
        let ruleGroup: String
        let graphHref: String
        let hasGroupLink: Bool
        let groupHref: String
        /// The silences in force on the alert; without one, the form to silence it (none
        /// without Alertmanagers).
        let silenced: [SilencedView]
        let silenceForm: [SilenceFormView]
    }

    struct Section: Sendable {
        let id: String
        let title: String
        let count: String
        let cards: [Card]
    }

    /// What the `hubAlerts` template reads. Lists of zero or one stand for what may be absent.
    struct View: Sendable {
        let filters: FilterFormView
        let errors: [ErrorBannerView]
        let hasSummary: Bool
        let summary: String
        let sections: [Section]
        let empty: [EmptyStateView]
    }

    /// The page for `filter` over `items`. `alertingRules` counts the rules that could fire (for
    /// the empty state); `groupIDs` are the groups the hub has, for the links to their pages, and
    /// `groupLookup` says why they could not be looked up.
    static func view(
        _ filter: Filter, _ items: [Item], alertingRules: Int, groupIDs: [HubQueries.GroupIdentity: Int64], groupLookup: String? = nil,
        silences: [GettableSilence]? = nil, silenceProblems: [String] = [], now: Date
    ) -> View {
        let shown = items.filter { filter.matches($0.alert) }
        let firing = items.count(where: { $0.alert.state == .firing })
        var sections: [Section] = []
        for (state, title) in [(Alert.State.firing, "Firing"), (.pending, "Pending")] {
            let cards = shown.filter { $0.alert.state == state }.enumerated().map { index, item in
                card(item, groupIDs: groupIDs, silences: silences, id: "silence-\(state.rawValue)-\(index)", now: now)
            }
            if !cards.isEmpty { sections.append(Section(id: "alerts-\(state.rawValue)", title: title, count: "\(cards.count)", cards: cards)) }
        }
        var summary = "\(firing) firing, \(items.count - firing) pending"
        if filter.isActive { summary += "; \(shown.count) \(shown.count == 1 ? "matches" : "match") the filters" }
        var empty: [EmptyStateView] = []
        if shown.isEmpty {
            if alertingRules == 0 {
                empty = [
                    EmptyStateView(
                        title: "Nothing is firing: no alerting rules are loaded",
                        detail: "List Prometheus rule files under `rule_files:` in the hub's config and reload it.", action: ("See the rules", "/rules"))
                ]
            } else if items.isEmpty {
                let rules = alertingRules == 1 ? "The 1 alerting rule is" : "All \(alertingRules) alerting rules are"
                empty = [EmptyStateView(title: "Nothing is firing", detail: "No alert is firing or pending. \(rules) evaluated and quiet.", action: ("See the rules", "/rules"))]
            } else {
                empty = [EmptyStateView(title: "No alerts match", detail: "\(summary): change the filters, or reset them.", action: ("Reset the filters", "/alerts"))]
            }
        }
        let fields: [FilterFieldView] = [
            .select(name: "state", label: "State", options: [("firing", "firing"), ("pending", "pending")], selected: filter.stateText),
            .search(name: "q", label: "Labels", value: filter.query, placeholder: "team=payments, alert name"),
        ]
        let errors =
            filter.problems.map { ErrorBannerView(title: "Bad parameter:", message: $0) }
            + (groupLookup.map { [ErrorBannerView(title: "No links to the groups:", message: $0)] } ?? [])
            + silenceProblems.map { ErrorBannerView(title: "Silences not known:", message: $0) }
        return View(
            filters: FilterFormView(action: "/alerts", fields: fields), errors: errors, hasSummary: !items.isEmpty, summary: summary,
            sections: sections, empty: empty)
    }

    /// `silences` nil: no Alertmanager, so no silences and no form.
    static func card(_ item: Item, groupIDs: [HubQueries.GroupIdentity: Int64], silences: [GettableSilence]? = nil, id: String = "silence", now: Date) -> Card {
        let alert = item.alert
        let annotations = alert.annotations
        let groupID = group(of: alert).flatMap { groupIDs[$0] }
        // Alertmanager sees the alert with `alertname` and the hub's external labels; silences on
        // the labels the page shows match as there.
        let silencing = (silences ?? []).filter { $0.silences(alert.labels) }.sorted { $0.endsAt < $1.endsAt }
        let silenced = silencing.map { SilencedView(createdBy: $0.createdBy, until: TimeView($0.endsAt, now: now), comment: $0.comment, id: $0.id) }
        let form = silences == nil || !silencing.isEmpty ? [] : [
            SilenceFormView(SilenceMatcher.alert(labels: alert.labels), id: id, summary: "this alert", returnPath: "/alerts", now: now)
        ]
        return Card(
            name: alert.labels["alertname"] ?? "", nameHTML: .breakable(alert.labels["alertname"] ?? ""), state: StateBadge(alert.state), stateName: alert.state.rawValue,
            labels: alert.labels.filter { $0.key != "alertname" }.sorted { $0.key < $1.key }.map { Label(name: $0.key, value: $0.value) },
            hasSummary: annotations["summary"] != nil, summary: annotations["summary"] ?? "",
            hasDescription: annotations["description"] != nil, description: annotations["description"] ?? "",
            annotations: annotations.filter { $0.key != "summary" && $0.key != "description" }.sorted { $0.key < $1.key }.map {
                Label(name: $0.key, value: $0.value)
            },
            value: WebFormat.number(alert.value), exactValue: GoText.formatFloatPlain(alert.value), activeSince: TimeView(alert.activeAt, now: now),
            ruleGroup: item.ruleGroup, graphHref: graphHref(item.expression), hasGroupLink: groupID != nil, groupHref: groupID.map { "/groups/\($0)" } ?? "",
            silenced: silenced, silenceForm: form)
    }

    /// A rule's expression in the graph page's table, as the alerts' `generatorURL` links it.
    static func graphHref(_ expression: String) -> String {
        PageLink.href("/graph", query: [("tab", "table"), ("expr", expression)])
    }
}
