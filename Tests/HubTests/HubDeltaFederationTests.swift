import CanopyTestSupport
import Foundation
import Periskop
import Shared
import Testing

@testable import Hub

/// Delta federation (`FederationChanges`): a hub that applied a leaf's body asks for only the
/// groups changed since, a real leaf answers with them, and the totals stay exact; a delta that
/// is not relative to the body the hub applied is refused and the hub asks for everything next.
@Suite(.serialized) struct HubDeltaFederationTests {
    typealias Leaf = HubEndToEndTests.Leaf

    /// A counter of a `/metrics` text, by its full series name (`name{labels}`).
    static func value(_ metrics: String, _ series: String) -> Double? {
        metrics.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func aRealLeafSendsOnlyWhatChangedAndTheHubStaysExact() async throws {
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            let directory = NSTemporaryDirectory() + "canopy-delta-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let target = FakeTarget()
            try await withServices([target.makeApplication()]) {
                let leaf = try Leaf(team: "payments", service: "checkout", targets: [await target.address()], directory: directory)
                for (index, key) in ["card declined", "ledger/timeout", "fraud check"].enumerated() { target.report(key, total: index + 1) }
                try await leaf.start()
                let hubFile = directory + "/hub.yml"
                try HubEndToEndTests.hubConfig(database, socket: cluster.socketDirectory, port: cluster.port, leaves: [("payments", leaf.port)], file: hubFile)
                let hub = try ServerProcess("canopy-hub", ["--config", hubFile, "--data-dir", directory + "/hub"])
                let client = HTTPTestClient(base: try await hub.base())
                func expectTotals(_ expected: [String: Int], _ comment: Comment) async throws {
                    let reached = try await eventually(timeout: .seconds(30)) { (try? await HubEndToEndTests.totals(client)) == expected }
                    let actual = (try? await HubEndToEndTests.totals(client)) ?? [:]
                    #expect(reached, "\(comment): expected \(expected), hub has \(actual)")
                }
                try await expectTotals(
                    ["payments/checkout/card declined": 1, "payments/checkout/ledger/timeout": 2, "payments/checkout/fraud check": 3], "first, full body")

                // The leaf answers a body name of its own log with the groups changed since it.
                let full = try await leaf.client.json("/api/v1/federate") as? [String: Any]
                let changes = try #require(full?["changes"] as? [String: Any])
                let log = try #require(changes["log"] as? String)
                let sequence = try #require(changes["sequence"] as? Int)
                #expect(changes["since"] == nil, "a request without the header gets a full body")
                target.report("ledger/timeout", total: 7)
                let deltaClient = leaf.client.with(headers: [FederationChanges.requestHeader: "\(log) \(sequence)"])
                func changedGroups(_ answer: [String: Any]?) -> [[String: Any]] {
                    (answer?["services"] as? [[String: Any]])?.flatMap { $0["groups"] as? [[String: Any]] ?? [] } ?? []
                }
                _ = try await eventually(timeout: .seconds(10)) {
                    !changedGroups(try await deltaClient.json("/api/v1/federate") as? [String: Any]).isEmpty
                }
                let delta = try await deltaClient.json("/api/v1/federate") as? [String: Any]
                let deltaChanges = delta?["changes"] as? [String: Any]
                #expect(deltaChanges?["since"] as? Int == sequence)
                #expect((deltaChanges?["sequence"] as? Int ?? 0) > sequence)
                let sent = changedGroups(delta).map { $0["aggregation_key"] as? String }
                #expect(sent == ["ledger/timeout"], "only the group that changed")
                func uuids(_ group: [String: Any]?) -> [String] { (group?["samples"] as? [[String: Any]])?.compactMap { $0["uuid"] as? String } ?? [] }
                let leafSamples = uuids(changedGroups(try await leaf.client.json("/api/v1/federate") as? [String: Any]).first { $0["aggregation_key"] as? String == "ledger/timeout" })
                #expect(leafSamples.count == 2, "the leaf holds both of the group's samples")
                #expect(uuids(changedGroups(delta).first) == Array(leafSamples.prefix(1)), "the delta carries only the sample new since, the newest")

                try await expectTotals(
                    ["payments/checkout/card declined": 1, "payments/checkout/ledger/timeout": 7, "payments/checkout/fraud check": 3], "after a delta")
                // The hub has every sample the leaf holds, and the stack trace of the newest.
                let page = try await client.json("/api/v1/groups?limit=10") as? [String: Any]
                let id = try #require((page?["groups"] as? [[String: Any]])?.first { $0["aggregation_key"] as? String == "ledger/timeout" }?["id"] as? Int)
                let detail = try await client.json("/api/v1/groups/\(id)") as? [String: Any]
                #expect(Set(uuids(detail)) == Set(leafSamples))
                let trace = ((detail?["samples"] as? [[String: Any]])?.first?["error"] as? [String: Any])?["stacktrace"] as? [String]
                #expect(trace?.last == "app.swift:7", "the newest sample first")
                target.report("card declined", total: 4)
                target.report("new one", total: 2)
                try await expectTotals(
                    [
                        "payments/checkout/card declined": 4, "payments/checkout/ledger/timeout": 7, "payments/checkout/fraud check": 3,
                        "payments/checkout/new one": 2,
                    ], "a changed and a new group")
                let hubMetrics = try await client.get("/metrics").body
                #expect(Self.value(hubMetrics, "canopy_hub_federation_bodies_total{kind=\"full\"}") == 1, "one full body, the first")
                #expect((Self.value(hubMetrics, "canopy_hub_federation_bodies_total{kind=\"delta\"}") ?? 0) >= 2)
                #expect((Self.value(hubMetrics, "canopy_hub_apply_batch_scrapes_count") ?? 0) >= 3, "every applied scrape went through a batch")
                let leafMetrics = try await leaf.client.get("/metrics").body
                #expect((Self.value(leafMetrics, "canopy_leaf_federation_bodies_total{kind=\"delta\"}") ?? 0) >= 2)

                // A restarted leaf has a new log: the hub's name is not of it, it gets a full body.
                await leaf.stop()
                target.report("fraud check", total: 5)
                try await leaf.start()
                try await expectTotals(
                    [
                        "payments/checkout/card declined": 4, "payments/checkout/ledger/timeout": 7, "payments/checkout/fraud check": 5,
                        "payments/checkout/new one": 2,
                    ], "after the leaf's restart")
                let after = try await client.get("/metrics").body
                #expect(Self.value(after, "canopy_hub_federation_bodies_total{kind=\"full\"}") == 2, "the restarted leaf's first body is full")
                #expect(await hub.stop() == 0)
                await leaf.stop()
            }
        }
    }

    /// A fake leaf serving bodies the test writes: the hub's header names what it applied, and a
    /// delta against anything else fails the scrape, says why, and is followed by a full request.
    @Test func aDeltaAgainstAnotherBodyIsRefused() async throws {
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            let directory = NSTemporaryDirectory() + "canopy-delta-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            func group(_ key: String, total: Int) -> FederatedGroup {
                FederatedGroup(
                    aggregationKey: key, className: "E", message: "m", severity: .error, total: total, firstSeen: nil, lastSeen: nil, instances: 1, samples: [])
            }
            func body(_ groups: [FederatedGroup], _ changes: FederationChanges) -> [UInt8] {
                let payload = FederationPayload(
                    leaf: LeafIdentity(name: "fake", epoch: "e1", startedAt: Date(timeIntervalSince1970: 1_700_000_000), externalLabels: Labels(["team": "fake"])),
                    services: [FederatedService(name: "api", targetsTotal: 1, targetsUp: 1, groups: groups)], changes: changes)
                return Array(try! CanopyJSON.encoder().encode(payload))
            }
            let fakeLeaf = FakeTarget()
            fakeLeaf.behaviour = .raw(String(decoding: body([group("a", total: 3), group("b", total: 1)], FederationChanges(log: "L", sequence: 1)), as: UTF8.self))
            try await withServices([fakeLeaf.makeApplication()]) {
                let hubFile = directory + "/hub.yml"
                try HubEndToEndTests.hubConfig(
                    database, socket: cluster.socketDirectory, port: cluster.port, leaves: [("fake", await fakeLeaf.port.value)], file: hubFile,
                    endpoint: "/-/exceptions")
                let hub = try ServerProcess("canopy-hub", ["--config", hubFile, "--data-dir", directory + "/hub"])
                let client = HTTPTestClient(base: try await hub.base())
                let header = FederationChanges.requestHeader.lowercased()
                #expect(try await eventually(timeout: .seconds(20)) { fakeLeaf.lastHeaders[header] == "L 1" }, "the hub names the body it applied")
                #expect(try await HubEndToEndTests.totals(client) == ["fake/api/a": 3, "fake/api/b": 1])

                // A delta relative to a body the hub never applied: refused, the totals untouched.
                fakeLeaf.behaviour = .raw(String(decoding: body([group("a", total: 50)], FederationChanges(log: "L", sequence: 9, since: 5)), as: UTF8.self))
                let refused = try await eventually(timeout: .seconds(20)) {
                    let scrapes = try await client.json("/api/v1/scrapes?leaf=fake&limit=20") as? [[String: Any]] ?? []
                    return scrapes.contains { ($0["error"] as? String)?.contains("changed since L 5, but this hub applied L 1") == true }
                }
                #expect(refused, "the scrape log says why the delta was refused")
                #expect(try await eventually(timeout: .seconds(10)) { fakeLeaf.lastHeaders[header] == nil }, "and the hub asks for every group next")
                #expect(try await HubEndToEndTests.totals(client) == ["fake/api/a": 3, "fake/api/b": 1])

                fakeLeaf.behaviour = .raw(String(decoding: body([group("a", total: 4), group("b", total: 1)], FederationChanges(log: "L2", sequence: 1)), as: UTF8.self))
                #expect(try await eventually(timeout: .seconds(20)) { (try? await HubEndToEndTests.totals(client)) == ["fake/api/a": 4, "fake/api/b": 1] })
                #expect(try await eventually(timeout: .seconds(10)) { fakeLeaf.lastHeaders[header] == "L2 1" })
                #expect(await hub.stop() == 0)
            }
        }
    }
}
