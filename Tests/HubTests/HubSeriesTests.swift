import CanopyTestSupport
import Foundation
import Logging
import Periskop
import PostgresNIO
import Shared
import Testing

@testable import Hub

/// Series at the hub: per (leaf, series) cursors under the group's counting rules, the leaf's
/// external labels added, and a group's total always the sum of its series' totals.
@Suite struct HubSeriesTests {
    static let logger = Logger(label: "hub-series-test")

    static func payload(
        epoch: String = "e1", leafLabels: Labels = ["team": "payments", "region": "eu"], _ groups: [(key: String, series: [(Labels, Int)])]
    ) -> FederationPayload {
        let federated = groups.map { group in
            FederatedGroup(
                aggregationKey: group.key, className: "E", message: "m", severity: .error, total: group.series.reduce(0) { $0 + $1.1 },
                firstSeen: Date(timeIntervalSince1970: 1_700_000_000), lastSeen: Date(timeIntervalSince1970: 1_700_000_100), instances: 1, samples: [],
                series: group.series.map { ExceptionSeries(labels: $0.0, total: $0.1) })
        }
        return FederationPayload(
            leaf: LeafIdentity(name: "leaf", epoch: epoch, startedAt: Date(timeIntervalSince1970: 1_700_000_000), externalLabels: leafLabels),
            services: [FederatedService(name: "api", targetsTotal: 2, targetsUp: 2, groups: federated)])
    }

    /// Every series of the store as "labels-json: total", and each group's total beside the sum of its series.
    static func series(_ client: PostgresClient) async throws -> (series: [String: Int64], groupsMatch: Bool) {
        var result: [String: Int64] = [:]
        let rows = try await client.query("SELECT g.aggregation_key, s.labels::text, s.total FROM series s JOIN groups g ON g.id = s.group_id", logger: logger)
        for try await (key, labels, total) in rows.decode((String, String, Int64).self) { result["\(key) \(labels)"] = total }
        let mismatches = try await client.query(
            "SELECT count(*)::int8 FROM groups g WHERE g.total <> (SELECT coalesce(sum(total), 0) FROM series s WHERE s.group_id = g.id)", logger: logger
        ).collect().first!.decode(Int64.self)
        return (result, mismatches == 0)
    }

    static func history(_ client: PostgresClient) async throws -> Int64 {
        try await client.query("SELECT coalesce(sum(count), 0)::int8 FROM series_counts", logger: logger).collect().first!.decode(Int64.self)
    }

    @Test func seriesCountLikeGroupsWithTheLeafsLabels() async throws {
        try await HubStoreTests.withStore { client in
            try await HubStoreTests.apply(client, Self.payload([("k", [(["env": "prod"], 5), (["env": "staging"], 2)])]))
            try await HubStoreTests.apply(client, Self.payload([("k", [(["env": "prod"], 8), (["env": "staging"], 2)])]))
            try await HubStoreTests.apply(client, Self.payload([("k", [(["env": "prod"], 8), (["env": "staging"], 2)])]))  // the same: nothing
            // A fall within the epoch (a leaf restored from an older save) adds nothing: the group grew
            // by 1, so the series do, though staging alone reports 2 more.
            try await HubStoreTests.apply(client, Self.payload([("k", [(["env": "prod"], 7), (["env": "staging"], 4)])]))
            let (series, match) = try await Self.series(client)
            #expect(series == [#"k {"env": "prod", "region": "eu"}"#: 8, #"k {"env": "staging", "region": "eu"}"#: 3])
            #expect(match, "every group's total is the sum of its series")
            #expect(try await HubStoreTests.total(client, key: "k") == 11)
            #expect(try await Self.history(client) == 11)

            // A new epoch is a baseline for a group the hub knew, its new label sets too; then growth counts.
            try await HubStoreTests.apply(client, Self.payload(epoch: "e2", [("k", [(["env": "prod"], 1), (["env": "dev"], 4)])]))
            try await HubStoreTests.apply(
                client, Self.payload(epoch: "e2", [("k", [(["env": "prod"], 3), (["env": "dev"], 4)])]).completing())
            try await HubStoreTests.apply(client, Self.payload(epoch: "e2", [("k", [(["env": "prod"], 5), (["env": "dev"], 4)])]))
            let after = try await Self.series(client)
            #expect(after.groupsMatch)
            #expect(after.series[#"k {"env": "prod", "region": "eu"}"#] == 12)
            #expect(after.series[#"k {"env": "dev", "region": "eu"}"#] == 0)
            #expect(try await Self.history(client) == 15)
            #expect(try await HubStoreTests.total(client, key: "k") == (after.series.values.reduce(0, +)))
        }
    }

    /// A group counted before series (migration 5 gave it one series without labels) keeps its
    /// total when its leaf first reports series: only what grew since is added, to the series.
    @Test func aGroupCountedBeforeSeriesIsNotCountedTwice() async throws {
        try await HubStoreTests.withStore { client in
            var old = Self.payload([("k", [])])
            old.services[0].groups[0].total = 6  // a leaf without series
            old.services[0].groups[0].series = []
            try await HubStoreTests.apply(client, old)
            // As migration 5 leaves it: the leaf's series cursors are gone, its group cursor stays.
            try await client.query("DELETE FROM series_cursors", logger: Self.logger)
            try await client.query("UPDATE series SET labels = '{}'::jsonb", logger: Self.logger)
            try await HubStoreTests.apply(client, Self.payload([("k", [(["env": "prod"], 6), (["env": "staging"], 1)])]))
            let (series, match) = try await Self.series(client)
            #expect(try await HubStoreTests.total(client, key: "k") == 7)
            #expect(match)
            #expect(series[#"k {}"#] == 6)
            #expect(series.values.reduce(0, +) == 7)
        }
    }

    /// Real targets with their own labels, a real leaf with an external label, the real hub:
    /// the hub's series are the targets' label sets, with the counts the targets reported.
    @Test func targetLabelsReachTheHubAsSeries() async throws {
        let prod = FakeTarget()
        let staging = FakeTarget()
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            try await withServices([prod.makeApplication(), staging.makeApplication()]) {
                try await withTemporaryDirectory { directory in
                    prod.report("card declined", total: 5)
                    staging.report("card declined", total: 2)
                    let leaf = try HubEndToEndTests.Leaf(
                        team: "payments", service: "checkout", targets: [await prod.address(), await staging.address()],
                        labels: [["env": "prod"], ["env": "staging"]], externalLabels: ["region": "eu"], directory: directory)
                    try await leaf.start()
                    let hubFile = directory + "/hub.yml"
                    try HubEndToEndTests.hubConfig(database, socket: cluster.socketDirectory, port: cluster.port, leaves: [("payments", leaf.port)], file: hubFile)
                    let hub = try ServerProcess("canopy-hub", ["--config", hubFile, "--data-dir", directory + "/hub"])
                    let api = HTTPTestClient(base: try await hub.base())
                    let counted = try await eventually(timeout: .seconds(30)) { (try? await HubEndToEndTests.totals(api))?["payments/checkout/card declined"] == 7 }
                    #expect(counted)
                    prod.report("card declined", total: 9)
                    let grown = try await eventually(timeout: .seconds(30)) { (try? await HubEndToEndTests.totals(api))?["payments/checkout/card declined"] == 11 }
                    #expect(grown)
                    await hub.stop()
                    await leaf.stop()
                    try await database.withClient { client in
                        let (series, match) = try await Self.series(client)
                        #expect(series == [#"card declined {"env": "prod", "region": "eu"}"#: 9, #"card declined {"env": "staging", "region": "eu"}"#: 2])
                        #expect(match)
                    }
                }
            }
        }
    }
}

extension FederationPayload {
    func completing() -> FederationPayload {
        var payload = self
        payload.complete = true
        return payload
    }
}
