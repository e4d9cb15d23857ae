import CanopyTestSupport
import Foundation
import NIOHTTP1
import Periskop
import PostgresNIO
import Testing

@testable import Hub

/// Real targets, real leaves (the `canopy-leaf` binary), the `canopy-hub` binary and a real
/// PostgreSQL: the hub's totals equal what the targets reported, through target, leaf and hub
/// restarts, a leaf that is down for a while and one that lost its data dir.
@Suite(.serialized) struct HubEndToEndTests {
    /// A leaf process on a fixed port, so that the hub finds it again after a restart.
    final class Leaf: @unchecked Sendable {
        let port: Int
        let config: String
        let dataDir: String
        var process: ServerProcess?
        /// More flags (`--web.config.file`), and the client that can ask it whether it is ready.
        var arguments: [String] = []
        lazy var client = HTTPTestClient(base: "http://127.0.0.1:\(port)")

        /// `labels` gives targets labels of their own (by index); `externalLabels` are the leaf's besides `team`.
        init(
            team: String, service: String, targets: [String], labels: [[String: String]] = [], externalLabels: [String: String] = [:], directory: String,
            interval: String = "200ms"
        ) throws {
            port = try freePort()
            config = directory + "/\(team).yml"
            dataDir = directory + "/\(team)-data"
            func flow(_ labels: [String: String]) -> String { "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key): '\($0.value)'" }.joined(separator: ", ") + "}" }
            let groups = targets.enumerated().map { index, target in
                "{targets: ['\(target)'], labels: \(flow(index < labels.count ? labels[index] : [:]))}"
            }
            try """
            global: {scrape_interval: \(interval), scrape_timeout: \(interval), external_labels: \(flow(externalLabels.merging(["team": team]) { $1 }))}
            services:
            - name: \(service)
              static_configs: [\(groups.joined(separator: ", "))]
              scraper: {endpoint: /-/exceptions}
            """.write(toFile: config, atomically: true, encoding: .utf8)
        }

        /// A leaf with a whole config of the test's own (several services, say).
        init(team: String, config text: String, directory: String) throws {
            port = try freePort()
            config = directory + "/\(team).yml"
            dataDir = directory + "/\(team)-data"
            try text.write(toFile: config, atomically: true, encoding: .utf8)
        }

        func start() async throws {
            let process = try ServerProcess("canopy-leaf", ["--config", config, "--data-dir", dataDir, "--listen", "127.0.0.1:\(port)"] + arguments)
            self.process = process
            // Up once it answers.
            let client = self.client
            _ = try await eventually(timeout: .seconds(20)) { (try? await client.get("/-/ready").status) == 200 }
        }

        func stop() async {
            await process?.stop()
            process = nil
        }
    }

    /// `endpoint` is where the leaves are scraped, when not at the hub's default.
    static func hubConfig(
        _ database: TestDatabase, socket: String, port: Int, leaves: [(String, Int)], file: String, interval: String = "200ms", endpoint: String? = nil
    ) throws {
        try """
        global: {scrape_interval: \(interval), scrape_timeout: \(interval)}
        database:
          url: postgres://canopy@/\(database.name)?host=\(socket)&port=\(port)
        leaves:
        \(leaves.map { "- name: \($0.0)\n" + (endpoint.map { "  scraper: {endpoint: \($0)}\n" } ?? "") + "  static_configs: [{targets: ['127.0.0.1:\($0.1)']}]" }.joined(separator: "\n"))
        """.write(toFile: file, atomically: true, encoding: .utf8)
    }

    /// The hub's totals per "team/service/key".
    static func totals(_ hub: HTTPTestClient) async throws -> [String: Int] {
        let page = try await hub.json("/api/v1/groups?limit=500") as? [String: Any]
        let groups = page?["groups"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: groups.map {
            ("\($0["team"] as! String)/\($0["service"] as! String)/\($0["aggregation_key"] as! String)", $0["total"] as! Int)
        })
    }

    @Test func hubTotalsEqualWhatTargetsReportedThroughEveryRestart() async throws {
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            let directory = NSTemporaryDirectory() + "canopy-e2e-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let pay1 = FakeTarget()
            let pay2 = FakeTarget()
            let search = FakeTarget()
            try await withServices([pay1.makeApplication(), pay2.makeApplication(), search.makeApplication()]) {
                let payments = try Leaf(team: "payments", service: "checkout", targets: [await pay1.address(), await pay2.address()], directory: directory)
                let searchLeaf = try Leaf(team: "search", service: "api", targets: [await search.address()], directory: directory)
                let hubFile = directory + "/hub.yml"
                try Self.hubConfig(database, socket: cluster.socketDirectory, port: cluster.port, leaves: [("payments", payments.port), ("search", searchLeaf.port)], file: hubFile)
                pay1.report("card declined", total: 3)
                pay2.report("card declined", total: 4)
                pay2.report("ledger/timeout", total: 1, severity: .warning)
                search.report("card declined", total: 10)
                try await payments.start()
                try await searchLeaf.start()
                var hub = try ServerProcess("canopy-hub", ["--config", hubFile, "--data-dir", directory + "/hub"])
                var client = HTTPTestClient(base: try await hub.base())
                func expectTotals(_ expected: [String: Int], _ comment: Comment) async throws {
                    let reached = try await eventually(timeout: .seconds(30)) { (try? await Self.totals(client)) == expected }
                    let actual = (try? await Self.totals(client)) ?? [:]
                    #expect(reached, "\(comment): expected \(expected), hub has \(actual)")
                }
                try await expectTotals(
                    ["payments/checkout/card declined": 7, "payments/checkout/ledger/timeout": 1, "search/api/card declined": 10], "first scrape")

                pay1.restart()
                pay1.report("card declined", total: 2)
                try await expectTotals(
                    ["payments/checkout/card declined": 9, "payments/checkout/ledger/timeout": 1, "search/api/card declined": 10], "target restart")

                await payments.stop()
                pay2.report("card declined", total: 6)
                try await payments.start()
                try await expectTotals(
                    ["payments/checkout/card declined": 11, "payments/checkout/ledger/timeout": 1, "search/api/card declined": 10], "leaf restart")

                await searchLeaf.stop()
                let downReported = try await eventually(timeout: .seconds(20)) {
                    let leaves = try await client.json("/api/v1/leaves") as? [[String: Any]] ?? []
                    return leaves.contains { $0["leaf"] as? String == "search" && $0["health"] as? String == "down" && $0["stale"] as? Bool == true }
                }
                #expect(downReported, "a leaf that is down shows as down, its numbers stale")
                search.report("card declined", total: 15)
                try await searchLeaf.start()
                try await expectTotals(
                    ["payments/checkout/card declined": 11, "payments/checkout/ledger/timeout": 1, "search/api/card declined": 15], "leaf down for a while")

                #expect(await hub.stop() == 0)
                pay1.report("card declined", total: 5)
                hub = try ServerProcess("canopy-hub", ["--config", hubFile, "--data-dir", directory + "/hub"])
                client = HTTPTestClient(base: try await hub.base())
                try await expectTotals(
                    ["payments/checkout/card declined": 14, "payments/checkout/ledger/timeout": 1, "search/api/card declined": 15], "hub restart")

                // A leaf that lost its data dir starts a new epoch: its first report is a baseline
                // (the 2 occurrences while it was down are not counted), growth after it counts.
                await payments.stop()
                try FileManager.default.removeItem(atPath: payments.dataDir)
                pay2.report("card declined", total: 8)
                try await payments.start()
                let rebased = try await eventually(timeout: .seconds(20)) {
                    let scrapes = try await client.json("/api/v1/scrapes?leaf=payments&limit=5") as? [[String: Any]] ?? []
                    let leaves = try await client.json("/api/v1/leaves") as? [[String: Any]] ?? []
                    return scrapes.contains { $0["outcome"] as? String == "applied" } && leaves.contains { $0["leaf"] as? String == "payments" && $0["health"] as? String == "up" }
                }
                #expect(rebased)
                try await Task.sleep(for: .seconds(1))
                #expect(try await Self.totals(client)["payments/checkout/card declined"] == 14)
                pay2.report("card declined", total: 9)
                try await expectTotals(
                    ["payments/checkout/card declined": 15, "payments/checkout/ledger/timeout": 1, "search/api/card declined": 15], "new epoch")

                // The Periskop API on the hub names services team:service.
                let services = try await client.json("/services/") as? [String]
                #expect(services == ["payments:checkout", "search:api"])
                #expect(await hub.stop() == 0)
                await payments.stop()
                await searchLeaf.stop()
            }
        }
    }

    @Test func hubKilledWhileApplyingAScrapeLosesNothingAndAddsNothingTwice() async throws {
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            let directory = NSTemporaryDirectory() + "canopy-e2e-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let target = FakeTarget()
            let groups = 20_000
            target.payload.aggregatedErrors = (0..<groups).map { index in
                AggregatedError(
                    aggregationKey: "Error@\(index)", totalCount: index % 7 + 1, severity: .error, createdAt: Date(),
                    latestErrors: [
                        ErrorWithContext(error: ErrorInstance(className: "Error", message: "failure \(index)", stacktrace: ["a.swift:\(index)"]), uuid: "u\(index)", timestamp: Date())
                    ])
            }
            let expected = (0..<groups).reduce(0) { $0 + $1 % 7 + 1 }
            try await withServices([target.makeApplication()]) {
                let leaf = try Leaf(team: "bulk", service: "api", targets: [await target.address()], directory: directory, interval: "2s")
                try await leaf.start()
                let hubFile = directory + "/hub.yml"
                try Self.hubConfig(database, socket: cluster.socketDirectory, port: cluster.port, leaves: [("bulk", leaf.port)], file: hubFile, interval: "5s")
                let hub = try ServerProcess("canopy-hub", ["--config", hubFile, "--data-dir", directory + "/hub", "--log-level", "debug"])
                _ = try await hub.base()  // migrated and serving
                // Wait until the hub is inside the transaction that applies the scrape, then kill it without warning.
                try await database.withClient { client in
                    let inside = try await eventually(timeout: .seconds(60)) {
                        let rows = try await client.query(
                            """
                            SELECT count(*)::int8 FROM pg_stat_activity
                            WHERE datname = \(database.name) AND xact_start IS NOT NULL AND pid <> pg_backend_pid()
                              AND (query ILIKE '%INSERT INTO groups%' OR query ILIKE '%INTO cursors%' OR query ILIKE '%INTO samples%' OR query ILIKE '%FROM cursors%')
                            """)
                        return try await rows.collect().first?.decode(Int64.self) ?? 0 > 0
                    }
                    #expect(inside, "the hub never applied a scrape: \(hub.log.suffix(3000))")
                    await hub.stop(signal: SIGKILL)
                    try await Task.sleep(for: .milliseconds(500))
                    let rows = try await client.query("SELECT count(*)::int8, coalesce(sum(total), 0)::int8 FROM groups")
                    let (count, sum) = try await rows.collect().first!.decode((Int64, Int64).self)
                    #expect((count == 0 && sum == 0) || (count == Int64(groups) && sum == Int64(expected)), "half a scrape was applied: \(count) groups, \(sum) occurrences")
                }
                let again = try ServerProcess("canopy-hub", ["--config", hubFile, "--data-dir", directory + "/hub"])
                try await database.withClient { client in
                    let exact = try await eventually(timeout: .seconds(90)) {
                        let rows = try await client.query("SELECT count(*)::int8, coalesce(sum(total), 0)::int8 FROM groups")
                        let (count, sum) = try await rows.collect().first!.decode((Int64, Int64).self)
                        return count == Int64(groups) && sum == Int64(expected)
                    }
                    #expect(exact)
                    // Later scrapes of the same counts add nothing.
                    try await Task.sleep(for: .seconds(1))
                    let sum = try await client.query("SELECT coalesce(sum(total), 0)::int8 FROM groups").collect().first!.decode(Int64.self)
                    #expect(sum == Int64(expected))
                }
                #expect(await again.stop() == 0)
                await leaf.stop()
            }
        }
    }
}
