import CanopyTestSupport
import Foundation
import Testing

/// Issue 11 from end to end: a real client's exceptions, through a real leaf and the hub's rules,
/// reach a real Alertmanager's webhook with their labels and rendered annotations; a silence made
/// through the hub silences the burst in Alertmanager; the burst's alert resolves when it ends;
/// and a hub restart sends nothing again as new.
@Suite struct HubAlertingEndToEndTests {
    /// A burst for the test's time scale: more than 20 in the last minute (the shipped rule
    /// compares with the day before, which a test does not have).
    static let burstRules = """
        groups:
          - name: test-burst
            rules:
              - alert: TestBurst
                expr: sum by (team, service, aggregation_key) (increase(canopy_exceptions_total[1m])) > 20
                labels: {severity: page}
                annotations:
                  summary: "{{ $labels.aggregation_key }} burst: {{ $value | humanize }} in a minute"
        """

    @Test func aBurstAndANewGroupReachAlertmanagerAreSilencedAndResolve() async throws {
        let cluster = try await TestCluster.shared.postgres()
        try await AlertmanagerServer.withRunning(1) { running in
            let (alertmanager, webhook) = running[0]
            try await TestDatabase.with { database in
                try await withPythonTargets(1) { targets in
                    let client = targets[0]
                    try await withTemporaryDirectory { directory in
                        let leaf = try HubEndToEndTests.Leaf(team: "payments", service: "checkout", targets: [client.address], directory: directory)
                        try await leaf.start()
                        let burstFile = directory + "/burst.rules.yml"
                        try Self.burstRules.write(toFile: burstFile, atomically: true, encoding: .utf8)
                        let hub = { (body: (HTTPTestClient) async throws -> String) in
                            try await withInProcessHub(
                                database: database, cluster: cluster, leaves: [("payments", leaf.port)], directory: directory,
                                ruleFiles: [HubShippedRulesTests.file, burstFile], evaluationInterval: "1s",
                                extraConfig: "alerting: {alertmanagers: [{static_configs: [{targets: ['\(alertmanager.address)']}]}]}"
                            ) { base in try await body(HTTPTestClient(base: base)) }
                        }
                        let raised = try await client.raise(kind: "zero", count: 3)
                        let startsAt = try await hub { api in
                            // The new group, with its labels and its rendered summary.
                            try await expectEventually(timeout: .seconds(30)) { !webhook.alerts(named: "CanopyNewException").isEmpty }
                            let new = try #require(webhook.alerts(named: "CanopyNewException").first)
                            #expect(new.status == "firing")
                            #expect(new.labels["team"] == "payments" && new.labels["service"] == "checkout" && new.labels["aggregation_key"] == raised.key)
                            #expect(new.labels["severity"] == "warning")
                            #expect(new.annotations["summary"] == "New exception in payments/checkout: \(new.labels["class"] ?? "")", "\(new.annotations)")
                            #expect(new.annotations["canopy_group_url"]?.contains("/groups/lookup?team=payments") == true)
                            #expect(new.generatorURL.contains("/graph?tab=table&expr="), "\(new.generatorURL)")

                            // The group's page offers to silence the group's alerts: its three labels as matchers.
                            let link = try #require(new.annotations["canopy_group_url"])
                            let page = try await api.get(String(link.dropFirst("http://localhost:7979".count))).body
                            for matcher in ["team=payments", "service=checkout", "aggregation_key=\(raised.key)"] {
                                #expect(page.contains(#"name="matcher" value="\#(matcher)""#), "\(matcher) on the group's page")
                            }

                            // A burst: 30 more at once.
                            try await client.raise(kind: "zero", count: 30)
                            try await expectEventually(timeout: .seconds(30)) { webhook.alerts(named: "TestBurst").contains { $0.status == "firing" } }
                            let burst = try #require(webhook.alerts(named: "TestBurst").first)
                            #expect(burst.annotations["summary"]?.hasPrefix("\(raised.key) burst: ") == true, "\(burst.annotations)")

                            // Silenced on the hub's alerts page, in Chromium: Alertmanager suppresses it,
                            // and the page says who silenced it.
                            try await Browser.withBrowser(window: .phone) { browser in
                                // The hub's own evaluation may list the burst a moment after Alertmanager sent it on.
                                var index = -1.0
                                let deadline = ContinuousClock.now + .seconds(30)
                                while index < 0, ContinuousClock.now < deadline {
                                    try await browser.open(api.base + "/alerts")
                                    _ = try await browser.waitFor("li.alert-card")
                                    index = try await browser.execute(
                                        "return [...document.querySelectorAll('#alerts-firing + ol > li.alert-card')].findIndex(c => c.querySelector('.alert-title').textContent === 'TestBurst')"
                                    ).number ?? -1
                                    if index < 0 { try await Task.sleep(for: .milliseconds(500)) }
                                }
                                #expect(index >= 0)
                                try await browser.find("#alerts-firing + ol > li.alert-card:nth-child(\(Int(index) + 1)) .silence-details summary").click()
                                try await browser.find("#silence-firing-\(Int(index))-comment").type("known burst")
                                try await browser.find("#silence-firing-\(Int(index))-by").type("tester")
                                try await browser.find("#alerts-firing + ol > li.alert-card:nth-child(\(Int(index) + 1)) .silence-submit").click()
                                _ = try await browser.waitFor(".silenced", timeout: .seconds(15))
                                #expect(try await browser.find(".silenced").text().contains("by tester"))
                            }
                            let made = try #require(try await alertmanager.silences().first { $0["createdBy"] as? String == "tester" })
                            #expect(made["comment"] as? String == "known burst")
                            try await expectEventually(timeout: .seconds(10)) {
                                try await alertmanager.alerts().contains { alert in
                                    (alert["labels"] as? [String: String])?["alertname"] == "TestBurst"
                                        && ((alert["status"] as? [String: Any])?["state"] as? String) == "suppressed"
                                }
                            }

                            // And through the API: the new group's alert, silenced for an hour.
                            let silence = """
                                {"matchers": [{"name": "alertname", "value": "CanopyNewException", "isRegex": false, "isEqual": true},
                                              {"name": "aggregation_key", "value": "\(raised.key)", "isRegex": false, "isEqual": true}],
                                 "duration": "1h", "comment": "seen it", "createdBy": "test"}
                                """
                            let viaAPI = try await api.request("/api/v1/silences", method: .POST, body: silence, headers: ["Content-Type": "application/json"])
                            #expect(viaAPI.status == 200, "\(viaAPI.body)")
                            try await expectEventually(timeout: .seconds(10)) {
                                try await alertmanager.alerts().contains { alert in
                                    (alert["labels"] as? [String: String])?["alertname"] == "CanopyNewException"
                                        && ((alert["status"] as? [String: Any])?["state"] as? String) == "suppressed"
                                }
                            }

                            // The burst ends: a minute later the alert resolves, at the hub and in Alertmanager
                            // (which does not notify it, as it is silenced).
                            try await expectEventually(timeout: .seconds(90)) {
                                let body = try await api.get("/api/v1/alerts").body
                                let active = try await alertmanager.alerts().contains { ($0["labels"] as? [String: String])?["alertname"] == "TestBurst" }
                                return !body.contains("TestBurst") && !active
                            }
                            #expect(!webhook.alerts(named: "TestBurst").contains { $0.status == "resolved" }, "silenced: not notified")
                            let alerts = try await alertmanager.alerts()
                            let startsAt = alerts.first { ($0["labels"] as? [String: String])?["alertname"] == "CanopyNewException" }?["startsAt"] as? String ?? ""
                            #expect(!startsAt.isEmpty)
                            return startsAt
                        }
                        // A restart sends nothing again as new: the new-exception alert keeps its start.
                        let notified = webhook.alerts(named: "CanopyNewException").count
                        _ = try await hub { _ in
                            try await Task.sleep(for: .seconds(3))
                            let alerts = try await alertmanager.alerts()
                            let again = alerts.first { ($0["labels"] as? [String: String])?["alertname"] == "CanopyNewException" }
                            #expect(again?["startsAt"] as? String == startsAt)
                            #expect(webhook.alerts(named: "CanopyNewException").count == notified, "no new notification after the restart")
                            return ""
                        }
                        await leaf.stop()
                    }
                }
            }
        }
    }
}
