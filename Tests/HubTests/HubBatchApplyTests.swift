import Foundation
import Logging
import PostgresNIO
import Shared
import Testing

@testable import Hub

/// Several leaves' scrapes applied in one transaction count exactly as the same scrapes applied
/// one by one, and one that cannot be applied never fails the others.
@Suite struct HubBatchApplyTests {
    typealias Group = HubStoreTests.Group
    static let logger = HubStoreTests.logger
    static let time = Date(timeIntervalSince1970: 1_700_000_600)

    static func scrape(_ leaf: String, team: String, epoch: String = "epoch-1", _ groups: [Group], at time: Date = time) -> FederationApply.Scrape {
        FederationApply.Scrape(
            payload: HubStoreTests.payload(team: team, epoch: epoch, groups), leafURL: "http://\(leaf)/api/v1/federate", job: "leaves", time: time)
    }

    /// Two rounds of three leaves, two of them of one team reporting the same group, and one leaf
    /// that lost its data dir between the rounds.
    static let rounds: [[FederationApply.Scrape]] = [
        [
            scrape("a", team: "t1", [Group(key: "g1", total: 3, samples: ["s1"]), Group(key: "g2", total: 1)]),
            scrape("b", team: "t2", [Group(key: "g1", total: 5)]),
            scrape("c", team: "t1", [Group(key: "g1", total: 2)]),
        ],
        [
            scrape("a", team: "t1", [Group(key: "g1", total: 6, samples: ["s1", "s2"]), Group(key: "g2", total: 1)], at: time.addingTimeInterval(75)),
            scrape("b", team: "t2", epoch: "epoch-2", [Group(key: "g1", total: 1), Group(key: "g3", total: 4)], at: time.addingTimeInterval(75)),
            scrape("c", team: "t1", [Group(key: "g1", total: 4)], at: time.addingTimeInterval(75)),
        ],
    ]

    /// Everything the apply writes, as text lines in a stable order.
    static func snapshot(_ client: PostgresClient) async throws -> [String] {
        let queries: [String] = [
            "SELECT team || ' ' || aggregation_key || ' total ' || total || ' ' || status FROM groups",
            "SELECT g.team || ' ' || g.aggregation_key || ' series ' || s.labels::text || ' ' || s.total FROM series s JOIN groups g ON g.id = s.group_id",
            "SELECT l.url || ' ' || g.aggregation_key || ' cursor ' || c.epoch || ' ' || c.last_total FROM cursors c JOIN leaves l ON l.id = c.leaf_id JOIN groups g ON g.id = c.group_id",
            "SELECT l.url || ' series cursor ' || c.epoch || ' ' || c.last_total FROM series_cursors c JOIN leaves l ON l.id = c.leaf_id",
            "SELECT g.team || ' ' || g.aggregation_key || ' minute ' || m.minute::text || ' ' || m.count FROM group_counts m JOIN groups g ON g.id = m.group_id",
            "SELECT g.team || ' ' || g.aggregation_key || ' hour ' || h.count FROM group_counts_hourly h JOIN groups g ON g.id = h.group_id",
            "SELECT g.team || ' ' || g.aggregation_key || ' sample ' || s.uuid FROM samples s JOIN groups g ON g.id = s.group_id",
            "SELECT url || ' epoch ' || epoch || ' services ' || (SELECT string_agg(service, ',') FROM leaf_services WHERE leaf_id = leaves.id) FROM leaves",
            """
            SELECT url || ' scrape ' || outcome || ' ' || coalesce(epoch, '') || ' changed ' || groups_changed || ' added ' || occurrences_added
                   || ' at ' || extract(epoch FROM time)::int8
            FROM scrapes
            """,
        ]
        var lines: [String] = []
        for query in queries {
            for try await line in try await client.query(PostgresQuery(unsafeSQL: query), logger: logger).decode(String.self) { lines.append(line) }
        }
        return lines.sorted()
    }

    @Test func aBatchCountsExactlyAsTheSameScrapesOneByOne() async throws {
        let oneByOne = try await HubStoreTests.withStore { client in
            for round in Self.rounds {
                for scrape in round {
                    _ = try await client.withTransaction(logger: Self.logger) { try await FederationApply(samplesPerGroup: 3).apply([scrape], on: $0, logger: Self.logger) }
                }
            }
            return try await Self.snapshot(client)
        }
        let batched = try await HubStoreTests.withStore { client in
            var results: [[ApplyResult]] = []
            for round in Self.rounds {
                results.append(try await client.withTransaction(logger: Self.logger) { try await FederationApply(samplesPerGroup: 3).apply(round, on: $0, logger: Self.logger) })
            }
            #expect(results.map { $0.map(\.groupsChanged) } == [[2, 1, 1], [1, 2, 1]])
            #expect(results.map { $0.map(\.occurrencesAdded) } == [[4, 5, 2], [3, 4, 2]])
            #expect(results[1].map(\.epochChanged) == [false, true, false])
            #expect(try await HubStoreTests.total(client, team: "t1", key: "g1") == 10)
            #expect(try await HubStoreTests.total(client, team: "t1", key: "g2") == 1)
            #expect(try await HubStoreTests.total(client, team: "t2", key: "g1") == 5)
            #expect(try await HubStoreTests.total(client, team: "t2", key: "g3") == 4)
            return try await Self.snapshot(client)
        }
        #expect(batched == oneByOne)
        // Every scrape has its row in the snapshot log, written with its apply.
        #expect(batched.filter { $0.contains(" scrape applied ") }.count == 6)
        #expect(batched.contains("http://b/api/v1/federate scrape applied epoch-2 changed 2 added 4 at 1700000675"))
    }

    @Test func leavesOfOneTeamOrOneLeafTwiceAreAppliedInLaterRounds() {
        let scrapes = [
            Self.scrape("a", team: "t1", []), Self.scrape("b", team: "t2", []), Self.scrape("c", team: "t1", []),
            Self.scrape("a", team: "t3", []), Self.scrape("d", team: "t4", []),
        ]
        #expect(FederationApply.rounds(scrapes) == [[0, 1, 4], [2, 3]])
        #expect(FederationApply.rounds([]) == [])
    }

    struct Undecodable: Error {}

    @Test func aScrapeThatCannotBeAppliedFailsAloneAndTheOthersAreApplied() async throws {
        try await HubStoreTests.withStore { client in
            var bad = Self.scrape("bad", team: "t2", [Group(key: "broken", total: 9)])
            bad.complete = { _, _ in throw Undecodable() }
            let batch = [Self.scrape("a", team: "t1", [Group(key: "k", total: 2)]), bad, Self.scrape("c", team: "t3", [Group(key: "k", total: 3)])]
            let metrics = HubMetrics()
            let results = await HubIngest.apply(batch, with: FederationApply(samplesPerGroup: 3), client: client, metrics: metrics, logger: Self.logger)
            #expect(results.map { (try? $0.get())?.occurrencesAdded } == [2, nil, 3])
            #expect(try await HubStoreTests.total(client, team: "t1", key: "k") == 2)
            #expect(try await HubStoreTests.total(client, team: "t3", key: "k") == 3)
            #expect(try await HubStoreTests.total(client, team: "t2", key: "broken") == nil)
            var logged: [String] = []
            for try await url in try await client.query("SELECT url FROM scrapes ORDER BY url", logger: Self.logger).decode(String.self) { logged.append(url) }
            #expect(logged == ["http://a/api/v1/federate", "http://c/api/v1/federate"])
            let text = String(decoding: metrics.render(leaves: [], health: [:], databaseConnections: [:]), as: UTF8.self)
            #expect(text.contains("canopy_hub_apply_batches_apart_total 1"), "\(text)")
            #expect(text.contains("canopy_hub_apply_batch_scrapes_count 1"), "\(text)")
        }
    }
}
