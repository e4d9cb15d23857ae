import CanopyTestSupport
import Foundation
import Logging
import PostgresNIO
import PromQL
import Rules
import Testing

@testable import Hub

/// The rules shipped in `deploy/rules/canopy.rules.yml`, evaluated over a day of history written
/// into the hub's tables: each alert fires for the group it is about and for no other, and an
/// ignored group raises nothing.
@Suite struct HubShippedRulesTests {
    static let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy/rules/canopy.rules.yml").standardized.path
    static let minute = HubCounterQueryTests.minute

    /// `count` occurrences each minute over the last day, and `burst` each of the last 5 minutes.
    static func steady(_ team: String, _ key: String, now: Timestamp, count: Int64, burst: Int64? = nil, days: Int = 1) -> HubCounterQueryTests.Series {
        let last = now / minute * minute
        var minutes: [Timestamp: Int64] = [:]
        for index in 1...(days * 1440) { minutes[last - Timestamp(index) * minute] = index <= 5 ? (burst ?? count) : count }
        return HubCounterQueryTests.Series(team: team, key: key, env: "prod", minutes: minutes, older: 0)
    }

    @Test func eachShippedAlertFiresForItsGroupAndNoOther() async throws {
        #expect(try promtool(["check", "rules", Self.file]).status == 0)
        let rules = try RuleFile.load(Self.file).groups.flatMap(\.rules)
        try await HubStoreTests.withStore { client in
            let now = QueryTime.timestamp(Date())
            let series = [
                Self.steady("payments", "bursting", now: now, count: 1, burst: 30),
                Self.steady("payments", "ignored-bursting", now: now, count: 1, burst: 30),
                Self.steady("payments", "regressed", now: now, count: 1),
                Self.steady("search", "busy", now: now, count: 20),
                HubCounterQueryTests.Series(
                    team: "payments", key: "new", env: "prod", minutes: [now / Self.minute * Self.minute - 3 * Self.minute: 2], older: 0),
            ]
            try await HubCounterQueryTests.store(series, client, now: now)
            try await client.query("UPDATE groups SET status = 'ignored' WHERE aggregation_key = 'ignored-bursting'", logger: HubCounterQueryTests.logger)
            try await client.query("UPDATE groups SET status = 'regressed' WHERE aggregation_key = 'regressed'", logger: HubCounterQueryTests.logger)
            // payments/api deployed 2.0 ten minutes ago, after 1.0: only the group first seen since
            // is new in it. search/api was only ever seen running 1.0: nothing is new in a deploy there.
            try await client.query(
                """
                INSERT INTO deploys (team, service, deploy_id, at, version, label, instances) VALUES
                    ('payments', 'api', 'version:1.0', now() - interval '2 days', '1.0', 'version', 3),
                    ('payments', 'api', 'version:2.0', now() - interval '10 minutes', '2.0', 'version', 3),
                    ('search', 'api', 'version:1.0', now() - interval '1 day', '1.0', 'version', 1)
                """, logger: HubCounterQueryTests.logger)
            let source = HubSeriesSource(client: client, logger: HubCounterQueryTests.logger) {
                [LeafReport(leaf: "payments-leaf", url: "", team: "payments", name: "", epoch: "", health: .down, lastError: nil, lastScrape: nil, lastScrapeDurationSeconds: 0, lastApplied: nil, stale: true)]
            }
            var fired: [String: [String]] = [:]
            for rule in rules {
                guard case .vector(let elements) = try await QueryEngine().instant(rule.expr, at: now, source: source) else { throw Unexpected() }
                fired[rule.name] = elements.map { $0.labels["aggregation_key"] ?? $0.labels["leaf"] ?? $0.labels["team"] ?? "" }.sorted()
            }
            #expect(fired["CanopyNewException"] == ["new"])
            #expect(fired["CanopyRegression"] == ["regressed"])
            #expect(fired["CanopyNewGroupInNewestDeploy"] == ["new"])
            #expect(fired["CanopyExceptionBurst"] == ["bursting"], "not the ignored one, not the steady busy one")
            #expect(fired["CanopyTeamExceptionsHigh"] == ["search"], "payments is under 1,000 without its ignored group")
            #expect(fired["CanopyLeafDown"] == ["payments-leaf"] && fired["CanopyLeafStale"] == ["payments-leaf"])
        }
    }
}
