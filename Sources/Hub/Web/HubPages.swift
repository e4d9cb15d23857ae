import Foundation
import Hummingbird
import Logging
import Periskop
import PromQL
import Rules
import Shared

/// The hub's web UI: the overview, the groups list, a group, the leaves, the graph page, the
/// alerts and the rules. Server-rendered from the same queries as the JSON API; writes (status
/// changes) are forms posting to the API; the graph page evaluates PromQL with the API's
/// `QueryRunner`; the alerts and rules pages read the rule board the rules API reads.
struct HubPages: Sendable {
    let queries: HubQueries
    let leaves: LeafHealth
    let templates: WebTemplates
    /// Asks a leaf for a group's instances with the leaf job's credentials and TLS settings, as
    /// the scrapes do: a leaf behind a web config answers nothing else.
    let fetcher: HTTPFetcher
    /// The graph page's queries, and the group page's series labels (for its breakdown link).
    let runner: QueryRunner
    let series: HubSeriesSource
    /// The rules as loaded now (they change on reload), and what their evaluations found.
    let rules: @Sendable () -> RuleSettings
    let board: RuleBoard
    /// The Alertmanagers' silences: which alerts are silenced, and where the forms post.
    let silences: Silences

    static var product: String { "Canopy hub" }

    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/") { request, _ in try await html { try await overview(request) } }
        router.get("groups") { request, _ in try await html { try await groups(request) } }
        router.get("groups/lookup") { request, _ in try await lookup(request) }
        router.get("groups/:id") { request, context in try await html { try await group(request, id: context.parameters.decoded("id")) } }
        router.get("bugs") { _, _ in try await html { try await bugsPage() } }
        router.get("leaves") { request, _ in try await html { try await leavesPage(request) } }
        router.get("graph") { request, _ in try await html { try await graph(request) } }
        router.get("alerts") { request, _ in try await html { try await alerts(request) } }
        router.get("rules") { _, _ in try await html { try await rulesPage() } }
        router.get("teams/:team/services/:service/deploys") { _, context in
            try await html { try await deploysPage(team: context.parameters.decoded("team"), service: context.parameters.decoded("service")) }
        }
    }

    /// `/groups/lookup?team=…&service=…&aggregation_key=…`: the group's page, for links made
    /// from labels (an alert's `canopy_group_url`).
    private func lookup(_ request: Request) async throws -> Response {
        let parameters = request.uri.queryParameters
        guard let team = parameters.get("team"), let service = parameters.get("service"), let key = parameters.get("aggregation_key") else {
            return HTMLResponse.make(await errorPage(title: "400 Bad Request", message: "team, service and aggregation_key are needed"), status: .badRequest)
        }
        guard let id = try await queries.groupID(team: team, service: service, key: key) else {
            return HTMLResponse.make(await errorPage(title: "404 Not Found", message: "no group \(key) in \(team)/\(service)"), status: .notFound)
        }
        return Response(status: .seeOther, headers: [.location: "/groups/\(id)"])
    }

    /// Renders a page, or the error page with the status of what went wrong.
    private func html(_ body: () async throws -> String) async throws -> Response {
        do {
            return HTMLResponse.make(try await body())
        } catch let error as HTTPError {
            return HTMLResponse.make(await errorPage(title: "\(error.status.code) \(error.status.reasonPhrase)", message: error.body ?? ""), status: error.status)
        } catch {
            if let unavailable = DatabaseUnavailable(classifying: error) {
                return HTMLResponse.make(await errorPage(title: "503 Service Unavailable", message: unavailable.description), status: .serviceUnavailable)
            }
            return HTMLResponse.make(await errorPage(title: "The hub could not make this page", message: DatabaseErrorText.describe(error)), status: .internalServerError)
        }
    }

    /// The shell of every hub page; the nav counts the alerts firing.
    static func chrome(_ title: String, path: String, alerts: AlertCounts = AlertCounts()) -> PageChrome {
        var nav = NavItem.items(
            [("Overview", "/"), ("Groups", "/groups"), ("Bugs", "/bugs"), ("Alerts", "/alerts"), ("Rules", "/rules"), ("Graph", "/graph"), ("Leaves", "/leaves")],
            currentPath: path)
        if alerts.firing > 0, let index = nav.firstIndex(where: { $0.href == "/alerts" }) {
            nav[index].count = "\(alerts.firing)"
            nav[index].countLabel = "\(alerts.firing) firing, \(alerts.pending) pending"
        }
        return PageChrome(product: Self.product, title: title, nav: nav, footer: "canopy-hub \(CanopyVersion.current)")
    }

    private func chrome(_ title: String, path: String) async -> PageChrome {
        Self.chrome(title, path: path, alerts: await board.alertCounts())
    }

    private func errorPage(title: String, message: String) async -> String {
        struct View { let banner: ErrorBannerView }
        let body = (try? templates.render("hubError", View(banner: ErrorBannerView(title: title, message: message)))) ?? .empty
        return templates.page(await chrome(title, path: ""), body: body)
    }

    // MARK: Overview

    struct TeamRow {
        let name: String
        let href: String
        let unresolvedHref: String
        let regressedHref: String
        let unresolved: CountView
        let regressed: CountView
        let ignored: CountView
        let resolved: CountView
        let lastHour: CountView
        let lastDay: CountView
        let sparkline: SafeHTML
        let health: HealthBadgeView
        let leavesLabel: String
        let stale: Bool
        let rowClass: String
        let services: [ServiceLink]
        /// The graph page: the team's occurrences per hour, a line per service.
        let graphHref: String
    }

    struct ServiceLink {
        let name: String
        let href: String
        let deploysHref: String
        let detail: String
        let last: Bool
    }

    private func overview(_ request: Request) async throws -> String {
        let now = Date()
        async let teamList = queries.teams()
        async let hours = queries.teamHours(now: now)
        let reports = try await leaves.reports()
        let (teams, series) = try (await teamList, await hours)
        var rows: [TeamRow] = []
        for team in teams {
            let services = try await queries.services(team: team.name)
            let teamLeaves = reports.filter { $0.team == team.name }
            let down = teamLeaves.filter { $0.health == .down }
            // A team is stale when every leaf it has is down: its numbers are what they last sent.
            let stale = !teamLeaves.isEmpty && down.count == teamLeaves.count
            let health: HealthBadgeView =
                teamLeaves.isEmpty ? HealthBadgeView(.unknown, label: "no leaf") : down.isEmpty ? HealthBadgeView(.up) : HealthBadgeView(.down, label: "\(down.count) down")
            let groupsHref = { (status: String) in PageLink.href("/groups", query: [("team", team.name), ("status", status)]) }
            rows.append(
                TeamRow(
                    name: team.name, href: PageLink.href("/groups", query: [("team", team.name)]),
                    unresolvedHref: groupsHref("unresolved"), regressedHref: groupsHref("regressed"),
                    unresolved: CountView(Int64(team.unresolved)), regressed: CountView(Int64(team.regressed)),
                    ignored: CountView(Int64(team.ignored)), resolved: CountView(Int64(team.resolved)),
                    lastHour: CountView(team.lastHour), lastDay: CountView(team.lastDay),
                    sparkline: SVGChart.sparkline(series[team.name] ?? Array(repeating: 0, count: 24), label: "\(team.name): occurrences per hour, last 24 hours"),
                    health: health, leavesLabel: "\(teamLeaves.count) \(teamLeaves.count == 1 ? "leaf" : "leaves")", stale: stale,
                    rowClass: stale ? "row-stale" : down.isEmpty ? "" : "row-down",
                    services: services.enumerated().map { index, service in
                        ServiceLink(
                            name: service.name, href: PageLink.href("/groups", query: [("team", team.name), ("service", service.name)]),
                            deploysHref: DeploysPage.path(team: team.name, service: service.name),
                            detail: "\(service.groups) groups, \(service.targetsUp)/\(service.targetsTotal) targets up", last: index == services.count - 1)
                    },
                    graphHref: GraphPage.Links.href(GraphPage.Links.teamByService(team.name), range: "1d")))
        }
        struct View {
            let hasTeams: Bool
            let teams: [TeamRow]
            let empty: EmptyStateView
            let downBanner: [ErrorBannerView]
            let leavesTable: LeavesTable
        }
        let down = reports.filter { $0.health == .down }
        let banner =
            down.isEmpty
            ? []
            : [
                ErrorBannerView(
                    title: down.count == 1 ? "A leaf is down:" : "\(down.count) leaves are down:",
                    message: down.map { "\($0.leaf) (\($0.team.isEmpty ? "team unknown" : $0.team)): \($0.lastError ?? "no answer")" }.joined(separator: "; ")
                        + ". What the hub shows of their teams is what they last sent.")
            ]
        let view = View(
            hasTeams: !rows.isEmpty, teams: rows,
            empty: EmptyStateView(title: "No teams yet", detail: "Teams appear once the hub has scraped a leaf. Leaves are listed under `leaves:` in the hub's config."),
            downBanner: banner, leavesTable: LeavesTable(reports, now: now))
        return try templates.page(await chrome("Overview", path: "/"), template: "hubOverview", view)
    }

    // MARK: Leaves

    struct LeavesTable {
        struct Row {
            let name: String
            /// Wrapping after its `/`, `.` and `:` (`SafeHTML.breakable`).
            let urlHTML: SafeHTML
            let team: String
            let health: HealthBadgeView
            let stale: Bool
            let lastScrape: TimeView
            let duration: String
            let lastApplied: TimeView
            let error: String
        }

        let hasLeaves: Bool
        let rows: [Row]
        let empty: EmptyStateView

        init(_ reports: [LeafReport], now: Date) {
            rows = reports.map { report in
                let health: HealthBadgeView.Health = report.health == .up ? .up : report.health == .down ? .down : .unknown
                return Row(
                    name: report.leaf, urlHTML: .breakable(report.url), team: report.team, health: HealthBadgeView(health), stale: report.stale,
                    lastScrape: TimeView(report.lastScrape, now: now),
                    duration: report.lastScrape == nil ? "" : WebFormat.duration(seconds: report.lastScrapeDurationSeconds),
                    lastApplied: TimeView(report.lastApplied, now: now), error: report.lastError ?? "")
            }
            hasLeaves = !rows.isEmpty
            empty = EmptyStateView(title: "No leaves configured", detail: "List the teams' leaves under `leaves:` in the hub's config.")
        }
    }

    private func leavesPage(_ request: Request) async throws -> String {
        let now = Date()
        let reports = try await leaves.reports()
        let scrapes = try await queries.scrapes(leaf: nil, limit: 50, before: nil)
        struct ScrapeRow {
            let time: TimeView
            let leaf: String
            let outcome: String
            let duration: String
            let groupsChanged: Int
            let occurrencesAdded: Int64
            let error: String
            let rowClass: String
        }
        struct View {
            let leavesTable: LeavesTable
            let scrapes: [ScrapeRow]
        }
        let view = View(
            leavesTable: LeavesTable(reports, now: now),
            scrapes: scrapes.map {
                ScrapeRow(
                    time: TimeView($0.time, now: now), leaf: $0.leaf.isEmpty ? $0.url : $0.leaf, outcome: $0.outcome,
                    duration: WebFormat.duration(seconds: $0.durationSeconds), groupsChanged: $0.groupsChanged,
                    occurrencesAdded: $0.occurrencesAdded, error: $0.error ?? $0.skippedDetail.map { "left out \($0)" } ?? "", rowClass: $0.outcome == "failed" ? "row-down" : "")
            })
        return try templates.page(await chrome("Leaves", path: "/leaves"), template: "hubLeaves", view)
    }

    // MARK: Groups

    private func groups(_ request: Request) async throws -> String {
        let now = Date()
        var filter = try HubAPI<BasicRequestContext>.filter(request)
        filter.limit = min(filter.limit, 100)
        let page = try await queries.groups(filter, now: now)
        let hours = try await queries.groupHours(ids: page.groups.map(\.id), now: now)
        let teams = try await queries.teams().map(\.name)
        var services: [String] = []
        if let team = filter.team { services = try await queries.services(team: team).map(\.name) }
        let windowLabel = request.query("window").flatMap { $0.isEmpty ? nil : $0 } ?? "1h"
        let rows = page.groups.map { group in
            GroupRowView(
                href: "/groups/\(group.id)", status: StatusBadgeView(status: group.status), severity: SeverityBadgeView(group.severity),
                errorClass: group.className, message: group.message, service: group.service, team: group.team,
                firstSeen: TimeView(group.firstSeen, now: now), lastSeen: TimeView(group.lastSeen, now: now),
                total: CountView(group.total), windowCount: CountView(group.occurrencesInWindow),
                sparkline: SVGChart.sparkline(hours[group.id] ?? Array(repeating: 0, count: 24), label: "occurrences per hour, last 24 hours"))
        }
        let query = Self.query(of: request)
        struct View {
            let filters: FilterFormView
            let table: GroupsTableView
            let pager: PagerView
        }
        var fields: [FilterFieldView] = [
            .select(name: "team", label: "Team", values: teams, selected: filter.team)
        ]
        if filter.team != nil { fields.append(.select(name: "service", label: "Service", values: services, selected: filter.service)) }
        fields += [
            .severity(selected: request.query("severity")), .status(selected: filter.status), .window(selected: request.query("window")),
            .sort(options: [("last_seen", "Last seen"), ("first_seen", "First seen"), ("total", "Total"), ("window", "In the window")], selected: request.query("sort")),
            .search(value: filter.text, placeholder: "class, message, stack trace"),
        ]
        let view = View(
            filters: FilterFormView(action: "/groups", fields: fields, resetHref: "/groups"),
            table: GroupsTableView(
                rows: rows, showTeam: true, windowLabel: "Last \(windowLabel)",
                empty: EmptyStateView(title: "No groups match", detail: "Change the filters, or reset them.", action: ("Reset the filters", "/groups"))),
            pager: PagerView(path: "/groups", query: query, nextCursor: page.nextCursor, summary: "\(rows.count) groups on this page"))
        return try templates.page(await chrome("Groups", path: "/groups"), template: "hubGroups", view)
    }

    /// The request's query as (name, value) pairs, in order.
    static func query(of request: Request) -> [(name: String, value: String)] {
        (try? PercentDecoding.QueryItems(request.uri.query?[...]))?.items ?? []
    }

    // MARK: One group

    struct RangeLink {
        let label: String
        let href: String
        let current: Bool
    }

    struct InstanceRow {
        let leaf: String
        let instance: String
        let count: CountView
        let lastSeen: TimeView
        let reporting: String
    }

    struct HistoryRow {
        let at: TimeView
        let actor: String
        let from: String
        let to: String
        let comment: String
    }

    static let ranges: [(label: String, value: String, seconds: Int, step: Int)] = [
        ("Hour", "1h", 3600, 60), ("Day", "24h", 86400, 1800), ("Week", "7d", 7 * 86400, 6 * 3600), ("30 days", "30d", 30 * 86400, 86400),
    ]

    private func group(_ request: Request, id text: String) async throws -> String {
        guard let id = Int64(text) else { throw HTTPError(.notFound, message: "there is no group \(text): group ids are numbers") }
        guard let detail = try await queries.group(id: id) else { throw HTTPError(.notFound, message: "there is no group \(id)") }
        let now = Date()
        let group = detail.group
        let range = Self.ranges.first { $0.value == request.query("range") } ?? Self.ranges[1]
        let points = try await queries.occurrences(
            id: id, from: now.addingTimeInterval(-Double(range.seconds)), to: now, step: .seconds(range.step))
        let (instances, instancesError) = await self.instances(of: detail, now: now)
        let versions = try await queries.deploys.versions(ofGroup: id, team: group.team, service: group.service)
        // The query behind the bars (an increase over each step of the chart), and the same by the series' own labels.
        let window = PromDuration(milliseconds: Int64(range.step) * 1000).description
        let countQuery = GraphPage.Links.groupCount(team: group.team, service: group.service, key: group.aggregationKey, window: window)
        var breakdown: [BreakdownLink] = []
        let names = await seriesLabelNames(of: group)
        if names != [] {
            let query = GraphPage.Links.groupBreakdown(team: group.team, service: group.service, key: group.aggregationKey, window: window, by: names)
            breakdown.append(
                BreakdownLink(
                    label: names.map { "By \($0.joined(separator: ", "))" } ?? "By the series' labels", href: GraphPage.Links.href(query, range: range.value, step: window),
                    query: query))
        }
        var statusDetail = ""
        if let by = detail.statusChangedBy, let at = detail.statusChangedAt { statusDetail = "by \(by), \(WebFormat.relative(at, now: now))" }
        if group.status == "ignored" {
            if let until = detail.ignoredUntil { statusDetail += "; until \(WebFormat.absolute(until))" }
            if let total = detail.ignoredUntilTotal { statusDetail += "; until the total reaches \(total)" }
        }
        let formAction = "/api/v1/groups/\(id)/status"
        var actions: [StatusActionView] = []
        if group.status != "resolved" {
            actions.append(StatusActionView(formAction: formAction, name: "resolve", value: "resolved", label: "Resolve"))
        }
        if group.status != "ignored" {
            actions += [
                StatusActionView(formAction: formAction, name: "ignore-1h", value: "ignored", fields: [("ignore_for", "1h")], label: "Ignore for 1 hour"),
                StatusActionView(formAction: formAction, name: "ignore-24h", value: "ignored", fields: [("ignore_for", "24h")], label: "Ignore for 24 hours"),
                StatusActionView(
                    formAction: formAction, name: "ignore-100", value: "ignored", fields: [("ignore_occurrences", "100")], label: "Ignore for 100 more"),
            ]
        }
        if group.status != "unresolved" {
            actions.append(StatusActionView(formAction: formAction, name: "reopen", value: "unresolved", label: "Reopen"))
        }
        struct View {
            let message: String
            let team: String
            let teamHref: String
            let service: String
            let serviceHref: String
            /// Wrapping after its `.`, `/`, `:`... (`SafeHTML.breakable`).
            let keyHTML: SafeHTML
            let status: StatusBadgeView
            let statusDetail: String
            let severity: SeverityBadgeView
            let total: CountView
            let firstSeen: TimeView
            let lastSeen: TimeView
            /// The deploy label's values among the group's series.
            let hasVersions: Bool
            let versions: String
            let deploysHref: String
            let actions: StatusActionsView
            /// Silencing the group's alerts in Alertmanager (none without Alertmanagers).
            let silenceForm: [SilenceFormView]
            let ranges: [RangeLink]
            let chart: ChartView
            let graphHref: String
            /// The query behind the chart, wrapping after its `=`, `,`, `.`... (`SafeHTML.breakable`).
            let graphQueryHTML: SafeHTML
            let breakdown: [BreakdownLink]
            let instancesError: [ErrorBannerView]
            let hasInstances: Bool
            let instances: [InstanceRow]
            let samples: [SampleView]
            let hasHistory: Bool
            let history: [HistoryRow]
            let fingerprint: String
            let bugHref: String
            let hasSiblings: Bool
            let siblings: [SiblingLink]
        }
        let view = View(
            message: group.message, team: group.team, teamHref: PageLink.href("/groups", query: [("team", group.team)]), service: group.service,
            serviceHref: PageLink.href("/groups", query: [("team", group.team), ("service", group.service)]), keyHTML: .breakable(group.aggregationKey),
            status: StatusBadgeView(status: group.status), statusDetail: statusDetail, severity: SeverityBadgeView(group.severity),
            total: CountView(group.total), firstSeen: TimeView(group.firstSeen, now: now), lastSeen: TimeView(group.lastSeen, now: now),
            hasVersions: !versions.isEmpty, versions: versions.joined(separator: ", "), deploysHref: DeploysPage.path(team: group.team, service: group.service),
            actions: StatusActionsView(actions: actions),
            silenceForm: silences.alertmanagers() == nil ? [] : [
                SilenceFormView(
                    SilenceMatcher.group(team: group.team, service: group.service, aggregationKey: group.aggregationKey), id: "silence-group",
                    summary: "this group's alerts", returnPath: "/groups/\(group.id)", now: now)
            ],
            ranges: Self.ranges.map { RangeLink(label: $0.label, href: "/groups/\(id)?range=\($0.value)", current: $0.value == range.value) },
            chart: ChartView(
                caption: "Occurrences, last \(range.label.lowercased()), per \(WebFormat.duration(.seconds(range.step)))",
                svg: SVGChart.bars(points.map { ($0.time, $0.count) }, label: "occurrences of \(group.className)")),
            graphHref: GraphPage.Links.href(countQuery, range: range.value, step: window), graphQueryHTML: .breakable(countQuery), breakdown: breakdown,
            instancesError: instancesError.map { [ErrorBannerView(title: "Instances unknown:", message: $0)] } ?? [],
            hasInstances: !instances.isEmpty, instances: instances,
            samples: detail.samples.map { SampleView($0, now: now) },
            hasHistory: !detail.statusChanges.isEmpty,
            history: detail.statusChanges.map {
                HistoryRow(at: TimeView($0.at, now: now), actor: $0.actor, from: $0.from, to: $0.to, comment: $0.comment ?? "")
            },
            fingerprint: detail.fingerprint, bugHref: "/bugs#bug-\(detail.fingerprint)", hasSiblings: !detail.siblings.isEmpty,
            siblings: detail.siblings.map {
                SiblingLink(team: $0.team, service: $0.service, href: "/groups/\($0.id)", status: StatusBadgeView(status: $0.status), total: CountView($0.total))
            })
        return try templates.page(await chrome(group.className.isEmpty ? "Group \(id)" : group.className, path: "/groups/\(id)"), template: "hubGroup", view)
    }

    /// Another group with the same bug fingerprint.
    struct SiblingLink {
        let team: String
        let service: String
        let href: String
        let status: StatusBadgeView
        let total: CountView
    }

    // MARK: Bugs

    private func bugsPage() async throws -> String {
        let view = BugsPage.view(try await queries.bugs(), now: Date())
        return try templates.page(await chrome("Bugs across teams", path: "/bugs"), template: "hubBugs", view)
    }

    struct BreakdownLink {
        let label: String
        let href: String
        let query: String
        /// `query` wrapping after its `=`, `,`, `.`... (`SafeHTML.breakable`).
        let queryHTML: SafeHTML

        init(label: String, href: String, query: String) {
            self.label = label
            self.href = href
            self.query = query
            queryHTML = .breakable(query)
        }
    }

    /// The label names of the group's series beyond those every series of a group shares
    /// (`env`, `region`, …), sorted: what its breakdown link sums by. Nil when the series cannot
    /// be read now (the link then uses the generic form) or a name is not a plain identifier.
    private func seriesLabelNames(of group: HubGroup) async -> [String]? {
        let pairs = [(PromQL.Labels.metricName, ExceptionCounters.metric), ("team", group.team), ("service", group.service), ("aggregation_key", group.aggregationKey)]
        guard let matchers = try? pairs.map({ try LabelMatcher(.equal, name: $0.0, value: $0.1) }),
            let labels = try? await series.labels(matching: [matchers], start: nil, end: nil)
        else { return nil }
        let names = Set(labels.flatMap(\.names)).subtracting(GraphPage.Links.groupLabels).sorted()
        return names.allSatisfy(GraphPage.Links.isPlainName) ? names : nil
    }

    // MARK: Deploys

    private func deploysPage(team: String, service: String) async throws -> String {
        guard try await queries.services(team: team).contains(where: { $0.name == service }) else {
            throw HTTPError(.notFound, message: "there is no service \(service) in team \(team)")
        }
        let now = Date()
        let report = try await queries.deploys.report(team: team, service: service, now: now)
        let path = DeploysPage.path(team: team, service: service)
        return try templates.page(await chrome("Deploys of \(service)", path: path), template: "hubDeploys", DeploysPage.view(report, now: now))
    }

    // MARK: Alerts and rules

    private func alerts(_ request: Request) async throws -> String {
        let report = await board.report(rules())
        let items = AlertsPage.items(report)
        let alertingRules = report.groups.flatMap(\.rules).count(where: { if case .alerting = $0.rule.kind { true } else { false } })
        // The groups the alerts name, in one query; without the database the page still shows the alerts.
        var groupIDs: [HubQueries.GroupIdentity: Int64] = [:]
        var lookup: String?
        do {
            groupIDs = try await queries.groupIDs(Set(items.compactMap { AlertsPage.group(of: $0.alert) }))
        } catch {
            lookup = String(describing: error)
        }
        // Which alerts are silenced, from the Alertmanagers (none configured: no silences, no forms).
        let active = items.isEmpty ? nil : await silences.active()
        let view = AlertsPage.view(
            AlertsPage.Filter(Self.query(of: request)), items, alertingRules: alertingRules, groupIDs: groupIDs, groupLookup: lookup,
            silences: active?.silences, silenceProblems: active?.failures ?? [], now: Date())
        return try templates.page(await chrome("Alerts", path: "/alerts"), template: "hubAlerts", view)
    }

    private func rulesPage() async throws -> String {
        let view = RulesPage.view(await board.report(rules()), now: Date())
        return try templates.page(await chrome("Rules", path: "/rules"), template: "hubRules", view)
    }

    // MARK: Graph

    private func graph(_ request: Request) async throws -> String {
        let maxSteps = runner.settings.limits.maxSteps
        let parameters = GraphPage.Parameters(Self.query(of: request), maxSteps: maxSteps)
        let outcome = await GraphPage.run(parameters, runner: runner, now: Date())
        return try templates.page(await chrome("Graph", path: "/graph"), template: "hubGraph", GraphPage.view(parameters, outcome, maxSteps: maxSteps))
    }

    /// Which instances report the group, asked of the leaves that send it (their team view has
    /// it per instance); a leaf that does not answer within two seconds is named instead.
    private func instances(of detail: HubGroupDetail, now: Date) async -> ([InstanceRow], String?) {
        var rows: [InstanceRow] = []
        var problems: [String] = []
        let targets = leaves.scrapes.targets
        for leaf in detail.leaves {
            guard let base = leaf.url.range(of: "/api/v1/federate").map({ String(leaf.url[..<$0.lowerBound]) }) else {
                problems.append("\(leaf.leaf): its URL \(leaf.url) is not a federate URL")
                continue
            }
            let url = "\(base)/api/v1/services/\(PageLink.segment(detail.group.service))/errors/\(PageLink.segment(detail.group.aggregationKey))"
            // A leaf no longer configured is asked without credentials: it may still answer.
            var settings = targets.first { $0.url == leaf.url }?.settings ?? ScrapeSettings(interval: .seconds(15), timeout: .seconds(2), bodySizeLimit: 0)
            settings.timeout = .seconds(2)
            settings.bodySizeLimit = 4 << 20
            do {
                let body = try await fetcher.fetch(url, settings: settings)
                let reply = try CanopyJSON.decoder().decode(LeafGroupDetail.self, from: Data(body))
                for instance in reply.instances {
                    rows.append(
                        InstanceRow(
                            leaf: leaf.leaf, instance: instance.instance, count: CountView(Int64(instance.count)), lastSeen: TimeView(instance.lastSeen, now: now),
                            reporting: instance.current ? "yes" : "no longer"))
                }
            } catch {
                problems.append("\(leaf.leaf): \(error)")
            }
        }
        return (rows, problems.isEmpty ? nil : problems.joined(separator: "; "))
    }
}
