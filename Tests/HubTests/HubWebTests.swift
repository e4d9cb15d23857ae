import CanopyTestSupport
import Foundation
import Hummingbird
import Logging
import Periskop
import PromQL
import Shared
import Testing

@testable import Hub

/// The hub's pages in a real headless Chromium, against the `canopy-hub` binary on a real
/// PostgreSQL, fed by two real leaves scraping real targets: what a person sees, a filter that
/// changes the list, a resolve that sticks (asking for the token), a hostile message that runs
/// nothing, and a leaf that goes down.
@Suite(.serialized) struct HubWebTests {
    typealias Leaf = HubEndToEndTests.Leaf
    static let screenshots = "/tmp/canopy-web-screenshots"
    static let hostile = #"<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">"#

    @Test func aPersonSeesTeamsFiltersGroupsResolvesOneAndNoticesALeafDown() async throws {
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            let directory = NSTemporaryDirectory() + "canopy-web-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: Self.screenshots, withIntermediateDirectories: true)
            let checkout = FakeTarget()
            let search = FakeTarget()
            try await withServices([checkout.makeApplication(), search.makeApplication()]) {
                checkout.report(
                    "card declined", total: 7, message: "card 4242 declined",
                    httpContext: HTTPContext(requestMethod: "POST", requestURL: "http://checkout/pay", requestHeaders: ["Content-Type": "application/json"], requestBody: "{\"amount\": 12}"))
                checkout.report("ledger/timeout", total: 2, severity: .warning, message: "ledger did not answer")
                search.report("render", total: 5, message: Self.hostile)
                // Intervals long enough that a busy machine (the browser, parallel tests) does not time scrapes out.
                let payments = try Leaf(team: "payments", service: "checkout", targets: [await checkout.address()], directory: directory, interval: "1s")
                let searchLeaf = try Leaf(team: "search", service: "api", targets: [await search.address()], directory: directory, interval: "1s")
                try await payments.start()
                try await searchLeaf.start()
                let hubFile = directory + "/hub.yml"
                try HubEndToEndTests.hubConfig(
                    database, socket: cluster.socketDirectory, port: cluster.port, leaves: [("payments", payments.port), ("search", searchLeaf.port)], file: hubFile,
                    interval: "1s")
                try "api: {token: s3cret}\n".appendLine(toFile: hubFile)
                let hub = try ServerProcess("canopy-hub", ["--config", hubFile, "--data-dir", directory + "/hub"])
                let base = try await hub.base()
                let api = HTTPTestClient(base: base)
                let counted = try await eventually(timeout: .seconds(30)) { (try? await HubEndToEndTests.totals(api))?.count == 3 }
                #expect(counted, "the hub has the three groups")

                try await Browser.withBrowser { browser in
                    // The overview: both teams, the payments team with its two unresolved groups.
                    try await browser.open(base + "/")
                    let paymentsRow = try await browser.waitFor("tr.team-row[data-team=payments]")
                    #expect(try await paymentsRow.text().contains("payments"))
                    #expect(try await browser.find("tr.team-row[data-team=payments] td.unresolved").text() == "2")
                    #expect(try await browser.find("tr.team-row[data-team=search] td.unresolved").text() == "1")
                    #expect(try await browser.findAll("a.service-link").count == 2)
                    #expect(try await browser.findAll(".banner-error").isEmpty, "no leaf is down yet")
                    // The last hour's occurrences, once the window counts are refreshed (every 10 s here).
                    let hourShown = try await eventually(timeout: .seconds(30)) {
                        try await browser.open(base + "/")
                        return try await browser.find("tr.team-row[data-team=payments] td.last-hour").text() == "9"
                    }
                    #expect(hourShown, "payments: 7 + 2 occurrences in the last hour")
                    try await browser.screenshot(to: Self.screenshots + "/hub-overview.png")

                    // The list: three groups; the hostile message is text and ran nothing.
                    try await browser.open(base + "/groups")
                    #expect(try await browser.findAll("table.groups tbody tr").count == 3)
                    let messages = try await browser.findAll("table.groups .message").asyncMap { try await $0.text() }
                    #expect(messages.contains(Self.hostile))
                    #expect(try await browser.execute("return typeof window.__pwned").string == "undefined")
                    #expect(try await browser.alertText() == nil)
                    try await browser.screenshot(to: Self.screenshots + "/hub-groups.png")

                    // Choosing a team and applying changes the list and the URL.
                    try await browser.find("select[name=team] option[value=payments]").click()
                    try await browser.find("form.filters button[type=submit]").click()
                    let filtered = try await eventually(timeout: .seconds(10)) { try await browser.currentURL().contains("team=payments") }
                    #expect(filtered)
                    let rows = try await browser.findAll("table.groups tbody tr")
                    #expect(rows.count == 2)
                    #expect(try await browser.findAll("table.groups .owner .team").asyncMap { try await $0.text() }.allSatisfy { $0 == "payments" })

                    // A search narrows it to one; its page shows the group and its sample.
                    try await browser.find("input[name=q]").type("ledger")
                    try await browser.find("form.filters button[type=submit]").click()
                    _ = try await eventually(timeout: .seconds(10)) { try await browser.currentURL().contains("q=ledger") }
                    #expect(try await browser.findAll("table.groups tbody tr").count == 1)
                    try await browser.open(base + "/groups?team=payments&q=declined")
                    try await browser.find("table.groups a.error-class").click()
                    _ = try await browser.waitFor(".group-status")
                    #expect(try await browser.find(".group-total").text() == "7")
                    #expect(try await browser.find(".group-status").text().contains("unresolved"))
                    #expect(try await browser.find(".group-message").text() == "card 4242 declined")
                    #expect(try await browser.findAll("table.instances tbody tr").count == 1, "the owning leaf says which instance reports it")
                    #expect(try await browser.findAll("figure.chart svg").count == 1)
                    // Its newest sample: the stack trace and the request, with a curl line to repeat it.
                    let sample = try await browser.find("section.samples").text()
                    #expect(sample.contains("app.swift:7"))
                    #expect(sample.contains("http://checkout/pay"))
                    #expect(sample.contains("curl"))
                    let groupURL = try await browser.currentURL()
                    try await browser.screenshot(to: Self.screenshots + "/hub-group.png")
                    // Each fact's value stays under its own label at every width, a phone's included.
                    for width in Browser.layoutWidths {
                        try await browser.resize(BrowserWindow(width: width, height: 900))
                        #expect(try await browser.factsAwayFromTheirLabels() == [], "at \(width) px")
                    }
                    try await browser.resize(.desktop)

                    // Resolve: the hub wants the token; the page asks for it, retries, and the change sticks.
                    try await browser.find("button.action-resolve").click()
                    let asked = try await eventually(timeout: .seconds(10)) { try await browser.alertText() != nil }
                    #expect(asked, "the page asks for the token")
                    try await browser.acceptPrompt("s3cret")
                    let resolved = try await eventually(timeout: .seconds(10)) {
                        let text = (try? await browser.find(".group-status").text()) ?? ""
                        return text.contains("resolved") && !text.contains("unresolved")
                    }
                    #expect(resolved)
                    try await browser.open(groupURL)
                    #expect(try await browser.find(".group-status").text().contains("resolved"))
                    #expect(try await browser.find("table.status-history").text().contains("unresolved → resolved"))

                    // A leaf goes down: a banner says so, and its team's numbers are marked stale.
                    await searchLeaf.stop()
                    let noticed = try await eventually(timeout: .seconds(20)) {
                        try await browser.open(base + "/")
                        return try await !browser.findAll(".banner-error").isEmpty
                    }
                    #expect(noticed)
                    #expect(try await browser.find(".banner-error").text().contains("search"))
                    #expect(try await browser.find("tr.team-row[data-team=search]").attribute("class")?.contains("row-stale") == true)
                    try await browser.screenshot(to: Self.screenshots + "/hub-overview-leaf-down.png")
                    try await browser.open(base + "/leaves")
                    #expect(try await browser.find("tr.leaf-row[data-leaf=search]").attribute("class")?.contains("row-down") == true)
                    #expect(try await browser.find("tr.leaf-row[data-leaf=payments]").attribute("class")?.contains("row-down") == false)
                    try await browser.screenshot(to: Self.screenshots + "/hub-leaves.png")

                    // At phone width the page fits: tables scroll in their own box.
                    try await browser.resize(.phone)
                    try await browser.open(base + "/groups")
                    let overflow = try await browser.execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
                    #expect((overflow.number ?? 1) <= 0)
                    try await browser.screenshot(to: Self.screenshots + "/hub-groups-phone.png")
                }
                // The API agrees: resolved by the token's holder.
                let groups = try await api.json("/api/v1/groups?team=payments&q=declined") as? [String: Any]
                let status = (groups?["groups"] as? [[String: Any]])?.first?["status"] as? String
                #expect(status == "resolved")
                #expect(try await api.get("/groups/999999").status == 404)
                await hub.stop()
                await payments.stop()
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
}

extension HubWebTests {
    /// The graph page with 60 series of long, hostile labels drawn: its chart and legend at a
    /// wide desktop and a phone, without the page scrolling sideways and without running any of
    /// the labels. The page is the hub's own rendering of a synthetic answer, served with the
    /// hub's stylesheet, script and security headers (a hub would need the evaluator to draw one).
    @Test func theGraphPageFitsItsChartAndLegendAtEveryWidth() async throws {
        try FileManager.default.createDirectory(atPath: Self.screenshots, withIntermediateDirectories: true)
        let parameters = try HubGraphPageTests.parameters("expr=sum+by+(env,+aggregation_key)+(increase(canopy_exceptions_total%5B1m%5D))&tab=graph")
        let outcome = GraphPage.Outcome.graph(
            .matrix(HubGraphPageTests.matrix(60)), start: HubGraphPageTests.now.addingTimeInterval(-3600), end: HubGraphPageTests.now, step: 60_000)
        let html = try HubGraphPageTests.page(parameters, outcome)
        let router = Router()
        router.add(middleware: WebSecurityMiddleware())
        StaticAssets.addRoutes(to: router)
        router.get("graph") { _, _ in HTMLResponse.make(html) }
        var logger = Logger(label: "graph-page")
        logger.logLevel = .warning
        let port = PortPromise()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), onServerRunning: { port.fulfil($0.localAddress?.port ?? 0) },
            logger: logger)
        try await withServices([app]) {
            let url = "http://127.0.0.1:\(await port.value)/graph"
            try await Browser.withBrowser { browser in
                for width in [1400, 390] {
                    try await browser.resize(BrowserWindow(width: width, height: 900))
                    try await browser.open(url)
                    _ = try await browser.waitFor("svg.chart-lines")
                    #expect(try await browser.findAll("svg.chart-lines g.series polyline").count == 50, "at \(width) px")
                    #expect(try await browser.findAll("ul.legend li.legend-entry").count == 50, "at \(width) px")
                    #expect(try await browser.find(".chart-note").text() == "showing 50 of 60 series")
                    // Drawn with its size, and coloured by the stylesheet: a line's stroke is its swatch's colour.
                    let size = try await browser.execute(
                        "const r = document.querySelector('svg.chart-lines').getBoundingClientRect(); return [r.width, r.height]")
                    #expect((size.array?.first?.number ?? 0) > 300 && (size.array?.last?.number ?? 0) > 100, "at \(width) px: \(size)")
                    let colours = try await browser.execute(
                        """
                        const line = getComputedStyle(document.querySelector('svg.chart-lines g.series-3 polyline')).stroke;
                        const swatch = getComputedStyle(document.querySelectorAll('.legend-swatch')[3]).backgroundColor;
                        return [line, swatch];
                        """)
                    let pair = colours.array?.compactMap(\.string) ?? []
                    #expect(pair.count == 2 && pair[0] == pair[1] && pair[0] != "none", "\(pair)")
                    // The page itself never scrolls sideways: the chart scrolls in its box, the legend wraps.
                    let overflow = try await browser.execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
                    #expect((overflow.number ?? 1) <= 0, "at \(width) px the page is \(overflow) px too wide")
                    let legendOverflow = try await browser.execute(
                        "const l = document.querySelector('ul.legend'); return l.getBoundingClientRect().right - document.documentElement.clientWidth")
                    #expect((legendOverflow.number ?? 1) <= 0, "at \(width) px")
                    #expect(try await browser.execute("return typeof window.__pwned").string == "undefined")
                    #expect(try await browser.alertText() == nil)
                    try await browser.screenshot(to: Self.screenshots + "/hub-graph-\(width).png")
                }
                // Enter in the expression box runs the query (the script submits the form), Shift+Enter does not.
                let box = try await browser.find("textarea[name=expr]")
                try await box.clear()
                try await box.type("sum(up)\u{E008}\u{E007}\u{E008}")
                #expect(try await browser.currentURL() == url, "Shift+Enter adds a line")
                try await box.type("\u{E007}")
                let ran = try await eventually(timeout: .seconds(10)) { try await browser.currentURL().contains("expr=sum%28up%29%0D%0A") }
                let submitted = try await browser.currentURL()
                #expect(ran, "\(submitted)")
                #expect(submitted.contains("tab=graph"))
            }
        }
    }
}

extension String {
    func appendLine(toFile path: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(("\n" + self).utf8))
    }
}
