import Foundation
import Testing

@testable import Shared

@Suite struct WebTemplatesTests {
    let templates: WebTemplates

    init() throws { templates = try WebTemplates() }

    @Test func layoutHasTheShellNavAndAssets() throws {
        let html = templates.page(
            WebFixtures.chrome(path: "/groups/12"),
            body: try templates.render("errorBanner", ErrorBannerView(title: "Leaf down", message: "x"))
        )
        #expect(html.hasPrefix("<!doctype html>"))
        #expect(html.contains(#"<meta name="viewport" content="width=device-width, initial-scale=1">"#))
        #expect(html.contains("<title>Groups · Canopy hub</title>"))
        #expect(html.contains(#"<link rel="stylesheet" href="/static/canopy.css?v=\#(StaticAssets.stylesheet.version)">"#))
        #expect(html.contains(#"<script src="/static/canopy.js?v=\#(StaticAssets.script.version)" defer></script>"#))
        #expect(html.contains(#"<a href="/groups" aria-current="page">Groups</a>"#))
        #expect(html.contains(#"<a href="/">Overview</a>"#))
        #expect(html.contains(#"<a href="/leaves">Leaves</a>"#))
        #expect(html.contains(#"<div class="banner banner-error" role="alert">"#))
        #expect(html.contains("<footer class=\"site-footer\">canopy-hub · made 2025-05-03 14:00:00 UTC</footer>"))
    }

    @Test func navMarksTheLongestMatchingItem() {
        let pairs: [(label: String, href: String)] = [("Overview", "/"), ("Groups", "/groups"), ("Leaves", "/leaves")]
        #expect(NavItem.items(pairs, currentPath: "/").map(\.current) == [true, false, false])
        #expect(NavItem.items(pairs, currentPath: "/groups").map(\.current) == [false, true, false])
        #expect(NavItem.items(pairs, currentPath: "/groups/7").map(\.current) == [false, true, false])
        #expect(NavItem.items(pairs, currentPath: "/groupsx").map(\.current) == [false, false, false])
    }

    /// A nav item's count shows beside its label, and says what it counts to a screen reader.
    @Test func navItemsShowTheirCount() {
        var chrome = WebFixtures.chrome(path: "/")
        chrome.nav.append(NavItem(label: "Alerts", href: "/alerts", count: "12", countLabel: "12 firing, <1> pending"))
        let html = templates.page(chrome, body: .empty)
        let item = #"<a href="/alerts">Alerts <span class="nav-count" title="12 firing, &lt;1&gt; pending" aria-hidden="true">12</span>"#
            + #"<span class="visually-hidden"> (12 firing, &lt;1&gt; pending)</span></a>"#
        #expect(html.contains(item), "\(html)")
        #expect(html.contains(#"<a href="/groups">Groups</a></li>"#), "an item without a count has none")
        #expect(html.components(separatedBy: "nav-count").count == 2)
    }

    @Test func hostileStringsRenderAsText() throws {
        let hostile = [
            WebFixtures.alertScript, WebFixtures.alertImage, WebFixtures.script, WebFixtures.image, #"" onmouseover="alert(1)"#,
            "'><svg onload=alert(1)>",
        ]
        for text in hostile {
            let table = WebFixtures.table([WebFixtures.row(errorClass: text, message: text, service: text, team: text, status: text)])
            let filters = FilterFormView(
                action: "/groups",
                fields: [.select(name: "service", label: "Service", values: [text], selected: text), .search(value: text)]
            )
            let body = [
                try templates.render("groupsTable", table), try templates.render("filterForm", filters),
                try templates.render("pager", PagerView(path: "/groups", query: [("q", text)], nextCursor: text, summary: text)),
                try templates.render("emptyState", EmptyStateView(title: text, detail: text, action: (text, text))),
                try templates.render("errorBanner", ErrorBannerView(title: text, message: text)),
                try templates.render("copyText", CopyTextView(label: text, text: text)),
                try templates.render(
                    "statusActions",
                    StatusActionsView(actions: [StatusActionView(formAction: text, name: "x", value: text, fields: [(text, text)], label: text, confirm: text)])
                ),
                try templates.render("healthBadge", HealthBadgeView(.down, label: text)),
                try templates.render("chart", ChartView(caption: text, svg: SVGChart.bars([(WebFixtures.now, 1)], label: text))),
                try templates.render(
                    "lineChart",
                    SVGChart.lineChart(
                        [ChartSeries(name: text, points: [(WebFixtures.now, 1)])], from: WebFixtures.now.addingTimeInterval(-60), to: WebFixtures.now, step: 60,
                        caption: text, label: text)),
            ].map(\.html).joined()
            let chrome = PageChrome(product: text, title: text, nav: [NavItem(label: text, href: text)], footer: text)
            let html = templates.page(chrome, body: SafeHTML(trusted: body))
            // No hostile markup survives: every `<` from data is `&lt;`, every quote `&quot;` or `&#39;`.
            #expect(!html.contains("<script>"), "\(text)")
            #expect(!html.contains("<img"), "\(text)")
            #expect(!html.contains("<svg onload"), "\(text)")
            #expect(!html.contains(#"" onmouseover"#), "\(text)")
            #expect(!html.contains(#"'>"#), "\(text)")
            #expect(html.contains(HTMLEscape.text(text)), "\(text)")
        }
    }

    @Test func escapingIsExact() throws {
        let row = WebFixtures.row(errorClass: "Boom", message: WebFixtures.alertScript + " " + WebFixtures.alertImage)
        let html = try templates.render("groupsTable", WebFixtures.table([row])).html
        #expect(html.contains(#"<span class="message">&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(1)&gt;</span>"#))
    }

    @Test func groupsTableShowsEveryColumn() throws {
        let html = try templates.render("groupsTable", WebFixtures.table([WebFixtures.row(errorClass: "java.io.IOException", message: "reset")])).html
        #expect(html.contains(#"<table class="groups">"#))
        #expect(html.contains(#"<span class="badge status-unresolved">unresolved</span>"#))
        #expect(html.contains(#"<span class="severity severity-error">error</span>"#))
        #expect(html.contains(#"<a class="error-class" href="/groups/java.io.IOException">java.<wbr>io.<wbr>IOException</a>"#))
        #expect(html.contains(#"<span class="service">checkout</span><span class="team">payments</span>"#))
        #expect(html.contains(#"<time datetime="2025-04-30T14:00:00Z" title="2025-04-30 14:00:00 UTC">3 d ago</time>"#))
        #expect(html.contains(#"<time datetime="2025-05-03T13:57:00Z" title="2025-05-03 13:57:00 UTC">3 min ago</time>"#))
        #expect(html.contains(#"<span class="count" title="12,345">12k</span>"#))
        #expect(html.contains(#"<span class="count" title="42">42</span>"#))
        #expect(html.contains(#"<svg class="sparkline""#))
        #expect(html.contains("Service / team"))
        #expect(html.contains("Last 24 h"))
        #expect(!html.contains("empty-state"))

        let leaf = try templates.render("groupsTable", WebFixtures.table([WebFixtures.row(errorClass: "E", message: "m")], showTeam: false)).html
        #expect(!leaf.contains(#"class="team""#))
        #expect(!leaf.contains("Service / team"))
    }

    @Test func emptyGroupsTableShowsTheEmptyState() throws {
        let html = try templates.render("groupsTable", WebFixtures.table([])).html
        #expect(!html.contains("<table"))
        #expect(html.contains(#"<p class="empty-title">No exceptions</p>"#))
        #expect(html.contains(#"<p class="empty-detail">Nothing matches these filters.</p>"#))
        #expect(html.contains(#"<a class="button-link" href="/groups">Clear filters</a>"#))
        let bare = try templates.render("emptyState", EmptyStateView(title: "Nothing")).html
        #expect(!bare.contains("empty-detail"))
        #expect(!bare.contains("button-link"))
    }

    @Test func filterFormIsAGetFormThatKeepsItsValues() throws {
        let form = FilterFormView(
            action: "/groups",
            fields: [
                .select(name: "team", label: "Team", values: ["payments", "search"], selected: "search"),
                .severity(selected: "warning"), .status(selected: nil), .window(selected: "7d"),
                .sort(options: [("last_seen", "Last seen"), ("total", "Total")], selected: "total"),
                .search(value: "timeout & retry"),
            ]
        )
        let html = try templates.render("filterForm", form).html
        #expect(html.contains(#"<form class="filters" method="get" action="/groups" role="search">"#))
        #expect(html.contains(#"<option value="search" selected>search</option>"#))
        #expect(html.contains(#"<option value="payments">payments</option>"#))
        #expect(html.contains(#"<option value="warning" selected>warning</option>"#))
        #expect(html.contains(#"<select name="status"><option value="" selected>Any</option>"#))
        #expect(html.contains(#"<option value="7d" selected>7 d</option>"#))
        #expect(html.contains(#"<option value="total" selected>Total</option>"#))
        #expect(html.contains(#"<input type="search" name="q" value="timeout &amp; retry""#))
        #expect(html.contains(#"<a class="button-link" href="/groups">Reset</a>"#))
        // A value from a hand-edited URL is shown, not silently dropped.
        let odd = FilterFieldView.severity(selected: "fatal")
        #expect(odd.options.last == .init(value: "fatal", label: "fatal", selected: true))
    }

    @Test func pagerCarriesFiltersAndTheCursor() throws {
        let query: [(name: String, value: String)] = [("team", "payments"), ("q", "a b&c"), ("cursor", "abc")]
        let pager = PagerView(path: "/groups", query: query, nextCursor: "x/y=", summary: "50 groups")
        #expect(pager.hasFirst)
        #expect(pager.firstHref == "/groups?team=payments&q=a%20b%26c")
        #expect(pager.nextHref == "/groups?team=payments&q=a%20b%26c&cursor=x%2Fy%3D")
        let html = try templates.render("pager", pager).html
        #expect(html.contains(#"<a class="button-link" rel="next" href="/groups?team=payments&amp;q=a%20b%26c&amp;cursor=x%2Fy%3D">Next page</a>"#))
        #expect(html.contains(#"<a class="button-link" href="/groups?team=payments&amp;q=a%20b%26c">First page</a>"#))

        let last = try templates.render("pager", PagerView(path: "/groups", query: [], nextCursor: nil)).html
        #expect(!last.contains("Next page"))
        #expect(!last.contains("First page"))
    }

    @Test func badgesUseOnlyKnownClasses() {
        for status in StatusBadgeView.known { #expect(StatusBadgeView(status: status).cssClass == "badge status-\(status)") }
        #expect(StatusBadgeView(status: "Resolved").cssClass == "badge status-resolved")
        #expect(StatusBadgeView(status: "x onclick=1").cssClass == "badge status-unknown")
        #expect(SeverityBadgeView(name: "warning").cssClass == "severity severity-warning")
        #expect(SeverityBadgeView(name: "fatal").cssClass == "severity severity-unknown")
        #expect(HealthBadgeView(.down).rowClass == "row-down")
        #expect(HealthBadgeView(.stale).cssClass == "badge health-stale")
        #expect(HealthBadgeView(.up).rowClass == "")
    }

    @Test func writeFormsWorkWithoutScript() throws {
        let actions = StatusActionsView(actions: [
            StatusActionView(formAction: "/groups/7/status", name: "resolve", value: "resolved", label: "Resolve"),
            StatusActionView(formAction: "/groups/7/status", name: "ignore", value: "ignored", fields: [("ignore_for", "1h")], label: "Ignore", confirm: "Ignore this group?"),
        ])
        let html = try templates.render("statusActions", actions).html
        #expect(html.contains(#"<form method="post" action="/groups/7/status" data-write>"#))
        #expect(html.contains(#"<form method="post" action="/groups/7/status" data-write data-confirm="Ignore this group?">"#))
        #expect(html.contains(#"<input type="hidden" name="status" value="resolved"><button type="submit" class="action-resolve">Resolve</button>"#))
        #expect(html.contains(#"<input type="hidden" name="status" value="ignored"><input type="hidden" name="ignore_for" value="1h"><button"#))
    }

    @Test func timesNeverSeenShowAsText() throws {
        #expect(try templates.render("time", TimeView(nil, now: WebFixtures.now)).html == #"<span class="muted">never</span>"#)
    }

    /// Long URLs, keys and class names wrap at their separators, never inside a word: escaped,
    /// with a `<wbr>` after each run of `/ ? & . - _ = :`, before a `%` escape and between
    /// camel-case humps.
    @Test func breakableTextIsEscapedAndWrapsAtSeparators() {
        #expect(
            SafeHTML.breakable("http://127.0.0.1:7878/api/v1/federate?match=a&b=c").html
                == "http://<wbr>127.<wbr>0.<wbr>0.<wbr>1:<wbr>7878/<wbr>api/<wbr>v1/<wbr>federate?<wbr>match=<wbr>a&amp;<wbr>b=<wbr>c")
        #expect(SafeHTML.breakable("com.example.TemplateRenderingFailedException").html == "com.<wbr>example.<wbr>Template<wbr>Rendering<wbr>Failed<wbr>Exception")
        #expect(SafeHTML.breakable("de-DE%2Fx").html == "de-<wbr>DE<wbr>%2Fx")
        // Markup stays text; a separator before a space or at the end gets no break of its own.
        #expect(SafeHTML.breakable("<script>x</script> & done.").html == "&lt;script&gt;x&lt;/<wbr>script&gt; &amp; done.")
        #expect(SafeHTML.breakable("").html == "")
    }

    /// Triple mustaches print unescaped: only for the `SafeHTML` fields, which the kit makes.
    @Test func onlySafeHTMLIsPrintedUnescaped() throws {
        // `…HTML` fields and `heading` are SafeHTML made by `SafeHTML.breakable` (escaped, with `<wbr>`s).
        let safeFields: Set = ["body", "svg", "sparkline", "heading", "errorClassHTML", "urlHTML", "valueHTML", "nameHTML"]
        for (name, text) in WebTemplateSources.all {
            #expect(!text.contains("{{&"), "\(name) uses {{& }}")
            #expect(!text.contains("{{{{"), "\(name)")
            var rest = Substring(text)
            while let open = rest.range(of: "{{{") {
                let close = try #require(rest[open.upperBound...].range(of: "}}}"), "\(name): unclosed triple mustache")
                let field = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
                #expect(safeFields.contains(field), "\(name) prints \(field) unescaped")
                rest = rest[close.upperBound...]
            }
            // No inline script, style or event handler: the CSP would block them.
            #expect(!text.contains("style="), "\(name)")
            #expect(!text.contains("<script>"), "\(name)")
            #expect(text.range(of: #"\son[a-z]+="#, options: .regularExpression) == nil, "\(name)")
        }
        let row = WebFixtures.row(errorClass: "E", message: "m")
        #expect(Mirror(reflecting: row).children.first { $0.label == "sparkline" }?.value is SafeHTML)
        #expect(Mirror(reflecting: ChartView(caption: "", svg: .empty)).children.first { $0.label == "svg" }?.value is SafeHTML)
        #expect(Mirror(reflecting: LineChartView(caption: "", svg: .empty, legend: [])).children.first { $0.label == "svg" }?.value is SafeHTML)
    }

    @Test func serversAddPagesThatUseThePartials() throws {
        struct GroupsPage { let filters: FilterFormView; let table: GroupsTableView; let pager: PagerView }
        let templates = try WebTemplates(pages: [
            "groups": "{{#filters}}{{>filterForm}}{{/filters}}{{#table}}{{>groupsTable}}{{/table}}{{#pager}}{{>pager}}{{/pager}}"
        ])
        let page = GroupsPage(
            filters: FilterFormView(action: "/groups", fields: [.search(value: nil)]),
            table: WebFixtures.table([WebFixtures.row(errorClass: "E", message: WebFixtures.script)]),
            pager: PagerView(path: "/groups", query: [], nextCursor: "c1")
        )
        let html = try templates.page(WebFixtures.chrome(), template: "groups", page)
        #expect(html.contains(#"<form class="filters""#))
        #expect(html.contains(#"<table class="groups">"#))
        #expect(html.contains(#"href="/groups?cursor=c1""#))
        #expect(html.contains("&lt;script&gt;window.__pwned=1&lt;/script&gt;"))
        #expect(html.hasSuffix("</html>\n"))

        #expect(throws: WebTemplates.Failure.self) { try WebTemplates(pages: ["layout": "x"]) }
        #expect(throws: WebTemplates.Failure.self) { try WebTemplates(pages: ["broken": "{{#open}}"]) }
        #expect(throws: WebTemplates.Failure.self) { try templates.render("missing", [String: String]()) }
    }

    @Test func everyPartialIsListed() {
        #expect(
            WebTemplates.partialNames == [
                "chart", "copyText", "count", "emptyState", "errorBanner", "filterForm", "groupsTable", "healthBadge", "lineChart", "pager", "sample", "severityBadge",
                "statusActions", "statusBadge", "time",
            ]
        )
    }
}
