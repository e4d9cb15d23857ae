import CanopyTestSupport
import Foundation
import Periskop
import Shared
import Testing

@testable import Leaf

/// The leaf's pages in headless Chromium against a real leaf and real targets: what a person
/// sees in the list, when filtering, on a group and on the targets page, and that a service's
/// markup stays text.
@Suite(.serialized) struct LeafPagesBrowserTests {
    typealias Fixture = LeafWebFixture

    @Test func theListShowsTotalsAndTheFiltersChangeIt() async throws {
        try await Fixture.withLeaf { leaf in
            try await Browser.withBrowser(window: .desktop) { browser in
                try await browser.open(leaf.base + "/")
                #expect(try await browser.currentURL() == leaf.base + "/groups")
                #expect(try await browser.title() == "Groups · Canopy leaf · payments")
                #expect(try await browser.find("nav.site-nav a[aria-current=page]").text() == "Groups")
                for width in Browser.layoutWidths {
                    try await browser.resize(BrowserWindow(width: width, height: 900))
                    #expect(try await browser.factsAwayFromTheirLabels() == [], "at \(width) px")
                }
                try await browser.resize(.desktop)
                let all = try await browser.groupRows()
                #expect(
                    Set(all) == [
                        ["app.PaymentException", "card declined", "checkout", "7"], ["db.SlowQuery", "slow query: 2.3 s", "checkout", "3"],
                        [Fixture.script, Fixture.image, "search", "2"], ["cache.Miss", "cache miss for user:42", "search", "1"],
                    ])
                #expect(try await browser.find(".pager-summary").text() == "1–4 of 4 groups")
                // The service's markup is text: nothing ran, nothing was added to the page.
                #expect(try await browser.execute("return typeof window.__pwned") == "undefined")
                #expect(try await browser.alertText() == nil)
                #expect(try await browser.findAll("main img").isEmpty)
                try await browser.screenshot(to: Fixture.screenshot("leaf-list.png"))

                // A service.
                try await browser.choose("search", in: "service")
                try await expectEventually { try await browser.currentURL().contains("service=search") }
                #expect(Set(try await browser.groupRows().map { $0[0] }) == [Fixture.script, "cache.Miss"])
                #expect(try await browser.find("select[name=service]").property("value") == "search")

                // A severity, across services.
                try await browser.open(leaf.base + "/groups")
                try await browser.choose("warning", in: "severity")
                try await expectEventually { try await browser.currentURL().contains("severity=warning") }
                #expect(try await browser.groupRows().map { $0[0] } == ["db.SlowQuery"])

                // A search typed in the box (the message here).
                try await browser.open(leaf.base + "/groups")
                try await browser.find("input[name=q]").type("DECLINED")
                try await browser.find("input[name=q]").submit()
                try await expectEventually { try await browser.currentURL().contains("q=DECLINED") }
                #expect(try await browser.groupRows().map { $0[0] } == ["app.PaymentException"])
                #expect(try await browser.find("input[name=q]").property("value") == "DECLINED")

                // Sorted by total; the URL carries it, so opening the URL again shows the same.
                try await browser.open(leaf.base + "/groups")
                try await browser.choose("count", in: "sort")
                try await expectEventually { try await browser.currentURL().contains("sort=count") }
                #expect(try await browser.groupRows().map { $0[3] } == ["7", "3", "2", "1"])
                let shared = try await browser.currentURL()
                try await browser.open(shared)
                #expect(try await browser.groupRows().map { $0[3] } == ["7", "3", "2", "1"])

                // Nothing matches: the empty state offers the way back.
                try await browser.open(leaf.base + "/groups?q=nothing-like-this")
                #expect(try await browser.find(".empty-title").text() == "No exceptions match these filters")
                try await browser.find(".empty-state a").click()
                try await expectEventually { try await browser.currentURL() == leaf.base + "/groups" }
                #expect(try await browser.groupRows().count == 4)
            }
        }
    }

    @Test func theGroupShowsItsSampleCausesRequestAndInstances() async throws {
        try await Fixture.withLeaf { leaf in
            try await Browser.withBrowser(window: .desktop) { browser in
                try await browser.open(leaf.base + "/groups")
                let links = try await browser.findAll("table.groups a.error-class")
                var payment: BrowserElement?
                for link in links where try await link.text() == "app.PaymentException" { payment = link }
                try await #require(payment).click()
                try await expectEventually { try await browser.currentURL() == leaf.base + "/groups/checkout/PaymentError%401" }
                #expect(try await browser.find("main h1").text() == "app.PaymentException")
                #expect(try await browser.find(".group-key").text() == "PaymentError@1")
                #expect(try await browser.find(".group-total").text() == "7")
                #expect(try await browser.find(".group-message").text() == "card declined")
                #expect(try await browser.find("nav.site-nav a[aria-current=page]").text() == "Groups")

                // The newest sample: its trace, the two causes in order, the request.
                #expect(
                    try await browser.find(".sample .stacktrace").text()
                        == "at app.Checkout.pay(Checkout.scala:42)\nat app.Checkout.run(Checkout.scala:7)")
                let causes = try await browser.findAll(".sample .cause")
                #expect(causes.count == 2)
                #expect(try await causes[0].text().hasPrefix("Caused by gateway.GatewayTimeout gateway did not answer in 5 s"))
                #expect(try await causes[1].text().contains("java.net.SocketTimeoutException Read timed out"))
                #expect(try await browser.find(".request-method").text() == "POST")
                let url = try await browser.find(".request-url").text()
                #expect(url.hasPrefix("https://shop.example/pay?order=17&api_key="))
                let headers = try await browser.execute(
                    "return Array.from(document.querySelectorAll('table.request-headers tbody tr')).map(function (r) { return r.textContent; });")
                #expect(headers == ["Authorization[REDACTED]", "Content-Typeapplication/json", #"X-Noteit's "quoted""#])
                #expect(try await browser.find(".request-body").text().contains("\"user\": \"O'Brien\""))

                // The curl line: the scrubbed request, quoted for a shell, with a Copy button.
                let curl = try await browser.find("code[data-copy]").text()
                #expect(curl.hasPrefix("curl '\(url)'"))
                #expect(curl.contains(#"-H 'X-Note: it'\''s "quoted"'"#))
                #expect(curl.contains(#"--data-raw '{"user": "O'\''Brien","#))
                #expect(try await browser.findAll("button.copy-button").count == 1)
                let source = try await browser.pageSource()
                for secret in ["t0ken", "hunter2", "k3y"] { #expect(!source.contains(secret), "\(secret) is on the page") }

                // The process that reports it.
                let instance = try await browser.find("table.instances tbody tr").text()
                #expect(instance.contains(leaf.checkout))
                #expect(instance.contains("current"))
                try await browser.screenshot(to: Fixture.screenshot("leaf-detail.png"))
                try await browser.execute("document.querySelector('.http-context').scrollIntoView();")
                try await browser.screenshot(to: Fixture.screenshot("leaf-detail-request.png"))
                try await browser.execute("window.scrollTo(0, 0);")
                try await browser.emulateColorScheme(dark: true)
                try await browser.screenshot(to: Fixture.screenshot("leaf-detail-dark.png"))
                try await browser.emulateColorScheme(dark: false)

                // The older sample, one link away, with its own URL.
                let sampleLinks = try await browser.findAll(".sample-nav a")
                #expect(sampleLinks.count == 2)
                #expect(try await sampleLinks[0].attribute("aria-current") == "true")
                try await sampleLinks[1].click()
                try await expectEventually { try await browser.currentURL().hasSuffix("?sample=6d1b6b64-0000-4000-8000-000000000001") }
                #expect(try await browser.find(".sample .stacktrace").text() == "at app.Checkout.pay(Checkout.scala:40)")
                #expect(try await browser.findAll(".sample .http-context").isEmpty)
                #expect(try await browser.findAll(".sample .cause").isEmpty)
            }
        }
    }

    @Test func aServicesMarkupIsShownAsTextAndRunsNothing() async throws {
        try await Fixture.withLeaf { leaf in
            try await Browser.withBrowser(window: .desktop) { browser in
                try await browser.open(leaf.base + "/groups?service=search")
                let links = try await browser.findAll("table.groups a.error-class")
                var hostile: BrowserElement?
                for link in links where try await link.text() == Fixture.script { hostile = link }
                try await #require(hostile).click()
                // The key, with its slash, space, `&` and `?`, is one segment of the URL.
                try await expectEventually { try await browser.currentURL() == leaf.base + "/groups/search/" + PageLink.segment(Fixture.hostileKey) }
                #expect(try await browser.find("main h1").text() == Fixture.script)
                #expect(try await browser.title() == Fixture.script + " · Canopy leaf · payments")
                #expect(try await browser.find(".group-key").text() == Fixture.hostileKey)
                #expect(try await browser.find(".group-message").text() == Fixture.image)
                #expect(try await browser.find(".sample .sample-message").text() == Fixture.image)
                #expect(try await browser.find(".sample .stacktrace").text() == Fixture.script + "\n" + Fixture.image)
                #expect(try await browser.find("table.request-headers tbody td").text() == Fixture.image)
                #expect(try await browser.findAll("main img").isEmpty)
                #expect(try await browser.findAll("main script").isEmpty)
                #expect(try await browser.execute("return typeof window.__pwned") == "undefined")
                #expect(try await browser.alertText() == nil)
            }
        }
    }

    @Test func theTargetsPageMarksTheDownTargetWithItsError() async throws {
        try await Fixture.withLeaf { leaf in
            try await Browser.withBrowser(window: .desktop) { browser in
                try await browser.open(leaf.base + "/targets")
                #expect(try await browser.title() == "Targets · Canopy leaf · payments")
                #expect(try await browser.find(".banner-error").text().hasPrefix("1 of 3 targets down: search 127.0.0.1:9"))
                let down = try await browser.findAll("table.targets tr.row-down")
                #expect(down.count == 1)
                #expect(try await browser.find("tr.row-down .endpoint").text() == "http://127.0.0.1:9/-/exceptions")
                #expect(try await browser.find("tr.row-down .badge.health-down").text().lowercased() == "down")
                #expect(try await !browser.find("tr.row-down .target-error").text().isEmpty)
                // The colour says it too: the row's background is the down colour, not the page's.
                #expect(try await browser.find("tr.row-down td").cssValue("background-color") != browser.find("body").cssValue("background-color"))

                let up = try await browser.findAll("table.targets .badge.health-up")
                #expect(up.count == 2)
                let sections = try await browser.findAll("section.service-targets h2")
                #expect(try await sections.asyncMap { try await $0.text() } == ["checkout (1 of 1 up)", "search (1 of 2 up)"])
                let labels = try await browser.find("section.service-targets table.targets .label-list").text()
                #expect(labels.contains(#"env="prod""#))
                #expect(labels.contains(#"instance="\#(leaf.checkout)""#))
                #expect(try await browser.find("details.dropped summary").text() == "Dropped by relabelling: 1")
                try await browser.screenshot(to: Fixture.screenshot("leaf-targets.png"))
                try await browser.find("details.dropped summary").click()
                #expect(try await browser.find("table.dropped-targets").text().contains(#"__address__="10.0.0.99:8080""#))

                // Only what is down, as a URL.
                try await browser.choose("down", in: "health")
                try await expectEventually { try await browser.currentURL().contains("health=down") }
                #expect(try await browser.findAll("table.targets tbody tr").count == 1)
                #expect(try await browser.findAll("table.targets tr.row-down").count == 1)
            }
        }
    }

    @Test func pagesFitAPhone() async throws {
        try await Fixture.withLeaf { leaf in
            try await Browser.withBrowser(window: .phone) { browser in
                try await expectEventually("the viewport becomes 390 px wide") { try await browser.execute("return window.innerWidth") == 390 }
                for path in ["/groups", "/groups/checkout/PaymentError%401", "/targets"] {
                    try await browser.open(leaf.base + path)
                    #expect(try await browser.fitsTheWindow(), "\(path) is wider than the phone")
                }
                try await browser.open(leaf.base + "/groups")
                #expect(try await browser.groupRows().count == 4)
                try await browser.screenshot(to: Fixture.screenshot("leaf-list-phone.png"))
                try await browser.open(leaf.base + "/groups/checkout/PaymentError%401")
                try await browser.screenshot(to: Fixture.screenshot("leaf-detail-phone.png"))
            }
        }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
