import CanopyTestSupport
import Foundation
import Testing

@testable import Hub

/// Two `canopy-hub` processes on one PostgreSQL, scraping the same leaf (the binary): both count
/// exactly (each occurrence once), one leads and evaluates the rules, the other serves the
/// leader's alerts; SIGKILL the leader and the other takes over within two evaluation intervals,
/// with the alerts' state as the leader left it.
@Suite(.serialized) struct HubHighAvailabilityTests {
    static let evaluationInterval = 2.0

    final class Hub: @unchecked Sendable {
        let port: Int
        let directory: String
        var process: ServerProcess?
        var client: HTTPTestClient { HTTPTestClient(base: "http://127.0.0.1:\(port)") }
        var identity: String { "http://127.0.0.1:\(port)" }

        init(directory: String) throws {
            port = try freePort()
            self.directory = directory
        }

        func start(config: String) async throws {
            let process = try ServerProcess(
                "canopy-hub", ["--config", config, "--data-dir", directory, "--listen", "127.0.0.1:\(port)", "--web.external-url", identity])
            self.process = process
            _ = try await process.base()
        }

        func metric(_ name: String) async throws -> Double? {
            let text = try await client.get("/metrics").body
            return text.split(separator: "\n").first { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
                .flatMap { Double($0.split(separator: " ").last ?? "") }
        }

        func leads() async -> Bool { (try? await metric("canopy_hub_leader")) == 1 }

        func ready() async throws -> String { try await client.get("/-/ready").body }

        func evaluations() async throws -> Double { try await metric("canopy_rule_evaluations_total") ?? 0 }

        /// The alert "Always" as /api/v1/alerts gives it: its state and when it became active.
        func alwaysAlert() async throws -> (state: String, activeAt: String)? {
            let body = try await client.json("/api/v1/alerts") as? [String: Any]
            let alerts = (body?["data"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
            guard let alert = alerts.first(where: { ($0["labels"] as? [String: String])?["alertname"] == "Always" }) else { return nil }
            return (alert["state"] as? String ?? "", alert["activeAt"] as? String ?? "")
        }
    }

    @Test func twoHubsCountExactlyOneLeadsAndTheOtherTakesOverWhenItIsKilled() async throws {
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            let directory = NSTemporaryDirectory() + "canopy-ha-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let rules = directory + "/always.yml"
            try """
            groups:
            - name: ha
              rules:
              - alert: Always
                expr: vector(1)
                for: 4s
            """.write(toFile: rules, atomically: true, encoding: .utf8)
            let one = FakeTarget()
            let two = FakeTarget()
            try await withServices([one.makeApplication(), two.makeApplication()]) {
                let leaf = try HubEndToEndTests.Leaf(team: "payments", service: "checkout", targets: [await one.address(), await two.address()], directory: directory)
                let config = directory + "/hub.yml"
                try """
                global: {scrape_interval: 200ms, scrape_timeout: 200ms, evaluation_interval: \(Int(Self.evaluationInterval))s}
                database:
                  url: postgres://canopy@/\(database.name)?host=\(cluster.socketDirectory)&port=\(cluster.port)
                leaves:
                - name: payments
                  static_configs: [{targets: ['127.0.0.1:\(leaf.port)']}]
                rule_files: ['\(rules)']
                """.write(toFile: config, atomically: true, encoding: .utf8)
                one.report("card declined", total: 3)
                two.report("card declined", total: 4)
                try await leaf.start()
                defer { Task { await leaf.stop() } }

                let a = try Hub(directory: directory + "/a")
                let b = try Hub(directory: directory + "/b")
                try await a.start(config: config)
                #expect(try await eventually(timeout: .seconds(10)) { await a.leads() }, "the only hub leads")
                try await b.start(config: config)

                // Both count exactly, scraping the same leaf into the same tables.
                func expectTotal(_ expected: Int, at hubs: [Hub], _ comment: Comment) async throws {
                    for hub in hubs {
                        let reached = try await eventually(timeout: .seconds(30)) {
                            (try? await HubEndToEndTests.totals(hub.client)) == ["payments/checkout/card declined": expected]
                        }
                        let actual = (try? await HubEndToEndTests.totals(hub.client)) ?? [:]
                        #expect(reached, "\(comment) at \(hub.identity): \(actual)")
                    }
                }
                try await expectTotal(7, at: [a, b], "first scrapes")
                for round in 1...5 {
                    one.report("card declined", total: 3 + round)
                    two.report("card declined", total: 4 + 2 * round)
                    try await Task.sleep(for: .milliseconds(300))
                }
                try await expectTotal(22, at: [a, b], "growth scraped by both hubs")
                let scrapesA = try await a.metric("canopy_leaf_scrapes_total") ?? 0
                let scrapesB = try await b.metric("canopy_leaf_scrapes_total") ?? 0
                #expect(scrapesA > 3 && scrapesB > 3, "both hubs scrape")

                // One leader: it evaluates; the other says who leads and evaluates nothing.
                #expect(await a.leads())
                #expect(!(await b.leads()))
                #expect(try await a.ready().contains("(leader)"))
                let followerSays = try await b.ready()
                #expect(followerSays.contains("(follower, the leader is \(a.identity))"), "\(followerSays)")
                #expect(try await eventually(timeout: .seconds(15)) { try await a.alwaysAlert()?.state == "firing" })
                let before = try #require(try await a.alwaysAlert())
                #expect(try await b.evaluations() == 0, "the follower evaluates no rules")
                // The follower shows the leader's alerts, as stored.
                #expect(try await eventually(timeout: .seconds(10)) { try await b.alwaysAlert()?.activeAt == before.activeAt })

                // SIGKILL: no graceful release; PostgreSQL drops the dead session's lock.
                a.process?.send(SIGKILL)
                let killed = ContinuousClock.now
                let tookOver = try await eventually(timeout: .seconds(20)) { await b.leads() }
                let handover = ContinuousClock.now - killed
                #expect(tookOver)
                let evaluated = try await eventually(timeout: .seconds(20)) { try await b.evaluations() > 0 }
                let firstEvaluation = ContinuousClock.now - killed
                #expect(evaluated)
                #expect(
                    firstEvaluation < .seconds(2 * Self.evaluationInterval),
                    "the survivor leads after \(handover) and evaluates after \(firstEvaluation): within two evaluation intervals")
                #expect(try await b.ready().contains("(leader)"))
                // The alert goes on firing from the state the leader left: not pending again, same activeAt.
                let after = try #require(try await b.alwaysAlert())
                #expect(after.state == "firing")
                #expect(after.activeAt == before.activeAt)

                // And the survivor counts on exactly.
                one.report("card declined", total: 10)
                try await expectTotal(24, at: [b], "after the leader died")
                #expect(await b.process?.stop() == 0)
            }
        }
    }
}
