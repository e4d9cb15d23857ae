import CanopyTestSupport
import Foundation
import Shared
import Testing

@testable import Hub

/// Prometheus's series and label API on the hub, with real targets, a real leaf and the hub in
/// process, checked with our client and with promtool.
@Suite struct HubPrometheusAPITests {
    @Test func seriesAndLabelsAnswerLikePrometheus() async throws {
        let prod = FakeTarget()
        let staging = FakeTarget()
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            try await withServices([prod.makeApplication(), staging.makeApplication()]) {
                try await withTemporaryDirectory { directory in
                    prod.report("card declined", total: 5)
                    prod.report("ledger/timeout", total: 1, severity: .warning)
                    staging.report("card declined", total: 2)
                    let leaf = try HubEndToEndTests.Leaf(
                        team: "payments", service: "checkout", targets: [await prod.address(), await staging.address()],
                        labels: [["env": "prod"], ["env": "staging"]], externalLabels: ["region": "eu"], directory: directory)
                    try await leaf.start()
                    try await withInProcessHub(database: database, cluster: cluster, leafPort: leaf.port, directory: directory) { base in
                        let hub = HTTPTestClient(base: base)
                        try await expectEventually(timeout: .seconds(20)) { (try? await HubEndToEndTests.totals(hub))?.count == 2 }
                        try await Self.check(hub, base: base)
                    }
                    await leaf.stop()
                }
            }
        }
    }

    static func check(_ hub: HTTPTestClient, base: String) async throws {
        func data(_ path: String) async throws -> Any? {
            let answer = try #require(try await hub.json(path) as? [String: Any])
            #expect(answer["status"] as? String == "success", "\(path)")
            return answer["data"]
        }
        let prodCard: [String: String] = [
            "__name__": "canopy_exceptions_total", "team": "payments", "service": "checkout", "aggregation_key": "card declined", "class": "TestError",
            "severity": "error", "env": "prod", "region": "eu",
        ]
        #expect(try await data(#"/api/v1/series?match%5B%5D=canopy_exceptions_total%7Benv%3D%22prod%22,aggregation_key%3D~%22card.*%22%7D"#) as? [[String: String]] == [prodCard])
        let all = try #require(try await data("/api/v1/series?match%5B%5D=canopy_exceptions_total%7Bteam%3D%22payments%22%7D") as? [[String: String]])
        #expect(all.count == 3)
        // Without a name, every metric of the team: 3 counters, 3 gauges for each of 2 groups, the
        // service's 2 target gauges and the leaf's up; no deploy was seen (the targets have no
        // version label and did not restart), so no group is new in one.
        let everything = try #require(try await data("/api/v1/series?match%5B%5D=%7Bteam%3D%22payments%22%7D") as? [[String: String]])
        let names: Set<String> = Set(everything.compactMap { $0["__name__"] })
        let metrics = HubSeriesSource.metadata.map(\.name).filter { $0 != HubSeriesSource.newInDeploy }
        #expect(names == Set(metrics))
        let expected = 3 + 2 * 3 + 2 + 1
        #expect(everything.count == expected, "\(everything)")
        let status: [String: String] = [
            "__name__": "canopy_group_status", "team": "payments", "service": "checkout", "aggregation_key": "ledger/timeout", "class": "TestError",
            "severity": "warning", "status": "unresolved",
        ]
        // With the group's bug fingerprint (16 hex digits), so that rules can count a bug once.
        #expect(everything.contains { $0.filter { $0.key != "fingerprint" } == status && $0["fingerprint"]?.count == 16 }, "\(everything)")
        #expect(try await data("/api/v1/series?match%5B%5D=canopy_exceptions_total%7Bseverity%3D%22warning%22%7D") as? [[String: String]] == [
            prodCard.merging(["aggregation_key": "ledger/timeout", "severity": "warning"]) { $1 }
        ])
        #expect(try await data("/api/v1/series?match%5B%5D=up") as? [[String: String]] == [])
        #expect(try await data("/api/v1/series?match%5B%5D=%7Bteam%3D%22payments%22,env!~%22prod%22,__name__%3D~%22canopy_exc.*%22%7D") as? [[String: String]] == all.filter { $0["env"] == "staging" })
        #expect(
            try await data("/api/v1/labels") as? [String] == ["__name__", "aggregation_key", "class", "env", "fingerprint", "leaf", "region", "service", "severity", "status", "team"])
        #expect(try await data("/api/v1/label/env/values") as? [String] == ["prod", "staging"])
        #expect(try await data("/api/v1/label/__name__/values") as? [String] == metrics.sorted())
        #expect(try await data("/api/v1/label/aggregation_key/values?match%5B%5D=%7Benv%3D%22staging%22%7D") as? [String] == ["card declined"])
        #expect(try await data("/api/v1/series?match%5B%5D=%7Benv%3D%22prod%22%7D&end=1") as? [[String: String]] == [], "nothing was seen by 1970")
        let posted = try await hub.request(
            "/api/v1/series", method: .POST, body: "match%5B%5D=%7Benv%3D%22staging%22%7D&start=0", headers: ["Content-Type": "application/x-www-form-urlencoded"])
        #expect(posted.status == 200)
        #expect(posted.body.contains(#""env":"staging""#) && !posted.body.contains(#""env":"prod""#))

        // Bad input: Prometheus's error shape and type, with the parser's position.
        let bad = try await hub.get("/api/v1/series?match%5B%5D=%7Benv%3D%7D")
        #expect(bad.status == 400)
        let error = try #require(try JSONSerialization.jsonObject(with: Data(bad.body.utf8)) as? [String: String])
        #expect(error["status"] == "error" && error["errorType"] == "bad_data")
        #expect(error["error"]?.contains("1:6: parse error") == true, "\(error)")
        #expect(try await hub.get("/api/v1/series").body.contains("no match[] parameter provided"))
        #expect(try await hub.get("/api/v1/series?match%5B%5D=up&start=soon").body.contains(#"invalid parameter \"start\""#))
        #expect(try await hub.get("/api/v1/series?match%5B%5D=rate(up%5B5m%5D)").body.contains("is not a series selector"))
        #expect((try await data("/api/v1/status/buildinfo") as? [String: String])?["version"] == CanopyVersion.current)
        #expect((try await data("/api/v1/metadata") as? [String: Any])?["canopy_exceptions_total"] != nil)
        #expect(try await data("/api/v1/query_exemplars?query=up&start=0&end=1") as? [Any] != nil)

        // promtool, as an operator would use it.
        let series = try promtool(["query", "series", "--match", #"canopy_exceptions_total{env="staging"}"#, base])
        #expect(series.status == 0, "\(series.output)")
        #expect(series.output.contains(#"env="staging""#) && series.output.contains(#"aggregation_key="card declined""#), "\(series.output)")
        let values = try promtool(["query", "labels", base, "env"])
        #expect(values.status == 0 && values.output.split(separator: "\n") == ["prod", "staging"], "\(values.output)")
    }
}
