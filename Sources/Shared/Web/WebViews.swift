import Foundation
import Periskop

// The view models the shared partials render. Mustache reads them by reflection, so every field
// is a stored property, and none is optional: a nil field would make Mustache look the name up
// in the enclosing view instead. Flags (`hasNext`, `isSelect`) say what an optional would.

/// The page shell around a page's body.
public struct PageChrome: Sendable {
    /// "Canopy hub", "Canopy leaf · payments": the brand at the top left and the end of `<title>`.
    public var product: String
    /// The page's own title: the start of `<title>` and the `<h1>`.
    public var title: String
    public var nav: [NavItem]
    public var homeHref: String
    /// A line at the bottom: version, team, the time the page was made.
    public var footer: String

    public init(product: String, title: String, nav: [NavItem], homeHref: String = "/", footer: String = "") {
        self.product = product
        self.title = title
        self.nav = nav
        self.homeHref = homeHref
        self.footer = footer
    }
}

/// One item of the header nav.
public struct NavItem: Sendable, Equatable {
    public var label: String
    public var href: String
    /// The page shown is this item's (or below it): rendered as `aria-current="page"`.
    public var current: Bool
    /// A number shown beside the label (the alerts firing), "" for none, and what it counts
    /// ("2 firing"): the tooltip, and what a screen reader says instead of the bare number.
    public var count: String
    public var countLabel: String

    public init(label: String, href: String, current: Bool = false, count: String = "", countLabel: String = "") {
        self.label = label
        self.href = href
        self.current = current
        self.count = count
        self.countLabel = countLabel
    }

    /// Items from (label, href) pairs, marking the one whose href is the longest prefix of `path`
    /// (so that `/groups/12` marks Groups, and `/` marks only the home item).
    public static func items(_ pairs: [(label: String, href: String)], currentPath path: String) -> [NavItem] {
        let matches = pairs.map { pair in
            pair.href == "/" ? path == "/" : path == pair.href || path.hasPrefix(pair.href.hasSuffix("/") ? pair.href : pair.href + "/")
        }
        let best = zip(pairs, matches).filter { $0.1 }.map { $0.0.href.count }.max()
        return zip(pairs, matches).map { pair, matched in
            NavItem(label: pair.label, href: pair.href, current: matched && pair.href.count == best)
        }
    }
}

/// A group's status: `unresolved`, `regressed`, `resolved` or `ignored`. Partial `statusBadge`.
public struct StatusBadgeView: Sendable, Equatable {
    public var label: String
    /// Chosen from a fixed set, never the raw status: a status the kit does not know gets `status-unknown`.
    public var cssClass: String

    public static let known = ["unresolved", "regressed", "resolved", "ignored"]

    public init(status: String) {
        let normal = status.lowercased()
        label = status
        cssClass = Self.known.contains(normal) ? "badge status-\(normal)" : "badge status-unknown"
    }
}

/// A group's severity. Partial `severityBadge`.
public struct SeverityBadgeView: Sendable, Equatable {
    public var label: String
    public var cssClass: String

    public init(_ severity: Severity) { self.init(name: severity.rawValue) }

    public init(name: String) {
        let normal = name.lowercased()
        label = name
        cssClass = Severity(rawValue: normal) != nil ? "severity severity-\(normal)" : "severity severity-unknown"
    }
}

/// A leaf's or target's health. Partial `healthBadge`; `rowClass` marks a whole table row.
public struct HealthBadgeView: Sendable, Equatable {
    public enum Health: String, Sendable { case up, down, stale, unknown }
    public var label: String
    public var cssClass: String
    /// `row-down`/`row-stale` for the row of an unhealthy leaf or target, or "".
    public var rowClass: String

    public init(_ health: Health, label: String? = nil) {
        self.label = label ?? health.rawValue
        cssClass = "badge health-\(health.rawValue)"
        rowClass = health == .down || health == .stale ? "row-\(health.rawValue)" : ""
    }
}

/// A point in time: relative text, the UTC time as a tooltip and machine-readable attribute.
/// Partial `time`; a time never seen (`known` false) shows as a dash.
public struct TimeView: Sendable, Equatable {
    public var known: Bool
    public var datetime: String
    public var relative: String
    public var absolute: String

    public init(_ date: Date?, now: Date) {
        guard let date else {
            self.init(known: false, datetime: "", relative: "", absolute: "")
            return
        }
        self.init(known: true, datetime: WebFormat.datetime(date), relative: WebFormat.relative(date, now: now), absolute: WebFormat.absolute(date))
    }

    init(known: Bool, datetime: String, relative: String, absolute: String) {
        self.known = known
        self.datetime = datetime
        self.relative = relative
        self.absolute = absolute
    }
}

/// A count: compact (`1.2k`) with the exact number as a tooltip. Partial `count`.
public struct CountView: Sendable, Equatable {
    public var compact: String
    public var exact: String

    public init(_ count: Int64) {
        compact = WebFormat.compact(count)
        exact = WebFormat.grouped(count)
    }
}

/// One row of the groups table.
public struct GroupRowView: Sendable {
    /// The group's page.
    public var href: String
    public var status: StatusBadgeView
    public var severity: SeverityBadgeView
    public var errorClass: String
    /// `errorClass` with a `<wbr>` after each dot, for the table.
    public var errorClassHTML: SafeHTML
    public var message: String
    public var service: String
    /// "" at a leaf; shown only when the table's `showTeam` is set.
    public var team: String
    public var firstSeen: TimeView
    public var lastSeen: TimeView
    public var total: CountView
    public var windowCount: CountView
    /// `SVGChart.sparkline(...)` of the window's occurrences, or `.empty`.
    public var sparkline: SafeHTML

    public init(
        href: String,
        status: StatusBadgeView,
        severity: SeverityBadgeView,
        errorClass: String,
        message: String,
        service: String,
        team: String = "",
        firstSeen: TimeView,
        lastSeen: TimeView,
        total: CountView,
        windowCount: CountView,
        sparkline: SafeHTML = .empty
    ) {
        self.href = href
        self.status = status
        self.severity = severity
        self.errorClass = errorClass
        self.errorClassHTML = .breakable(errorClass)
        self.message = message
        self.service = service
        self.team = team
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.total = total
        self.windowCount = windowCount
        self.sparkline = sparkline
    }
}

/// Partial `groupsTable`: the error groups, or `empty` when there are none.
public struct GroupsTableView: Sendable {
    public var rows: [GroupRowView]
    /// The hub shows "Service / team"; a leaf has one team.
    public var showTeam: Bool
    /// The header of the window column: "Last 24 h".
    public var windowLabel: String
    public var empty: EmptyStateView

    public init(rows: [GroupRowView], showTeam: Bool, windowLabel: String, empty: EmptyStateView) {
        self.rows = rows
        self.showTeam = showTeam
        self.windowLabel = windowLabel
        self.empty = empty
    }
}

/// Partial `filterForm`: a GET form, so that every filtered view is a URL to share.
public struct FilterFormView: Sendable {
    /// The path the form submits to (its own page).
    public var action: String
    public var fields: [FilterFieldView]
    /// Where "Reset" goes: the page without filters.
    public var resetHref: String

    public init(action: String, fields: [FilterFieldView], resetHref: String? = nil) {
        self.action = action
        self.fields = fields
        self.resetHref = resetHref ?? action
    }
}

/// A field of the filter form: a select when `isSelect`, else a search box.
public struct FilterFieldView: Sendable {
    public var name: String
    public var label: String
    public var value: String
    public var isSelect: Bool
    public var options: [OptionView]
    public var placeholder: String

    public struct OptionView: Sendable, Equatable {
        public var value: String
        public var label: String
        public var selected: Bool
    }

    /// A select whose first option ("" labelled `anyLabel`) means no filter. A selected value not
    /// among `options` (a hand-edited URL) is added, so that the form shows what the page shows.
    public static func select(
        name: String,
        label: String,
        options: [(value: String, label: String)],
        selected: String?,
        anyLabel: String = "Any"
    ) -> FilterFieldView {
        let selected = selected ?? ""
        var all = [(value: "", label: anyLabel)] + options
        if !all.contains(where: { $0.value == selected }) { all.append((selected, selected)) }
        return FilterFieldView(
            name: name,
            label: label,
            value: selected,
            isSelect: true,
            options: all.map { OptionView(value: $0.value, label: $0.label, selected: $0.value == selected) },
            placeholder: ""
        )
    }

    /// A select among plain values (teams, services), each its own label.
    public static func select(name: String, label: String, values: [String], selected: String?) -> FilterFieldView {
        select(name: name, label: label, options: values.map { ($0, $0) }, selected: selected)
    }

    public static func search(name: String = "q", label: String = "Search", value: String?, placeholder: String = "class, message, key")
        -> FilterFieldView
    {
        FilterFieldView(name: name, label: label, value: value ?? "", isSelect: false, options: [], placeholder: placeholder)
    }

    public static func severity(selected: String?) -> FilterFieldView {
        select(name: "severity", label: "Severity", options: [("error", "error"), ("warning", "warning"), ("info", "info")], selected: selected)
    }

    public static func status(selected: String?) -> FilterFieldView {
        select(name: "status", label: "Status", options: StatusBadgeView.known.map { ($0, $0) }, selected: selected)
    }

    public static func window(selected: String?) -> FilterFieldView {
        select(
            name: "window",
            label: "Window",
            options: [("1h", "1 h"), ("24h", "24 h"), ("7d", "7 d"), ("30d", "30 d")],
            selected: selected,
            anyLabel: "Default"
        )
    }

    public static func sort(options: [(value: String, label: String)], selected: String?) -> FilterFieldView {
        select(name: "sort", label: "Sort", options: options, selected: selected, anyLabel: "Default")
    }
}

/// Partial `pager`: a link to the first page (when not on it) and to the next (carrying the cursor).
public struct PagerView: Sendable, Equatable {
    public var summary: String
    public var hasFirst: Bool
    public var firstHref: String
    public var hasNext: Bool
    public var nextHref: String

    /// `query` is the page's current query (filters, cursor); the links keep the filters and
    /// replace `cursorName`.
    public init(path: String, query: [(name: String, value: String)], nextCursor: String?, cursorName: String = "cursor", summary: String = "") {
        let filters = query.filter { $0.name != cursorName }
        self.summary = summary
        hasFirst = query.contains { $0.name == cursorName && !$0.value.isEmpty }
        firstHref = PageLink.href(path, query: filters)
        hasNext = nextCursor != nil
        nextHref = nextCursor.map { PageLink.href(path, query: filters + [(cursorName, $0)]) } ?? ""
    }
}

/// Partial `emptyState`: what an empty list says, with an optional way on.
public struct EmptyStateView: Sendable, Equatable {
    public var title: String
    public var detail: String
    public var hasAction: Bool
    public var actionHref: String
    public var actionLabel: String

    public init(title: String, detail: String = "", action: (label: String, href: String)? = nil) {
        self.title = title
        self.detail = detail
        hasAction = action != nil
        actionHref = action?.href ?? ""
        actionLabel = action?.label ?? ""
    }
}

/// Partial `errorBanner`: a failure the page must show (a leaf down, a query that failed).
public struct ErrorBannerView: Sendable, Equatable {
    public var title: String
    public var message: String

    public init(title: String, message: String) {
        self.title = title
        self.message = message
    }
}

/// Partial `copyText`: a line to copy (a curl command); the script adds a Copy button.
public struct CopyTextView: Sendable, Equatable {
    public var label: String
    public var text: String

    public init(label: String, text: String) {
        self.label = label
        self.text = text
    }
}

/// Partial `statusActions`: one POST form per status change. The forms work without JavaScript;
/// with it, a 401 asks for a bearer token and retries (`data-write`), and `confirm` asks first.
public struct StatusActionsView: Sendable {
    public var actions: [StatusActionView]

    public init(actions: [StatusActionView]) { self.actions = actions }
}

public struct StatusActionView: Sendable, Equatable {
    /// A hidden field posted beside `status` (`ignore_for=1h`).
    public struct Field: Sendable, Equatable {
        public var field: String
        public var value: String
    }

    /// Where the form posts (`/groups/12/status`).
    public var formAction: String
    /// Names the button (`action-<name>`) for styles and tests.
    public var name: String
    /// The `status` field's value.
    public var value: String
    public var fields: [Field]
    public var label: String
    public var hasConfirm: Bool
    public var confirm: String

    public init(formAction: String, name: String, value: String, fields: [(String, String)] = [], label: String, confirm: String? = nil) {
        self.formAction = formAction
        self.name = name
        self.value = value
        self.fields = fields.map { Field(field: $0.0, value: $0.1) }
        self.label = label
        hasConfirm = confirm != nil
        self.confirm = confirm ?? ""
    }
}

/// Partial `chart`: a captioned server-drawn chart.
public struct ChartView: Sendable {
    public var caption: String
    public var svg: SafeHTML

    public init(caption: String, svg: SafeHTML) {
        self.caption = caption
        self.svg = svg
    }
}

/// Links that carry a page's state in the query, so that every view is a URL.
public enum PageLink {
    /// `path?name=value&...`, each part percent-encoded; empty values are left out.
    public static func href(_ path: String, query: [(name: String, value: String)]) -> String {
        let parts = query.filter { !$0.value.isEmpty }.map { "\(encode($0.name))=\(encode($0.value))" }
        return parts.isEmpty ? path : path + "?" + parts.joined(separator: "&")
    }

    /// A path segment (a team, a service, a key with slashes), percent-encoded.
    public static func segment(_ text: String) -> String { encode(text) }

    private static let unreserved = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }
}
