import Foundation
import Hummingbird
import Periskop
import Shared

/// `GET /groups`: the team's groups across its services, filtered by the URL's query.
extension LeafPages {
    func groupsPage(_ request: Request) async -> Response {
        let now = Date()
        let query = GroupsListQuery(request)
        let services = await views.services().map(\.name)
        var view = GroupsListView(
            filters: FilterFormView(
                action: "/groups",
                fields: [
                    .select(name: "service", label: "Service", values: services, selected: query.service),
                    .severity(selected: query.severity),
                    .select(
                        name: "status", label: "Status", options: [("resolved", "Resolved"), ("all", "All")], selected: query.status,
                        anyLabel: "Unresolved"),
                    .search(value: query.text, placeholder: "class, message, key, stack trace"),
                    .select(
                        name: "sort", label: "Sort", options: [("first_seen", "First seen"), ("count", "Total")], selected: query.sort,
                        anyLabel: "Last seen"),
                ]
            ),
            hasError: false,
            error: ErrorBannerView(title: "", message: ""),
            table: GroupsTableView(rows: [], showTeam: false, windowLabel: "Instances", empty: EmptyStateView(title: "")),
            pager: PagerView(path: "/groups", query: [], nextCursor: nil),
            hasPager: false
        )
        guard query.problems.isEmpty else {
            view.hasError = true
            view.error = ErrorBannerView(title: "These filters do not work:", message: query.problems.joined(separator: "; "))
            return page("leafGroups", view, title: "Groups", path: "/groups", now: now, status: .badRequest)
        }

        var groups = await views.groups(in: query.service.isEmpty ? nil : [query.service], filter: query.filter)
        if query.status == "resolved" { groups = groups.filter(\.resolved) }
        let start = (query.page - 1) * pageSize
        let shown = Array(groups.dropFirst(start).prefix(pageSize))
        view.table.rows = shown.map { Self.row($0, now: now) }
        view.table.empty =
            if !groups.isEmpty {
                EmptyStateView(
                    title: "No groups on page \(query.page)", detail: "There are \(groups.count).", action: ("First page", query.href(page: 1)))
            } else if query.hasFilters {
                EmptyStateView(title: "No exceptions match these filters", action: ("Clear filters", "/groups"))
            } else {
                EmptyStateView(title: "No exceptions", detail: "None of the team's services has reported one.")
            }
        let summary = shown.isEmpty ? "" : "\(start + 1)–\(start + shown.count) of \(groups.count) group\(groups.count == 1 ? "" : "s")"
        view.pager = PagerView(
            path: "/groups", query: query.pairs, nextCursor: groups.count > start + pageSize ? String(query.page + 1) : nil, cursorName: "page",
            summary: summary)
        view.hasPager = !shown.isEmpty
        return page("leafGroups", view, title: "Groups", path: "/groups", now: now)
    }

    static func row(_ group: GroupSummary, now: Date) -> GroupRowView {
        GroupRowView(
            href: groupHref(service: group.service, key: group.aggregationKey),
            status: StatusBadgeView(status: group.resolved ? "resolved" : "unresolved"),
            severity: SeverityBadgeView(group.severity),
            // Scala's message events have no class: the key names the group instead.
            errorClass: group.className.isEmpty ? group.aggregationKey : group.className,
            message: group.message,
            service: group.service,
            firstSeen: TimeView(group.firstSeen, now: now),
            lastSeen: TimeView(group.lastSeen, now: now),
            total: CountView(Int64(group.total)),
            // The leaf keeps no history per window: the column shows how many instances report it now.
            windowCount: CountView(Int64(group.instances))
        )
    }

    /// `/groups/{service}/{key}`, each part one percent-encoded segment (a key may hold slashes).
    static func groupHref(service: String, key: String) -> String {
        "/groups/\(PageLink.segment(service))/\(PageLink.segment(key))"
    }
}

/// What the list's URL asks for. The raw values are kept to show them back in the form, and a
/// value the leaf cannot use is a problem the page names (rather than silently ignoring it).
struct GroupsListQuery {
    var service: String
    var severity: String
    /// "" (unresolved), `resolved` or `all`.
    var status: String
    var text: String
    /// "" (last seen), `first_seen` or `count`.
    var sort: String
    var page = 1
    var filter = TeamViews.Filter()
    var problems: [String] = []

    init(_ request: Request) {
        service = request.query("service") ?? ""
        severity = request.query("severity") ?? ""
        status = request.query("status") ?? ""
        text = request.query("q") ?? ""
        sort = request.query("sort") ?? ""
        if sort == TeamViews.Sort.lastSeen.rawValue { sort = "" }

        if !severity.isEmpty {
            if let value = Severity(rawValue: severity) {
                filter.severity = value
            } else {
                problems.append("severity must be error, warning or info, not \(severity)")
            }
        }
        switch status {
        case "": filter.includeResolved = false
        case "resolved", "all": filter.includeResolved = true
        default: problems.append("status must be resolved or all, or empty for unresolved, not \(status)")
        }
        filter.text = text.isEmpty ? nil : text
        if !sort.isEmpty {
            if let value = TeamViews.Sort(rawValue: sort) {
                filter.sort = value
            } else {
                problems.append("sort must be first_seen or count, not \(sort)")
            }
        }
        if let text = request.query("page"), !text.isEmpty {
            if let number = Int(text), number >= 1 { page = number } else { problems.append("page must be a number from 1, not \(text)") }
        }
    }

    var hasFilters: Bool { !(service.isEmpty && severity.isEmpty && status.isEmpty && text.isEmpty) }

    /// The query as links carry it: the filters, then the page (left out on the first).
    var pairs: [(name: String, value: String)] {
        [("service", service), ("severity", severity), ("status", status), ("q", text), ("sort", sort), ("page", page > 1 ? String(page) : "")]
    }

    func href(page: Int) -> String {
        PageLink.href("/groups", query: pairs.filter { $0.name != "page" } + [("page", page > 1 ? String(page) : "")])
    }
}

struct GroupsListView {
    var filters: FilterFormView
    var hasError: Bool
    var error: ErrorBannerView
    var table: GroupsTableView
    var pager: PagerView
    /// No pager under an empty list: its empty state says where to go.
    var hasPager: Bool
}
