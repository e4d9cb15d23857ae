import CanopyTestSupport
import Foundation
import Shared
import Testing

@testable import Hub

/// Every page of the hub (the overview, the groups and their empty state, a group with and
/// without a request, the leaves, the bugs page (the long group's bug in a second team), a service's deploys, the graph page's three views, the alerts, the rules, the
/// lookup's error page) with names as long as real ones (team, service, leaf, class, key,
/// request URL, rule and alert names), at a desktop and a phone: no word broken between two
/// letters, no box whose content is wider than it, nothing past the window, and each fact
/// beside its label (or just under it on a phone).
@Suite(.serialized) struct HubPagesLayoutTests {
    static let rules = """
        groups:
          - name: notification-delivery-orchestrator-exceptions-per-aggregation-key
            rules:
              - record: team_service:canopy_exceptions:total
                expr: sum by (team, service) (canopy_exceptions_total)
              - alert: NotificationDeliveryOrchestratorExceptionsOverThreshold
                expr: sum by (team, service, aggregation_key) (canopy_exceptions_total) > 3
                labels: {severity: page, escalation_policy: notifications-and-messaging-platform-europe-primary-on-call}
                annotations:
                  summary: more than three template rendering failures in one group
                  runbook_url: https://runbooks.internal.example.com/notifications/delivery/orchestrator/template-rendering-failures?section=first-steps
              - alert: NotificationsTeamSlowBurn
                expr: sum by (team) (canopy_exceptions_total) > 1
                for: 1h
              - alert: BrokenManyToManyMatchOnTeam
                expr: canopy_exceptions_total + on(team) canopy_exceptions_total
        """

    @Test func everyPageFitsADesktopAndAPhoneWithLongNames() async throws {
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            let target = FakeTarget()
            target.payload = LongNames.payload
            // The long group's bug in a second team, once (under every rule's threshold), so
            // that the bugs page has a bug with long names.
            let other = FakeTarget()
            other.payload = LongNames.payload
            other.payload.aggregatedErrors = [other.payload.aggregatedErrors[0]]
            other.payload.aggregatedErrors[0].totalCount = 1
            other.payload.aggregatedErrors[0].aggregationKey = "TemplateRenderingFailedException@9f3c2a71"
            try await withServices([target.makeApplication(), other.makeApplication()]) {
                try await withTemporaryDirectory { directory in
                    let leaf = try HubEndToEndTests.Leaf(
                        team: LongNames.team, service: LongNames.service, targets: [await target.address()],
                        labels: [["env": "production-eu-west-1", "version": "2026.12.01-build.4711-notification-delivery-orchestrator"]], directory: directory)
                    try await leaf.start()
                    let otherLeaf = try HubEndToEndTests.Leaf(
                        team: Self.otherTeam, service: "invoice-document-rendering-and-delivery-service", targets: [await other.address()], directory: directory)
                    try await otherLeaf.start()
                    let ruleFile = directory + "/notifications.rules.yml"
                    try Self.rules.write(toFile: ruleFile, atomically: true, encoding: .utf8)
                    try await withInProcessHub(
                        database: database, cluster: cluster, leaves: [(LongNames.leaf, leaf.port), (Self.otherTeam + "-leaf", otherLeaf.port)], directory: directory,
                        ruleFiles: [ruleFile],
                        evaluationInterval: "1s"
                    ) { base in
                        let hub = HTTPTestClient(base: base)
                        let ready = try await eventually(timeout: .seconds(30)) {
                            let states = try await HubRulesTests.alerts(hub).compactMap { $0["state"] as? String }.sorted()
                            let broken = try await HubRulesTests.rules(hub)["BrokenManyToManyMatchOnTeam"]?["health"] as? String
                            return states == ["firing", "pending"] && broken == "err"
                        }
                        try #require(ready, "an alert fires, one waits and the broken rule fails")
                        let bugListed = try await eventually(timeout: .seconds(20)) {
                            (try? await hub.json("/api/v1/bugs") as? [String: Any])?["bugs"].flatMap { $0 as? [Any] }?.count == 1
                        }
                        try #require(bugListed, "the long group's bug is in both teams")
                        try await Self.checkEveryPage(base)
                    }
                    await leaf.stop()
                    await otherLeaf.stop()
                }
            }
        }
    }

    /// Sorts after `LongNames.team`, so that the overview's first team is still that one.
    static let otherTeam = "payments-and-invoicing-platform-north-america"

    static func checkEveryPage(_ base: String) async throws {
        func lookup(_ key: String) -> String {
            PageLink.href("/groups/lookup", query: [("team", LongNames.team), ("service", LongNames.service), ("aggregation_key", key)])
        }
        let expr = "sum by (team, service, aggregation_key) (canopy_exceptions_total)"
        let pages: [(name: String, path: String)] = [
            ("overview", "/"),
            ("groups", "/groups"),
            ("groups-empty", "/groups?q=nothing-like-this"),
            ("group", lookup(LongNames.key)),
            ("group-smtp", lookup(LongNames.smtpKey)),
            ("leaves", "/leaves"),
            ("bugs", "/bugs"),
            ("deploys", DeploysPage.path(team: LongNames.team, service: LongNames.service)),
            ("graph-empty", "/graph"),
            ("graph-table", PageLink.href("/graph", query: [("expr", expr), ("tab", "table")])),
            ("graph", PageLink.href("/graph", query: [("expr", expr), ("tab", "graph")])),
            ("alerts", "/alerts"),
            ("rules", "/rules"),
            ("error", lookup("no-such-group")),
        ]
        // Not left to HubWebTests, which may not have run first.
        try FileManager.default.createDirectory(atPath: HubWebTests.screenshots, withIntermediateDirectories: true)
        try await Browser.withBrowser { browser in
            for width in Browser.pageWidths {
                try await browser.resize(BrowserWindow(width: width, height: 900))
                let viewport = try await eventually(timeout: .seconds(10)) { try await browser.execute("return window.innerWidth").number == Double(width) }
                #expect(viewport, "the viewport becomes \(width) px wide")
                for page in pages {
                    try await browser.open(base + page.path)
                    _ = try await browser.waitFor("main h1")
                    let problems = try await browser.layoutProblems()
                    #expect(problems == [], "\(page.path) at \(width) px: \(problems)")
                    let facts = try await browser.factsLayout()
                    #expect(facts.filter { $0.place == "away" }.isEmpty, "\(page.path) at \(width) px: \(facts)")
                    if width >= 1000 { #expect(facts.allSatisfy { $0.place == "beside" }, "\(page.path) at \(width) px: \(facts)") }
                    try await browser.screenshot(to: HubWebTests.screenshots + "/hub-\(page.name)-\(width).png")
                }
            }
            // The long names are there, whole, as text.
            try await browser.open(base + "/")
            #expect(try await browser.find("a.team-name").text() == LongNames.team)
            try await browser.open(base + lookup(LongNames.key))
            #expect(try await browser.find("main h1").text() == LongNames.className)
            #expect(try await browser.find(".group-key").text() == LongNames.key)
        }
    }
}
