import CanopyTestSupport
import Foundation
import Shared
import Testing

@testable import Hub

#if canImport(Glibc)
import Glibc
#endif

/// Issue 12's database outages from end to end: targets that keep raising exceptions, a real leaf, the `canopy-hub`
/// binary, and a PostgreSQL that goes away for half a minute (stopped) or is killed (the private one).
@Suite(.serialized) struct HubOutageTests {
    static let rules = """
        groups:
          - name: outage
            interval: 1s
            rules:
              - alert: ExceptionsSeen
                expr: sum(canopy_exceptions_total) > 0
        """

    /// What `/metrics` says of `name`, summed over its series.
    static func metric(_ hub: HTTPTestClient, _ name: String) async throws -> Double {
        let text = try await hub.get("/metrics").body
        return text.split(separator: "\n").filter { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
            .compactMap { Double($0.split(separator: " ").last ?? "") }.reduce(0, +)
    }

    /// The only rule's health and last error, and its alert's state and activeAt.
    static func rule(_ hub: HTTPTestClient) async throws -> (health: String, error: String?, alert: String?, activeAt: String?) {
        let answer = try await hub.json("/api/v1/rules") as? [String: Any]
        let groups = (answer?["data"] as? [String: Any])?["groups"] as? [[String: Any]] ?? []
        let rule = (groups.first?["rules"] as? [[String: Any]])?.first ?? [:]
        let alert = (rule["alerts"] as? [[String: Any]])?.first
        return (rule["health"] as? String ?? "", rule["lastError"] as? String, alert?["state"] as? String, alert?["activeAt"] as? String)
    }

    /// Totals per key as the leaf federates them.
    static func leafTotals(_ leaf: HubEndToEndTests.Leaf) async throws -> [String: Int] {
        let body = try await HTTPTestClient(base: "http://127.0.0.1:\(leaf.port)").get("/api/v1/federate").body
        let payload = try CanopyJSON.decoder().decode(FederationPayload.self, from: Data(body.utf8))
        var totals: [String: Int] = [:]
        for service in payload.services {
            for group in service.groups { totals["payments/\(service.name)/\(group.aggregationKey)", default: 0] += Int(group.total) }
        }
        return totals
    }

    /// What the targets reported in all: the exact count the hub must end with.
    static func produced(_ targets: [FakeTarget]) -> [String: Int] {
        var totals: [String: Int] = [:]
        for target in targets {
            for group in target.payload.aggregatedErrors { totals["payments/checkout/\(group.aggregationKey)", default: 0] += group.totalCount }
        }
        return totals
    }

    /// A request that must answer within a couple of seconds: its status, body and how long it took.
    static func timed(_ hub: HTTPTestClient, _ path: String) async throws -> (status: Int, body: String, took: Duration) {
        let started = ContinuousClock.now
        let (status, body) = try await hub.get(path)
        return (status, body, ContinuousClock.now - started)
    }

    @Test func anExternalDatabaseStoppedForHalfAMinute() async throws {
        try await StoppableCluster.with { cluster in
            try await withTemporaryDirectory { directory in
                let targets = [FakeTarget(), FakeTarget()]
                try await withServices(targets.map { $0.makeApplication() }) {
                    let leaf = try HubEndToEndTests.Leaf(team: "payments", service: "checkout", targets: [await targets[0].address(), await targets[1].address()], directory: directory)
                    try await leaf.start()
                    try Self.rules.write(toFile: directory + "/rules.yml", atomically: true, encoding: .utf8)
                    try """
                    global: {scrape_interval: 500ms, scrape_timeout: 500ms}
                    database: {url: '\(cluster.url)'}
                    leaves: [{name: payments, static_configs: [{targets: ['127.0.0.1:\(leaf.port)']}]}]
                    rule_files: [rules.yml]
                    """.write(toFile: directory + "/hub.yml", atomically: true, encoding: .utf8)
                    let hubProcess = try ServerProcess("canopy-hub", ["--config", directory + "/hub.yml", "--data-dir", directory + "/hub"])
                    let hub = HTTPTestClient(base: try await hubProcess.base())
                    do {
                        try await Self.outage(cluster: cluster, hub: hub, leaf: leaf, targets: targets)
                    } catch {
                        Issue.record("hub log:\n\(hubProcess.log.suffix(4000))")
                        await hubProcess.stop()
                        await leaf.stop()
                        throw error
                    }
                    #expect(await hubProcess.stop() == 0, "the hub stops cleanly after the outage")
                    await leaf.stop()
                }
            }
        }
    }

    private static func outage(cluster: StoppableCluster, hub: HTTPTestClient, leaf: HubEndToEndTests.Leaf, targets: [FakeTarget]) async throws {
        // Exceptions keep coming, before, during and after the outage, until `stop`.
        let stop = StopSignal()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                var count = 0
                while await stop.sleep(until: ContinuousClock.now + .milliseconds(100)) {
                    count += 1
                    targets[0].report("timeout", total: count)
                    targets[1].report("timeout", total: 2 * count)
                    if count % 3 == 0 { targets[1].report("declined", total: count / 3) }
                }
            }
            defer { stop.stop() }

            try await expectEventually("the hub counts before the outage", timeout: .seconds(30)) {
                (try? await HubEndToEndTests.totals(hub))?["payments/checkout/timeout"].map { $0 > 0 } ?? false
            }
            try await expectEventually("the rule evaluates and fires", timeout: .seconds(15)) { try await rule(hub).alert == "firing" }
            let firedAt = try await rule(hub).activeAt
            #expect(try await hub.get("/-/ready").status == 200)
            #expect(try await metric(hub, "canopy_hub_database_up") == 1)
            #expect(try await metric(hub, "canopy_hub_leader") == 1, "the only hub leads")
            let failuresBefore = try await metric(hub, "canopy_leaf_scrape_failures_total")

            await cluster.stop()
            let stopped = ContinuousClock.now
            try await expectEventually("/-/ready says the database is unreachable within a couple of seconds", timeout: .seconds(3)) {
                let ready = try await hub.get("/-/ready")
                return ready.status == 503 && ready.body.contains("database unreachable: could not connect to 127.0.0.1:\(cluster.port): connection refused")
            }
            let ready = try await hub.get("/-/ready")
            #expect(ready.status == 503 && ready.body.split(separator: "\n").count == 1, "one line: \(ready.body)")

            // Half a minute without the database; every answer comes within a couple of seconds and says why.
            var checks = 0
            while ContinuousClock.now - stopped < .seconds(30) {
                checks += 1
                #expect(try await hub.get("/-/healthy").status == 200)
                let groups = try await timed(hub, "/api/v1/groups")
                #expect(groups.status == 503 && groups.took < .seconds(3), "/api/v1/groups: \(groups.status) after \(groups.took)")
                #expect(groups.body.contains(#""message":"database unreachable: "#), "\(groups.body)")
                let page = try await timed(hub, "/")
                #expect(page.status == 503 && page.took < .seconds(3), "/: \(page.status) after \(page.took)")
                #expect(page.body.contains("database unreachable: "))
                #expect(!groups.body.contains("SELECT") && !page.body.contains("SELECT"), "no SQL in errors")
                try await Task.sleep(for: .seconds(1))
            }
            #expect(checks >= 10)
            #expect(try await metric(hub, "canopy_hub_database_up") == 0)
            #expect(try await metric(hub, "canopy_hub_leader") == 0, "a hub without its database does not lead")
            #expect(try await metric(hub, "canopy_hub_database_outages_total") == 1)
            #expect(try await metric(hub, "canopy_leaf_scrape_failures_total") >= failuresBefore + 10, "the leaf's scrapes failed and were counted")
            let paused = try await rule(hub)
            #expect(paused.health == "err" && paused.error?.contains("database unreachable") == true, "\(paused)")
            #expect(paused.alert == "firing" && paused.activeAt == firedAt, "a failed evaluation resolves nothing: \(paused)")
            // Without its database the hub cannot hold the leader lock: it stops evaluating after
            // the evaluations that failed, whose error the rule shows.
            let failed = try await metric(hub, "canopy_rule_evaluation_failures_total")
            #expect(failed >= 1)
            let evaluations = try await metric(hub, "canopy_rule_evaluations_total")
            try await Task.sleep(for: .seconds(2))
            #expect(try await metric(hub, "canopy_rule_evaluations_total") == evaluations, "rule evaluation is paused")
            let leaves = try await hub.get("/api/v1/leaves")
            #expect(leaves.status == 503, "the leaves' report needs the database too")
            // The leaf kept counting all along.
            let leafDuring = try await leafTotals(leaf)
            #expect((leafDuring["payments/checkout/timeout"] ?? 0) > 0)

            try await cluster.start()
            try await expectEventually("/-/ready answers again", timeout: .seconds(15)) { try await hub.get("/-/ready").status == 200 }
            try await Task.sleep(for: .seconds(2))
            stop.stop()
            try await group.waitForAll()

            // Every exception counted exactly once: the hub's totals are the leaf's and what the targets reported.
            let expected = produced(targets)
            try await expectEventually("the totals converge", timeout: .seconds(30)) {
                guard try await leafTotals(leaf) == expected else { return false }
                return (try? await HubEndToEndTests.totals(hub)) == expected
            }
            #expect(try await HubEndToEndTests.totals(hub) == expected)
            #expect(try await leafTotals(leaf) == expected)
            try await expectEventually("the rule evaluates again", timeout: .seconds(10)) { try await rule(hub).health == "ok" }
            let resumed = try await rule(hub)
            #expect(resumed.alert == "firing" && resumed.activeAt == firedAt, "\(resumed)")
            #expect(try await metric(hub, "canopy_hub_database_up") == 1)
            #expect(try await metric(hub, "canopy_hub_leader") == 1, "and leads again")
            #expect(try await hub.get("/").status == 200)
        }
    }

    @Test func aKilledPrivatePostgresIsRestartedWithItsData() async throws {
        try await withTemporaryDirectory { directory in
            let target = FakeTarget()
            target.report("boom", total: 5)
            try await withServices([target.makeApplication()]) {
                let leaf = try HubEndToEndTests.Leaf(team: "payments", service: "checkout", targets: [await target.address()], directory: directory)
                try await leaf.start()
                try """
                global: {scrape_interval: 200ms, scrape_timeout: 200ms}
                leaves: [{name: payments, static_configs: [{targets: ['127.0.0.1:\(leaf.port)']}]}]
                """.write(toFile: directory + "/hub.yml", atomically: true, encoding: .utf8)
                let hubProcess = try ServerProcess("canopy-hub", ["--config", directory + "/hub.yml", "--data-dir", directory + "/hub"])
                do {
                    let hub = HTTPTestClient(base: try await hubProcess.base())
                    try await expectEventually("the hub counts", timeout: .seconds(30)) {
                        (try? await HubEndToEndTests.totals(hub)) == ["payments/checkout/boom": 5]
                    }
                    let pidFile = directory + "/hub/postgres/postmaster.pid"
                    func postmaster() -> pid_t? {
                        (try? String(contentsOfFile: pidFile, encoding: .utf8))?.split(separator: "\n").first.flatMap { pid_t($0) }
                    }
                    let killed = try #require(postmaster())
                    #expect(kill(killed, SIGKILL) == 0)

                    try await expectEventually("the hub restarts its PostgreSQL", timeout: .seconds(30)) {
                        try await Self.metric(hub, "canopy_hub_private_postgres_restarts_total") == 1
                    }
                    let restarted = try #require(postmaster())
                    #expect(restarted != killed)
                    try await expectEventually("the hub answers again", timeout: .seconds(15)) { try await hub.get("/-/ready").status == 200 }
                    #expect(try await HubEndToEndTests.totals(hub) == ["payments/checkout/boom": 5], "the data survived")
                    target.report("boom", total: 8)
                    try await expectEventually("the hub counts on", timeout: .seconds(15)) {
                        (try? await HubEndToEndTests.totals(hub)) == ["payments/checkout/boom": 8]
                    }
                    #expect(hubProcess.log.contains("the private PostgreSQL stopped unexpectedly"))
                } catch {
                    Issue.record("hub log:\n\(hubProcess.log.suffix(4000))")
                    await hubProcess.stop()
                    await leaf.stop()
                    throw error
                }
                #expect(await hubProcess.stop() == 0)
                await leaf.stop()
                #expect(!FileManager.default.fileExists(atPath: directory + "/hub/postgres/postmaster.pid"), "the hub stopped its PostgreSQL")
            }
        }
    }
}
