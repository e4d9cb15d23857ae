import CanopyTestSupport
import Foundation
import Testing

@testable import Hub

/// Rule files on the hub, from real exceptions through a real leaf: recording rules write
/// series that queries read, alerting rules go pending then firing, failures show in the rule's
/// health, the alerts survive a restart with their start time, and a reload keeps them.
@Suite struct HubRulesTests {
    static let rules = """
        groups:
          - name: canopy
            rules:
              - record: team:canopy_exceptions:total
                expr: sum by (team) (canopy_exceptions_total)
                labels: {source: rules}
              - alert: TooManyExceptions
                expr: sum by (team, env) (canopy_exceptions_total) > 3
                for: 2s
                labels: {severity: page}
                annotations: {summary: '{{ $labels.team }} has {{ $value }} in {{ $labels.env }}', total: '{{ query "sum(canopy_exceptions_total)" | first | value }}'}
              - alert: Broken
                expr: canopy_exceptions_total + on(team) canopy_exceptions_total
              - alert: GroupSeen
                expr: canopy_exceptions_total{env="prod"} > 0
        """

    static func json(_ body: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], "\(body)")
    }

    /// The `/api/v1/rules` rules of the first group, by name.
    static func rules(_ hub: HTTPTestClient) async throws -> [String: [String: Any]] {
        let answer = try json(try await hub.get("/api/v1/rules").body)
        let groups = (answer["data"] as? [String: Any])?["groups"] as? [[String: Any]] ?? []
        let rules = groups.first?["rules"] as? [[String: Any]] ?? []
        return Dictionary(rules.map { ($0["name"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
    }

    static func alerts(_ hub: HTTPTestClient) async throws -> [[String: Any]] {
        let answer = try json(try await hub.get("/api/v1/alerts").body)
        return (answer["data"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
    }

    @Test func rulesRecordAlertAndSurviveARestartAndAReload() async throws {
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            let prod = FakeTarget()
            let staging = FakeTarget()
            prod.report("card declined", total: 5)
            staging.report("card declined", total: 2)
            try await withServices([prod.makeApplication(), staging.makeApplication()]) {
                try await withTemporaryDirectory { directory in
                    let leaf = try HubEndToEndTests.Leaf(
                        team: "payments", service: "checkout", targets: [await prod.address(), await staging.address()],
                        labels: [["env": "prod"], ["env": "staging"]], directory: directory)
                    try await leaf.start()
                    let ruleFile = directory + "/canopy.rules.yml"
                    try Self.rules.write(toFile: ruleFile, atomically: true, encoding: .utf8)
                    var activeAt = ""
                    try await withInProcessHub(
                        database: database, cluster: cluster, leaves: [("payments", leaf.port)], directory: directory, ruleFiles: [ruleFile],
                        evaluationInterval: "1s"
                    ) { base in
                        let hub = HTTPTestClient(base: base)
                        // Pending first, firing once `for` has passed; only prod is over 3.
                        try await expectEventually(timeout: .seconds(20)) {
                            try await Self.alerts(hub).contains { ($0["labels"] as? [String: String])?["env"] == "prod" && $0["state"] as? String == "pending" }
                        }
                        try await expectEventually(timeout: .seconds(20)) {
                            try await Self.alerts(hub).contains {
                                ($0["labels"] as? [String: String])?["alertname"] == "TooManyExceptions" && $0["state"] as? String == "firing"
                            }
                        }
                        let alerts = try await Self.alerts(hub).filter { ($0["labels"] as? [String: String])?["alertname"] == "TooManyExceptions" }
                        #expect(alerts.count == 1)
                        let alert = try #require(alerts.first)
                        #expect(alert["labels"] as? [String: String] == ["alertname": "TooManyExceptions", "team": "payments", "env": "prod", "severity": "page"])
                        #expect(alert["annotations"] as? [String: String] == ["summary": "payments has 5 in prod", "total": "7"])
                        #expect(alert["value"] as? String == "5e+00")
                        activeAt = alert["activeAt"] as? String ?? ""

                        // An alert about one group links to the group's page.
                        let seen = try #require(try await Self.alerts(hub).first { ($0["labels"] as? [String: String])?["alertname"] == "GroupSeen" })
                        let link = try #require((seen["annotations"] as? [String: String])?["canopy_group_url"])
                        #expect(link.hasPrefix("http://localhost:7979/groups/lookup?team=payments&service=checkout&aggregation_key=card%20declined"), "\(link)")
                        let lookup = try await hub.request(String(link.dropFirst("http://localhost:7979".count)), method: .GET)
                        #expect(lookup.status == 303 || lookup.body.contains("card declined"), "\(lookup.status)")

                        // The rules' health: the broken one says why, the others are fine.
                        let rules = try await Self.rules(hub)
                        #expect(rules["team:canopy_exceptions:total"]?["health"] as? String == "ok")
                        #expect(rules["TooManyExceptions"]?["health"] as? String == "ok")
                        #expect(rules["TooManyExceptions"]?["state"] as? String == "firing")
                        #expect(rules["TooManyExceptions"]?["duration"] as? Double == 2)
                        #expect(rules["Broken"]?["health"] as? String == "err")
                        #expect((rules["Broken"]?["lastError"] as? String)?.contains("many-to-many") == true, "\(rules["Broken"] ?? [:])")

                        // What the rules write is queried like any series.
                        let recorded = try await hub.get("/api/v1/query?query=team:canopy_exceptions:total")
                        #expect(recorded.body.contains(#"{"metric":{"__name__":"team:canopy_exceptions:total","source":"rules","team":"payments"},"value":["#), "\(recorded.body)")
                        #expect(recorded.body.contains(#","7"]"#), "\(recorded.body)")
                        let series = try await hub.get("/api/v1/query?query=" + HubQueryTests.formEncoded(#"ALERTS{alertname="TooManyExceptions"}"#))
                        #expect(series.body.contains(#""alertstate":"firing""#), "\(series.body)")
                        #expect(series.body.contains(#""env":"prod""#) && !series.body.contains(#""env":"staging""#))

                        // The groups' metrics, with the broken rule's failures counted.
                        let metrics = try await hub.get("/metrics").body
                        #expect(try promtoolCheckMetrics(metrics).status == 0, "\(metrics)")
                        let group = ruleFile + ";canopy"
                        #expect(metrics.contains("canopy_rule_evaluations_total{rule_group=\"\(group)\"}"), "\(metrics)")
                        let failures = metrics.split(separator: "\n").first { $0.hasPrefix("canopy_rule_evaluation_failures_total{rule_group=\"\(group)\"}") }
                        #expect(failures.map { !$0.hasSuffix(" 0") } == true, "\(failures ?? "")")
                    }

                    // After a restart the alert is still firing since the same time, at once.
                    try await withInProcessHub(
                        database: database, cluster: cluster, leaves: [("payments", leaf.port)], directory: directory, ruleFiles: [ruleFile],
                        evaluationInterval: "1s"
                    ) { base in
                        let hub = HTTPTestClient(base: base)
                        let tooMany = { try await Self.alerts(hub).filter { ($0["labels"] as? [String: String])?["alertname"] == "TooManyExceptions" } }
                        try await expectEventually(timeout: .seconds(10)) {
                            let alerts = try await tooMany()
                            return alerts.count == 1 && alerts[0]["state"] as? String == "firing"
                        }
                        #expect(try await tooMany().first?["activeAt"] as? String == activeAt)

                        // A reload without the broken rule: it goes, the alert stays as it was.
                        try Self.rules.replacingOccurrences(of: "      - alert: Broken\n        expr: canopy_exceptions_total + on(team) canopy_exceptions_total", with: "")
                            .write(toFile: ruleFile, atomically: true, encoding: .utf8)
                        #expect(try await hub.request("/-/reload", method: .POST).status == 200)
                        try await expectEventually(timeout: .seconds(10)) { try await Self.rules(hub)["Broken"] == nil }
                        try await Task.sleep(for: .seconds(2))
                        #expect(try await tooMany().first?["activeAt"] as? String == activeAt)
                        #expect(try await tooMany().first?["state"] as? String == "firing")
                    }
                    await leaf.stop()
                }
            }
        }
    }
}
