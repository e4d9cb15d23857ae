import CanopyTestSupport
import Foundation
import Shared
import Testing

@testable import Leaf

/// Every page of the leaf (`/groups` and its empty state, a group with and without a request,
/// `/targets`, an error page) with names as long as real ones, at a desktop and a phone: no
/// word broken between two letters, no box whose content is wider than it, nothing past the
/// window, and each fact beside its label (or just under it on a phone).
@Suite(.serialized) struct LeafPagesLayoutTests {
    static let screenshots = LeafWebFixture.screenshots

    /// A leaf of team `LongNames.team` scraping one target that reports `LongNames.payload` and
    /// one that no resolver knows, once both groups are counted and the unknown one is down.
    static func withLongNamesLeaf(_ body: @Sendable (_ base: String) async throws -> Void) async throws {
        let target = FakeTarget()
        target.payload = LongNames.payload
        try await withServices([target.makeApplication()]) {
            let address = await target.address()
            let config = try LeafHarness.config(
                """
                global: {scrape_interval: 500ms, scrape_timeout: 450ms, external_labels: {team: \(LongNames.team)}}
                services:
                - name: \(LongNames.service)
                  static_configs:
                  - targets: ['\(address)', '\(LongNames.unknownHost)']
                    labels: {env: production-eu-west-1, deployment: notification-delivery-orchestrator-canary-rollout-2026-12}
                  scraper: {endpoint: /-/exceptions}
                """)
            try await LeafHarness.run(config, dataDir: LeafHarness.temporaryDirectory()) { leaf in
                try await expectEventually("both groups counted", timeout: .seconds(30)) {
                    try await leaf.totals(of: LongNames.service) == [LongNames.key: 7, LongNames.smtpKey: 2]
                }
                try await expectEventually("the unknown host is down", timeout: .seconds(30)) {
                    try await leaf.target("http://\(LongNames.unknownHost)/-/exceptions")?["health"] as? String == "down"
                }
                try await body(leaf.base)
            }
        }
    }

    @Test func everyPageFitsADesktopAndAPhoneWithLongNames() async throws {
        try await Self.withLongNamesLeaf { base in
            let group = "/groups/\(PageLink.segment(LongNames.service))/"
            let pages: [(name: String, path: String)] = [
                ("groups", "/groups"),
                ("groups-empty", "/groups?q=nothing-like-this"),
                ("group", group + PageLink.segment(LongNames.key)),
                ("group-smtp", group + PageLink.segment(LongNames.smtpKey)),
                ("targets", "/targets"),
                ("error", group + "no-such-group"),
            ]
            try await Browser.withBrowser { browser in
                for width in Browser.pageWidths {
                    try await browser.resize(BrowserWindow(width: width, height: 900))
                    try await expectEventually("the viewport becomes \(width) px wide") { try await browser.execute("return window.innerWidth") == .number(Double(width)) }
                    for page in pages {
                        try await browser.open(base + page.path)
                        _ = try await browser.waitFor("main h1")
                        let problems = try await browser.layoutProblems()
                        #expect(problems == [], "\(page.path) at \(width) px: \(problems)")
                        let facts = try await browser.factsLayout()
                        #expect(facts.filter { $0.place == "away" }.isEmpty, "\(page.path) at \(width) px: \(facts)")
                        if width >= 1000 { #expect(facts.allSatisfy { $0.place == "beside" }, "\(page.path) at \(width) px: \(facts)") }
                        try await browser.screenshot(to: LeafWebFixture.screenshot("leaf-\(page.name)-\(width).png"))
                    }
                }
                // The long texts are all there, whole, as text.
                try await browser.open(base + group + PageLink.segment(LongNames.key))
                #expect(try await browser.find("main h1").text() == LongNames.className)
                #expect(try await browser.find(".group-key").text() == LongNames.key)
                #expect(try await browser.find(".request-url").text() == LongNames.url)
            }
        }
    }
}
