import CanopyTestSupport
import Foundation
import Testing

@testable import Hub

/// Deploys from real targets through a real leaf (the `canopy-leaf` binary) to the hub and its
/// PostgreSQL: a service whose targets go from version 1.0 to 1.1 (a static target label) shows
/// two deploys and the group that appeared after as new in 1.1, in the API, on the deploys page
/// and on the group's page; without a version label, a restart with a new target_uuid is a deploy.
@Suite(.serialized) struct HubDeploysEndToEndTests {
    static let path = "/api/v1/teams/payments/services/checkout/deploys"

    /// The hub's deploys of payments/checkout, newest first, as (version or "restart", new groups).
    static func deploys(_ hub: HTTPTestClient) async throws -> [(version: String, instances: Int, newGroups: [String])] {
        let answer = try await hub.json(path) as? [String: Any]
        return (answer?["deploys"] as? [[String: Any]] ?? []).map { deploy in
            let groups = (deploy["new_groups"] as? [[String: Any]] ?? []).compactMap { $0["aggregation_key"] as? String }
            return (deploy["version"] as? String ?? "restart", deploy["instances"] as? Int ?? -1, groups)
        }
    }

    static func leafConfig(_ target: String, version: String?) -> String {
        """
        global: {scrape_interval: 200ms, scrape_timeout: 200ms, external_labels: {team: payments}}
        services:
        - name: checkout
          static_configs: [{targets: ['\(target)'], labels: {\(version.map { "version: '\($0)'" } ?? "")}}]
          scraper: {endpoint: /-/exceptions}
        """
    }

    @Test func aNewVersionWithANewGroupShowsTheGroupAsNewInThatDeploy() async throws {
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            let old = FakeTarget()
            let new = FakeTarget()
            try await withServices([old.makeApplication(), new.makeApplication()]) {
                try await withTemporaryDirectory { directory in
                    old.report("card declined", total: 3)
                    let leaf = try HubEndToEndTests.Leaf(team: "payments", config: Self.leafConfig(await old.address(), version: "1.0"), directory: directory)
                    try await leaf.start()
                    try await withInProcessHub(database: database, cluster: cluster, leaves: [("payments", leaf.port)], directory: directory) { base in
                        let hub = HTTPTestClient(base: base)
                        let first = try await eventually(timeout: .seconds(30)) { (try? await Self.deploys(hub))?.map(\.version) == ["1.0"] }
                        try #require(first, "the hub has 1.0 from the leaf's first scrape")

                        // 1.1 replaces 1.0: the target with the new version takes the old one's place.
                        new.report("card declined", total: 1)
                        try Self.leafConfig(await new.address(), version: "1.1").write(toFile: leaf.config, atomically: true, encoding: .utf8)
                        #expect(try await leaf.client.request("/-/reload", method: .POST).status == 200)
                        let second = try await eventually(timeout: .seconds(30)) { try await Self.deploys(hub).map(\.version) == ["1.1", "1.0"] }
                        try #require(second, "the hub has 1.1 after 1.0")
                        // The leaf serves the same deploys.
                        let leafDeploys = try await leaf.client.json("/api/v1/services/checkout/deploys") as? [[String: Any]] ?? []
                        #expect(leafDeploys.compactMap { $0["version"] as? String } == ["1.1", "1.0"])

                        // A group that appears after the deploy is new in 1.1, and only there.
                        new.report("ledger/timeout", total: 2)
                        let attributed = try await eventually(timeout: .seconds(30)) {
                            try await Self.deploys(hub).map(\.newGroups) == [["ledger/timeout"], ["card declined"]]
                        }
                        let newGroups = try await Self.deploys(hub).map(\.newGroups)
                        #expect(attributed, "new groups per deploy: \(newGroups)")
                        #expect(try await Self.deploys(hub).map(\.instances) == [1, 1])

                        // The deploys page shows both, the new group under 1.1; the overview links to it.
                        let page = try await hub.get("/teams/payments/services/checkout/deploys")
                        #expect(page.status == 200)
                        let sections = page.body.components(separatedBy: "<section class=\"deploy\"").dropFirst()
                        #expect(sections.count == 2)
                        #expect(sections.first?.contains("version 1.1") == true && sections.first?.contains("ledger/") == true)
                        #expect(sections.last?.contains("version 1.0") == true && sections.last?.contains("ledger") == false)
                        #expect(try await hub.get("/").body.contains("href=\"/teams/payments/services/checkout/deploys\""))

                        // The group's page names the versions it occurs in.
                        let groups = (try await hub.json("/api/v1/groups?limit=10") as? [String: Any])?["groups"] as? [[String: Any]] ?? []
                        let id = try #require(groups.first { $0["aggregation_key"] as? String == "card declined" }?["id"] as? Int)
                        let groupPage = try await hub.get("/groups/\(id)")
                        #expect(groupPage.status == 200)
                        let versions = groupPage.body.components(separatedBy: "class=\"group-versions\">").last?.components(separatedBy: "</dd>").first ?? ""
                        #expect(versions.hasPrefix("1.0, 1.1"), "versions: \(versions)")
                    }
                    await leaf.stop()
                }
            }
        }
    }

    @Test func withoutAVersionLabelARestartWithANewTargetUUIDIsADeploy() async throws {
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            let target = FakeTarget()
            try await withServices([target.makeApplication()]) {
                try await withTemporaryDirectory { directory in
                    target.report("card declined", total: 3)
                    let leaf = try HubEndToEndTests.Leaf(team: "payments", config: Self.leafConfig(await target.address(), version: nil), directory: directory)
                    try await leaf.start()
                    try await withInProcessHub(database: database, cluster: cluster, leaves: [("payments", leaf.port)], directory: directory) { base in
                        let hub = HTTPTestClient(base: base)
                        let seen = try await eventually(timeout: .seconds(30)) { (try? await HubEndToEndTests.totals(hub))?["payments/checkout/card declined"] == 3 }
                        try #require(seen)
                        #expect(try await Self.deploys(hub).isEmpty, "the leaf's first sight of a process is no deploy")

                        target.restart()
                        target.report("after restart", total: 1)
                        let restarted = try await eventually(timeout: .seconds(30)) { try await Self.deploys(hub).count == 1 }
                        try #require(restarted)
                        let deploy = try #require(try await Self.deploys(hub).first)
                        #expect(deploy.version == "restart" && deploy.instances == 1 && deploy.newGroups == ["after restart"])
                        let page = try await hub.get("/teams/payments/services/checkout/deploys")
                        #expect(page.body.contains("<h2 class=\"deploy-title\">Restart</h2>"))
                    }
                    await leaf.stop()
                }
            }
        }
    }
}
