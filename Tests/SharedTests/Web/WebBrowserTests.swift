import CanopyTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

@testable import Shared

/// The web kit in a real headless Chromium: a page full of hostile data runs nothing, the CSP
/// holds, the stylesheet and script load, a phone gets no sideways scrolling, and the write
/// forms ask for a token on 401.
@Suite struct WebBrowserTests {
    /// What the demo server saw of the status form.
    final class Writes: Sendable {
        private let seen = Mutex<[(authorization: String?, body: String)]>([])
        func record(_ authorization: String?, _ body: String) { seen.withLock { $0.append((authorization, body)) } }
        var all: [(authorization: String?, body: String)] { seen.withLock { $0 } }
    }

    static let token = "s3cret-token"

    /// Where the test leaves its screenshots, to look at the pages by eye.
    static let screenshots: URL = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-web-screenshots")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }()

    /// A page of both servers' kind: filters, a groups table whose exception carries markup,
    /// a chart, a copy line and status forms.
    static func demoPage(_ templates: WebTemplates, changed: String?) throws -> String {
        let rows = [
            WebFixtures.row(errorClass: WebFixtures.script, message: WebFixtures.script + " " + WebFixtures.image),
            WebFixtures.row(
                errorClass: "java.lang.IllegalStateException",
                message: String(repeating: "a long message without spaces ", count: 6),
                status: "regressed"
            ),
        ]
        var body = [
            try templates.render(
                "filterForm",
                FilterFormView(
                    action: "/",
                    fields: [.severity(selected: nil), .status(selected: "unresolved"), .window(selected: "24h"), .search(value: WebFixtures.image)]
                )
            ),
            try templates.render("groupsTable", WebFixtures.table(rows)),
            try templates.render("pager", PagerView(path: "/", query: [("q", "x")], nextCursor: "next-1", summary: "2 groups")),
            try templates.render(
                "chart",
                ChartView(caption: "Occurrences per hour", svg: SVGChart.bars(WebFixtures.dayOfBars, label: WebFixtures.script))
            ),
            try templates.render(
                "copyText",
                CopyTextView(label: "Resolve with curl", text: "curl -X POST -H 'Authorization: Bearer TOKEN' http://127.0.0.1/groups/1/status")
            ),
            try templates.render(
                "statusActions",
                StatusActionsView(actions: [
                    StatusActionView(formAction: "/groups/1/status", name: "resolve", value: "resolved", label: "Resolve"),
                    StatusActionView(formAction: "/groups/1/status", name: "ignore", value: "ignored", label: "Ignore", confirm: "Ignore this group?"),
                ])
            ),
        ]
        if let changed { body.insert(try templates.render("errorBanner", ErrorBannerView(title: "Changed", message: changed)), at: 0) }
        return templates.page(WebFixtures.chrome(title: WebFixtures.script, path: "/"), body: SafeHTML(trusted: body.map(\.html).joined()))
    }

    /// Serves the demo page, the assets and a status form that wants a bearer token, on a free port.
    static func withDemoServer(_ writes: Writes = Writes(), _ body: @escaping @Sendable (String) async throws -> Void) async throws {
        let templates = try WebTemplates()
        let router = Router()
        router.add(middleware: WebSecurityMiddleware())
        StaticAssets.addRoutes(to: router)
        router.get("/") { request, _ in HTMLResponse.make(try demoPage(templates, changed: request.query("changed"))) }
        router.post("/groups/1/status") { request, _ -> Response in
            let form = String(buffer: try await request.body.collect(upTo: 4096))
            let authorization = request.headers[.authorization]
            writes.record(authorization, form)
            guard authorization == "Bearer \(token)" else { return HTMLResponse.make("<p>a bearer token is needed</p>", status: .unauthorized) }
            let status = form.split(separator: "=").last.map(String.init) ?? ""
            return Response(status: .seeOther, headers: [.location: "/?changed=\(status)"])
        }
        var logger = Logger(label: "web-demo")
        logger.logLevel = .warning
        let app = Application(router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        try await app.test(.live) { client in
            let response = try await client.execute(uri: "/", method: .get)
            #expect(response.headers[.contentSecurityPolicy] == WebAssetsTests.csp)
            let port = try #require(client.port)
            try await body("http://127.0.0.1:\(port)")
        }
    }

    @Test func hostileDataShowsAsTextAndRunsNothing() async throws {
        try await Self.withDemoServer { base in
            try await Browser.withBrowser(window: .desktop) { browser in
                try await browser.open(base + "/")
                // Shown literally, in the table, the title and the heading.
                let message = try await browser.find("table.groups tbody tr .message")
                #expect(try await message.text() == WebFixtures.script + " " + WebFixtures.image)
                #expect(try await browser.find("table.groups tbody tr .error-class").text() == WebFixtures.script)
                #expect(try await browser.find("main h1").text() == WebFixtures.script)
                #expect(try await browser.title() == WebFixtures.script + " · Canopy hub")
                #expect(try await browser.findAll("table.groups img").isEmpty)
                #expect(try await browser.findAll("main script").isEmpty)
                #expect(try await browser.find("input[name=q]").property("value").string == WebFixtures.image)

                // Nothing ran: no marker, no alert.
                #expect(try await browser.execute("return typeof window.__pwned") == "undefined")
                #expect(try await browser.alertText() == nil)

                // The CSP came with the page, and the browser enforces it: an inline script is refused.
                let header = try await browser.execute(
                    "var x = new XMLHttpRequest(); x.open('GET', location.href, false); x.send(); return x.getResponseHeader('Content-Security-Policy');"
                )
                #expect(header.string == WebAssetsTests.csp)
                let inline = try await browser.execute(
                    "var s = document.createElement('script'); s.textContent = 'window.__inline = 1'; document.body.appendChild(s); return typeof window.__inline;"
                )
                #expect(inline == "undefined")

                // The stylesheet applied (the defaults would be `visible`, `block`, 0px) and the script ran.
                #expect(try await browser.find(".table-scroll").cssValue("overflow-x") == "auto")
                #expect(try await browser.find(".site-header").cssValue("display") == "flex")
                #expect(try await browser.find(".badge.status-regressed").cssValue("border-radius") == "999px")
                #expect(try await browser.findAll("button.copy-button").count == 1)
                #expect(try await browser.findAll("svg.chart-bars rect.bar").count == 24)
                #expect(try await browser.findAll("svg.sparkline").count == 2)

                // Light and dark differ.
                let light = try await browser.find("body").cssValue("background-color")
                try await browser.emulateColorScheme(dark: true)
                let dark = try await browser.find("body").cssValue("background-color")
                #expect(light == "rgba(255, 255, 255, 1)")
                #expect(dark == "rgba(20, 23, 28, 1)")
                try await browser.screenshot(to: Self.screenshots.appendingPathComponent("desktop-dark.png").path)
                try await browser.emulateColorScheme(dark: false)

                let desktop = Self.screenshots.appendingPathComponent("desktop.png").path
                try await browser.screenshot(to: desktop)
                #expect(try Data(contentsOf: URL(fileURLWithPath: desktop)).prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))

                try await browser.execute("document.querySelector('.chart').scrollIntoView();")
                try await browser.screenshot(to: Self.screenshots.appendingPathComponent("desktop-chart.png").path)

                // A phone: the page itself never scrolls sideways; the table scrolls in its box.
                try await browser.resize(.phone)
                try await expectEventually("the viewport becomes 390 px wide") { try await browser.execute("return window.innerWidth") == 390 }
                let overflow = try await browser.execute(
                    "return [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth];"
                )
                let widths = (overflow.array ?? []).compactMap(\.number)
                #expect(widths.count == 3 && widths[0] <= widths[2] && widths[1] <= widths[2], "page wider than the phone: \(overflow)")
                let table = try await browser.execute("var t = document.querySelector('.table-scroll'); return t.scrollWidth > t.clientWidth;")
                #expect(table == true)
                try await browser.screenshot(to: Self.screenshots.appendingPathComponent("phone.png").path)
                #expect(try await browser.alertText() == nil)
                #expect(try await browser.execute("return typeof window.__pwned") == "undefined")
            }
        }
    }

    @Test func writeFormsAskForATokenOnceAndConfirm() async throws {
        let writes = Writes()
        try await Self.withDemoServer(writes) { base in
            try await Browser.withBrowser { browser in
                try await browser.open(base + "/")
                // Resolve: the server answers 401, the script asks for a token and retries with it.
                try await browser.find("form[data-write]:not([data-confirm]) button").click()
                try await expectEventually("a prompt for the token") { try await browser.alertText() != nil }
                #expect(try await browser.alertText()?.contains("bearer token") == true)
                try await browser.acceptPrompt(Self.token)
                try await expectEventually("the page after the change") { try await browser.currentURL().hasSuffix("/?changed=resolved") }
                #expect(try await browser.waitFor(".banner-message").text() == "resolved")
                #expect(writes.all.map(\.authorization) == [nil, "Bearer \(Self.token)"])
                #expect(writes.all.map(\.body) == ["status=resolved", "status=resolved"])
                #expect(try await browser.execute("return sessionStorage.getItem('canopy.token')") == .string(Self.token))

                // Ignore asks first: declined, nothing is sent.
                try await browser.find("form[data-confirm] button").click()
                try await expectEventually("a confirmation") { try await browser.alertText() == "Ignore this group?" }
                try await browser.dismissAlert()
                #expect(try await browser.alertText() == nil)
                #expect(writes.all.count == 2)

                // Accepted: sent at once with the kept token.
                try await browser.find("form[data-confirm] button").click()
                try await expectEventually("a confirmation") { try await browser.alertText() == "Ignore this group?" }
                try await browser.acceptPrompt()
                try await expectEventually("the page after the change") { try await browser.currentURL().hasSuffix("/?changed=ignored") }
                #expect(writes.all.map(\.authorization).last == "Bearer \(Self.token)")
                #expect(writes.all.count == 3)
            }
        }
    }

    /// The harness names what it could not find, and leaves no process behind.
    @Test func missingElementsAreNamed() async throws {
        try await Self.withDemoServer { base in
            try await Browser.withBrowser { browser in
                try await browser.open(base + "/")
                let error = await #expect(throws: BrowserError.self) { try await browser.find("table.nothing tr") }
                #expect(error?.description == "no element matches 'table.nothing tr'")
                #expect(try await browser.currentURL() == base + "/")
                let driver = browser.driver
                await browser.close()
                #expect(!driver.groupIsAlive, "chromedriver or Chromium left running: \(driver.groupMembers)")
            }
        }
    }
}
