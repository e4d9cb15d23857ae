import CanopyTestSupport
import Foundation
import Testing

/// A team without the hub: its own Prometheus scraping its leaf's `/metrics` loads the shipped
/// rules file unchanged and alerts on a new exception, and the alert rule of Periskop's README
/// (a fixture, verbatim) matches the leaf's `periskop_error_occurrences`.
@Suite struct TeamPrometheusRulesTests {
    static let shipped = HubShippedRulesTests.file
    static let periskopRule = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/periskop/configs/server-readme_prometheus-alert-rule.yaml").standardized.path

    /// The Prometheus alerts by name and state.
    static func alerts(_ prometheus: PrometheusServer) async throws -> [(name: String, state: String, labels: [String: String])] {
        let body = try await HTTPTestClient(base: prometheus.base).get("/api/v1/alerts").body
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        let alerts = (answer["data"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
        return alerts.map { alert in
            let labels = alert["labels"] as? [String: String] ?? [:]
            return (labels["alertname"] ?? "", alert["state"] as? String ?? "", labels)
        }
    }

    @Test func aTeamsPrometheusAlertsFromTheLeafWithTheSameRules() async throws {
        #expect(FileManager.default.fileExists(atPath: Self.periskopRule), "the Periskop README rule fixture")
        let target = FakeTarget()
        target.report("card declined", total: 1_500)
        try await withServices([target.makeApplication()]) {
            try await withTemporaryDirectory { directory in
                let leaf = try HubEndToEndTests.Leaf(team: "payments", service: "checkout", targets: [await target.address()], directory: directory)
                try await leaf.start()
                let prometheus = try await PrometheusServer.start(
                    dataDirectory: directory + "/prometheus/data",
                    config: """
                        global: {scrape_interval: 1s, evaluation_interval: 1s}
                        rule_files: ['\(Self.shipped)', '\(Self.periskopRule)']
                        scrape_configs:
                        - job_name: leaf
                          static_configs: [{targets: ['127.0.0.1:\(leaf.port)']}]
                        """)
                defer { prometheus.stop() }
                // The shipped rule fires for the new group, with the group's labels.
                try await expectEventually(timeout: .seconds(30)) {
                    try await Self.alerts(prometheus).contains { $0.name == "CanopyNewException" && $0.state == "firing" }
                }
                let new = try #require(try await Self.alerts(prometheus).first { $0.name == "CanopyNewException" })
                #expect(new.labels["team"] == "payments" && new.labels["service"] == "checkout" && new.labels["aggregation_key"] == "card declined")
                // Periskop's rule matches the leaf's series: 1,500 errors is over its 1,000, pending for its 5 minutes.
                try await expectEventually(timeout: .seconds(30)) {
                    try await Self.alerts(prometheus).contains { $0.name == "TooManyErrors" && $0.state == "pending" }
                }
                let periskop = try #require(try await Self.alerts(prometheus).first { $0.name == "TooManyErrors" })
                #expect(periskop.labels["service_name"] == "checkout" && periskop.labels["aggregation_key"] == "card declined")
                await leaf.stop()
            }
        }
    }
}
