import CanopyTestSupport
import Foundation
import Testing

@testable import Hub

/// One bug across teams: two teams' services, real Python periskop clients, raise the same
/// exception through the same shared library function (`python/shared_orders.py`, installed in
/// each service's own directory) from their own code; two real
/// leaves scrape them and one hub scrapes the leaves. The hub lists the bug once, with both
/// groups and their exact totals, on `/api/v1/bugs`, on `/bugs` (in a browser), on each group's
/// page (a link to its sibling), and as a `fingerprint` label that PromQL counts by (a rule
/// fires one alert for the bug); resolving all resolves both, each with its own status history.
@Suite(.serialized) struct HubBugsEndToEndTests {
    static func bugs(_ hub: HTTPTestClient) async throws -> [[String: Any]] {
        try #require(try await hub.json("/api/v1/bugs") as? [String: Any])["bugs"] as? [[String: Any]] ?? []
    }

    /// "team/service" → total of the bug's groups.
    static func totals(_ bug: [String: Any]) -> [String: Int] {
        let groups = bug["groups"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: groups.map { ("\($0["team"] as! String)/\($0["service"] as! String)", $0["total"] as! Int) })
    }

    @Test func twoTeamsRaisingOneLibraryBugSeeOneBugWithExactCounts() async throws {
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            try await withTemporaryDirectory { directory in
                // Each service with its own installation of the library: other directories.
                var libraries: [String] = []
                for service in ["checkout", "billing"] {
                    let library = directory + "/\(service)-venv/lib/python3/site-packages"
                    try FileManager.default.createDirectory(atPath: library, withIntermediateDirectories: true)
                    try FileManager.default.copyItem(atPath: PythonTarget.sharedLibrary, toPath: library + "/shared_orders.py")
                    libraries.append(library)
                }
                let checkout = try await PythonTarget.start(libraryDirectory: libraries[0])
                let billing = try await PythonTarget.start(libraryDirectory: libraries[1])
                let checkoutKey = try await checkout.raise(kind: "checkout-order", count: 3).key
                let billingKey = try await billing.raise(kind: "billing-order", count: 5).key
                try await checkout.raise(kind: "zero", count: 2)  // a bug of the checkout alone: not listed
                #expect(checkoutKey != billingKey, "the clients' keys differ: the message names the order")
                let payments = try HubEndToEndTests.Leaf(team: "payments", service: "checkout", targets: [checkout.address], directory: directory)
                let finance = try HubEndToEndTests.Leaf(team: "finance", service: "billing", targets: [billing.address], directory: directory)
                try await payments.start()
                try await finance.start()
                // The README's rule: one alert per bug in several teams, not one per team.
                let ruleFile = directory + "/bugs.rules.yml"
                try """
                    groups:
                      - name: bugs
                        rules:
                          - alert: BugInSeveralTeams
                            expr: count by (fingerprint) (canopy_group_status{status=~"unresolved|regressed", fingerprint!=""}) >= 2
                    """.write(toFile: ruleFile, atomically: true, encoding: .utf8)
                try await withInProcessHub(
                    database: database, cluster: cluster, leaves: [("payments", payments.port), ("finance", finance.port)], directory: directory, token: "s3cret",
                    ruleFiles: [ruleFile], evaluationInterval: "1s"
                ) { base in
                    let hub = HTTPTestClient(base: base)
                    let listed = try await eventually(timeout: .seconds(30)) {
                        let bugs = (try? await Self.bugs(hub)) ?? []
                        return bugs.count == 1 && Self.totals(bugs[0]) == ["payments/checkout": 3, "finance/billing": 5]
                    }
                    let seen = (try? await Self.bugs(hub)) ?? []
                    #expect(listed, "one bug, both teams' exact counts: \(seen)")
                    let bug = try #require(try await Self.bugs(hub).first)
                    let fingerprint = try #require(bug["fingerprint"] as? String)
                    #expect(fingerprint.count == 16)
                    #expect(bug["class"] as? String == "InvalidOrder")
                    #expect((bug["message"] as? String)?.hasSuffix("has no lines") == true)
                    #expect(bug["first_seen"] is String)
                    let groups = try #require(bug["groups"] as? [[String: Any]])
                    #expect(Set(groups.compactMap { $0["aggregation_key"] as? String }) == [checkoutKey, billingKey])
                    #expect(groups.allSatisfy { $0["last_seen"] is String && $0["status"] as? String == "unresolved" })
                    // The samples name each service's own copy of the library.
                    for (id, library) in zip(groups.compactMap { $0["id"] as? Int }, groups.map { $0["team"] as? String == "payments" ? libraries[0] : libraries[1] }) {
                        let detail = try #require(try await hub.json("/api/v1/groups/\(id)") as? [String: Any])
                        let samples = try #require(detail["samples"] as? [[String: Any]])
                        let trace = (samples.first?["error"] as? [String: Any])?["stacktrace"] as? [String] ?? []
                        #expect(trace.contains { $0.contains(library + "/shared_orders.py") }, "\(trace)")
                    }

                    // More of it in one team: that team's count, exactly.
                    try await billing.raise(kind: "billing-order", count: 2)
                    let grew = try await eventually(timeout: .seconds(30)) {
                        (try? await Self.bugs(hub)).flatMap(\.first).map(Self.totals) == ["payments/checkout": 3, "finance/billing": 7]
                    }
                    #expect(grew)

                    // The query language counts the bug once across teams.
                    let query = "count by (fingerprint) (canopy_group_status{fingerprint!=\"\"})"
                    let answer = try #require(
                        try await hub.json("/api/v1/query?query=" + query.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!) as? [String: Any])
                    let result = try #require((answer["data"] as? [String: Any])?["result"] as? [[String: Any]])
                    let counts = Dictionary(uniqueKeysWithValues: result.map { (($0["metric"] as? [String: String])?["fingerprint"] ?? "", ($0["value"] as? [Any])?[1] as? String ?? "") })
                    #expect(counts[fingerprint] == "2", "\(result)")
                    #expect(counts.count == 2 && counts.values.filter { $0 == "1" }.count == 1, "the checkout's own bug counts once: \(result)")
                    let alerted = try await eventually(timeout: .seconds(20)) {
                        let alerts = (try? await HubRulesTests.alerts(hub)) ?? []
                        return alerts.count == 1 && (alerts[0]["labels"] as? [String: String]) == ["alertname": "BugInSeveralTeams", "fingerprint": fingerprint]
                            && alerts[0]["state"] as? String == "firing"
                    }
                    let alerts = (try? await HubRulesTests.alerts(hub)) ?? []
                    #expect(alerted, "one alert for the bug, with its fingerprint: \(alerts)")

                    let ids = groups.compactMap { ($0["id"] as? Int).map(Int64.init) }
                    try #require(ids.count == 2)
                    try await Browser.withBrowser { browser in
                        try await browser.open(base + "/bugs")
                        _ = try await browser.waitFor("section.bug")
                        #expect(try await browser.findAll("section.bug").count == 1)
                        #expect(try await browser.find("section.bug .bug-fingerprint").text() == fingerprint)
                        #expect(try await browser.find("section.bug .bug-total").text() == "10")
                        #expect(try await browser.find("tr.bug-group[data-team=payments] .bug-group-total").text() == "3")
                        #expect(try await browser.find("tr.bug-group[data-team=finance] .bug-group-total").text() == "7")
                        for width in Browser.pageWidths {
                            try await browser.resize(BrowserWindow(width: width, height: 900))
                            let problems = try await browser.layoutProblems()
                            #expect(problems == [], "/bugs at \(width) px: \(problems)")
                            try await browser.screenshot(to: HubWebTests.screenshots + "/hub-bugs-\(width).png")
                        }
                        try await browser.resize(.desktop)

                        // From the bug to the payments group, and from there to its sibling in finance.
                        try await browser.find("tr.bug-group[data-team=payments] a.bug-group-link").click()
                        _ = try await browser.waitFor("section.siblings")
                        #expect(try await browser.find(".group-total").text() == "3")
                        #expect(try await browser.find(".group-fingerprint").text() == fingerprint)
                        let siblings = try await browser.findAll("a.sibling-link")
                        #expect(siblings.count == 1)
                        #expect(try await siblings.first?.text() == "finance · billing")
                        try await siblings.first?.click()
                        _ = try await browser.waitFor("section.siblings")
                        #expect(try await browser.find(".group-total").text() == "7")
                        #expect(try await browser.find("a.sibling-link").text() == "payments · checkout")

                        // Resolve all: the page asks for the token, and both groups are resolved.
                        try await browser.open(base + "/bugs")
                        try await browser.find("section.bug button.action-resolve-all").click()
                        let asked = try await eventually(timeout: .seconds(10)) { try await browser.alertText() != nil }
                        #expect(asked, "the page asks for the token")
                        try await browser.acceptPrompt("s3cret")
                        let resolved = try await eventually(timeout: .seconds(10)) {
                            let badges = (try? await browser.findAll("tr.bug-group .badge").asyncMap { try await $0.text() }) ?? []
                            return badges.count == 2 && badges.allSatisfy { $0 == "resolved" }
                        }
                        #expect(resolved)
                    }
                    for id in ids {
                        let detail = try #require(try await hub.json("/api/v1/groups/\(id)") as? [String: Any])
                        #expect((detail["group"] as? [String: Any])?["status"] as? String == "resolved")
                        let history = try #require(detail["status_changes"] as? [[String: Any]])
                        #expect(history.count == 1 && history.first?["from"] as? String == "unresolved" && history.first?["to"] as? String == "resolved", "\(history)")
                        #expect((detail["siblings"] as? [[String: Any]])?.count == 1)
                    }

                    // The API: the token is needed; with it, all groups change, each in its own history.
                    let path = "/api/v1/bugs/\(fingerprint)/status"
                    #expect(try await hub.request(path, method: .POST, body: #"{"status": "unresolved"}"#).status == 401)
                    let reopened = try await hub.request(
                        path, method: .POST, body: #"{"status": "unresolved", "comment": "the fix did not ship"}"#,
                        headers: ["Authorization": "Bearer s3cret", "Content-Type": "application/json"])
                    #expect(reopened.status == 200, "\(reopened.body)")
                    let changed = try #require(try JSONSerialization.jsonObject(with: Data(reopened.body.utf8)) as? [String: Any])
                    #expect((changed["groups"] as? [[String: Any]])?.map { $0["status"] as? String } == ["unresolved", "unresolved"])
                    for id in ids {
                        let history = try #require((try await hub.json("/api/v1/groups/\(id)") as? [String: Any])?["status_changes"] as? [[String: Any]])
                        #expect(history.map { $0["to"] as? String } == ["unresolved", "resolved"])
                        #expect(history.first?["comment"] as? String == "the fix did not ship")
                    }
                    let unknown = try await hub.request(
                        "/api/v1/bugs/0000000000000000/status", method: .POST, body: #"{"status": "resolved"}"#, headers: ["Authorization": "Bearer s3cret"])
                    #expect(unknown.status == 404)
                }
                await payments.stop()
                await finance.stop()
                await checkout.stop()
                await billing.stop()
            }
        }
    }
}
