import Foundation
import Logging
import Periskop
import PostgresNIO
import PromQL
import Shared
import Testing

@testable import Hub

/// Deploys at the hub: what a deploy changed (`DeployAnalysis`, pure), the deploys a leaf
/// federates as stored and read back with their new groups and rate changes, the versions a
/// group occurs in, and `canopy_group_new_in_deploy`.
@Suite struct HubDeploysTests {
    static let logger = HubStoreTests.logger
    static func at(_ seconds: TimeInterval) -> Date { Date(timeIntervalSince1970: seconds) }

    // MARK: Pure

    @Test func aGroupIsNewInTheDeployItsFirstOccurrenceFollows() {
        let starts = [Self.at(100), Self.at(200), Self.at(300)]
        #expect(DeployAnalysis.deploy(newIn: starts, firstSeen: Self.at(50)) == nil, "before every deploy")
        #expect(DeployAnalysis.deploy(newIn: starts, firstSeen: Self.at(100)) == 0)
        #expect(DeployAnalysis.deploy(newIn: starts, firstSeen: Self.at(199)) == 0)
        #expect(DeployAnalysis.deploy(newIn: starts, firstSeen: Self.at(250)) == 1)
        #expect(DeployAnalysis.deploy(newIn: starts, firstSeen: Self.at(9999)) == 2)
        #expect(DeployAnalysis.deploy(newIn: starts, firstSeen: nil) == nil)
    }

    @Test func theWindowsAreEqualAndEndAtTheNextDeployOrNow() throws {
        let windows = DeployAnalysis.windows(starts: [Self.at(0), Self.at(1200), Self.at(10_000), Self.at(10_030)], now: Self.at(20_000))
        let first = try #require(windows[0])
        #expect(first.after == DateInterval(start: Self.at(0), end: Self.at(1200)) && first.before == DateInterval(start: Self.at(-1200), end: Self.at(0)))
        let second = try #require(windows[1])
        #expect(second.after.duration == DeployAnalysis.window, "an hour at most")
        #expect(windows[2] == nil, "30 seconds to the next deploy say nothing")
        #expect(windows[3]?.after.end == Self.at(10_030 + DeployAnalysis.window))
        let soon = DeployAnalysis.windows(starts: [Self.at(19_990)], now: Self.at(20_000))
        #expect(soon.count == 1 && soon[0] == nil, "too soon after")
    }

    @Test func aSharpChangeIsTwiceOrHalfWithEnoughOccurrences() {
        #expect(DeployAnalysis.change(before: 10, after: 20) == .rose)
        #expect(DeployAnalysis.change(before: 0, after: 10) == .rose)
        #expect(DeployAnalysis.change(before: 20, after: 10) == .fell)
        #expect(DeployAnalysis.change(before: 10, after: 0) == .fell)
        #expect(DeployAnalysis.change(before: 10, after: 19) == nil)
        #expect(DeployAnalysis.change(before: 1, after: 8) == nil, "9 occurrences in all: too few to say")
    }

    @Test func aPayloadWithoutDeploysOrWithABrokenOneDecodesTheRest() throws {
        let old = #"{"version": 1, "leaf": {"name": "l", "epoch": "e", "started_at": "2026-12-01T00:00:00Z", "external_labels": {"team": "t"}}, "services": [{"name": "api", "targets_total": 1, "targets_up": 1, "groups": []}]}"#
        #expect(try CanopyJSON.decoder().decode(FederationPayload.self, from: Data(old.utf8)).services.first?.deploys == [])
        let broken = old.replacingOccurrences(
            of: #""groups": []"#, with: #""groups": [], "deploys": [{"at": "2026-12-01T00:00:00Z", "version": "1.0", "instances": 2}, {"at": 5, "version": "2.0"}]"#)
        let service = try #require(try CanopyJSON.decoder().decode(FederationPayload.self, from: Data(broken.utf8)).services.first)
        #expect(service.deploys.map(\.version) == ["1.0"])
        #expect(service.undecodable.map(\.key) == ["deploys[1]"])
        // And a deploy the hub cannot store is left out by name, the rest kept.
        let long = FederatedDeploy(at: Self.at(0), version: String(repeating: "v", count: 600), label: "version", instances: 1)
        let (kept, skipped) = StorablePayload().deploys(service.deploys + [long, service.deploys[0]], service: "api")
        #expect(kept == service.deploys)
        #expect(skipped.map(\.reason) == ["version or label longer than 512 bytes", "the deploy appears twice in the service"])
    }

    // MARK: Stored and read

    static func insertGroup(
        _ client: PostgresClient, _ key: String, service: String = "api", firstSeen: Date, minutes: [(Date, Int64)], versions: [String] = []
    ) async throws {
        let rows = try await client.query(
            """
            INSERT INTO groups (team, service, aggregation_key, class, total, first_seen, last_seen)
            VALUES ('payments', \(service), \(key), 'TestError', \(minutes.reduce(0) { $0 + $1.1 }), \(firstSeen), \(firstSeen)) RETURNING id
            """, logger: logger)
        var id: Int64 = 0
        for try await found in rows.decode(Int64.self) { id = found }
        try await client.query(
            "INSERT INTO group_counts (group_id, minute, count) SELECT \(id), m, c FROM unnest(\(minutes.map { $0.0 }), \(minutes.map { $0.1 })) AS r(m, c)",
            logger: logger)
        for version in versions {
            let labels = #"{"version": "\#(version)", "env": "prod"}"#
            try await client.query("INSERT INTO series (group_id, labels, total) VALUES (\(id), \(labels)::jsonb, 1)", logger: logger)
        }
    }

    @Test func theStoredDeploysGiveEachItsNewGroupsAndRateChanges() async throws {
        try await HubStoreTests.withStore { client in
            let base = (Date().timeIntervalSince1970 / 60).rounded(.down) * 60
            let v10 = Self.at(base - 7200)
            let v11 = Self.at(base - 1800)
            func deploys(_ instances: Int, shift: TimeInterval) -> FederationPayload {
                var payload = HubStoreTests.payload([])
                payload.services = [
                    FederatedService(
                        name: "api", targetsTotal: 2, targetsUp: 2, groups: [],
                        deploys: [
                            FederatedDeploy(at: v10.addingTimeInterval(shift), version: "1.0", label: "version", instances: instances),
                            FederatedDeploy(at: v11.addingTimeInterval(shift), version: "1.1", label: "version", instances: 1),
                        ]),
                    // Only ever seen running 3.0: where the leaf first saw it, not a deploy it saw happen.
                    FederatedService(
                        name: "web", targetsTotal: 1, targetsUp: 1, groups: [],
                        deploys: [FederatedDeploy(at: Self.at(base - 600), version: "3.0", label: "version", instances: 1)]),
                ]
                return payload
            }
            try await HubStoreTests.apply(client, deploys(2, shift: 0))
            // Reported again, later and with fewer instances (a leaf that lost its data dir): the earliest time and most instances stay.
            try await HubStoreTests.apply(client, deploys(1, shift: 60), leaf: "http://leaf-b/api/v1/federate")
            let before = (1...25).map { (v11.addingTimeInterval(-60 * Double($0)), Int64(1)) }
            let after = (0..<25).map { (v11.addingTimeInterval(60 * Double($0)), Int64(5)) }
            try await Self.insertGroup(client, "rising", firstSeen: Self.at(base - 10_000), minutes: before + after.map { ($0.0, $0.1) })
            try await Self.insertGroup(client, "falling", firstSeen: Self.at(base - 10_000), minutes: before.map { ($0.0, 4) })
            try await Self.insertGroup(client, "steady", firstSeen: Self.at(base - 10_000), minutes: before + after.map { ($0.0, 1) })
            try await Self.insertGroup(client, "born-in-1.0", firstSeen: Self.at(base - 5000), minutes: [], versions: ["1.0", "1.1"])
            try await Self.insertGroup(client, "web-since-3.0", service: "web", firstSeen: Self.at(base - 300), minutes: [])
            try await Self.insertGroup(client, "new-in-1.1", firstSeen: Self.at(base - 1000), minutes: [(Self.at(base - 960), 3)], versions: ["1.1"])

            let report = try await DeployQueries(client: client, logger: Self.logger).report(team: "payments", service: "api", now: Self.at(base))
            #expect(report.deploys.map(\.version) == ["1.1", "1.0"], "newest first")
            #expect(report.deploys.map(\.at) == [v11, v10] && report.deploys.map(\.instances) == [1, 2])
            #expect(report.deploys.map { $0.newGroups.map(\.aggregationKey) } == [["new-in-1.1"], ["born-in-1.0"]])
            let changes = report.deploys[0].rateChanges.map { "\($0.aggregationKey) \($0.change.rawValue) \($0.before)→\($0.after)" }
            #expect(changes == ["rising rose 25→125", "falling fell 100→0"])
            #expect(report.deploys[0].windowSeconds == 1800)

            let queries = DeployQueries(client: client, logger: Self.logger)
            let id = try await HubStoreTests.groupID(client, key: "born-in-1.0")
            #expect(try await queries.versions(ofGroup: id, team: "payments", service: "api") == ["1.0", "1.1"])

            // The series the shipped rule reads: the group new in the newest deploy, with its version
            // (not web's, whose only deploy is its first sighting).
            let source = HubSeriesSource(client: client, logger: Self.logger) { [] }
            guard case .vector(let elements) = try await QueryEngine().instant(
                try PromQLParser.parse("canopy_group_new_in_deploy"), at: QueryTime.timestamp(Date()), source: source)
            else { throw Unexpected() }
            #expect(elements.map { [$0.labels["aggregation_key"], $0.labels["version"], $0.labels["team"]] } == [["new-in-1.1", "1.1", "payments"]])
        }
    }
}
