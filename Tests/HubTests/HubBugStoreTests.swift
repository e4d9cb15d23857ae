import Foundation
import Periskop
import PostgresNIO
import Shared
import Testing

@testable import Hub

/// Bug fingerprints in a real PostgreSQL database: written at ingest, computed again at start
/// for groups stored before them, listed when two teams or services share one, and a status
/// change for all of a bug's groups with a history entry each.
@Suite struct HubBugStoreTests {
    struct Group {
        var service: String
        var key: String
        var className = "InvalidOrder"
        var message: String
        var stacktrace: [String]
        var total: Int
    }

    static func trace(_ caller: String, raisingIn function: String = "_require") -> [String] {
        [
            "Traceback (most recent call last):", "  File \"/srv/\(caller)/app.py\", line 5, in \(caller)",
            "  File \"/srv/\(caller)/lib/shared_orders.py\", line 11, in load_order",
            "  File \"/srv/\(caller)/lib/shared_orders.py\", line 17, in _validate",
            "  File \"/srv/\(caller)/lib/shared_orders.py\", line 22, in \(function)", "shared_orders.InvalidOrder: order has no lines",
        ]
    }

    static func payload(team: String, _ groups: [Group]) -> FederationPayload {
        var services: [String: FederatedService] = [:]
        for (index, group) in groups.enumerated() {
            let sample = ErrorWithContext(
                error: ErrorInstance(className: group.className, message: group.message, stacktrace: group.stacktrace), uuid: "\(team)-\(index)",
                timestamp: Date(timeIntervalSince1970: 1_700_000_000 + Double(index)))
            services[group.service, default: FederatedService(name: group.service, targetsTotal: 1, targetsUp: 1, groups: [])].groups.append(
                FederatedGroup(
                    aggregationKey: group.key, className: group.className, message: group.message, severity: .error, total: group.total,
                    firstSeen: Date(timeIntervalSince1970: 1_700_000_000 + Double(index)), lastSeen: Date(timeIntervalSince1970: 1_700_000_100), instances: 1,
                    samples: [sample]))
        }
        return FederationPayload(
            leaf: LeafIdentity(name: team, epoch: "epoch-\(team)", startedAt: Date(timeIntervalSince1970: 1_700_000_000), externalLabels: [LabelName.team: team]),
            services: services.values.sorted { $0.name < $1.name })
    }

    static func fingerprints(_ client: PostgresClient) async throws -> [String: String] {
        let rows = try await client.query("SELECT aggregation_key, fingerprint FROM groups", logger: HubStoreTests.logger)
        var found: [String: String] = [:]
        for try await (key, fingerprint) in rows.decode((String, String).self) { found[key] = fingerprint }
        return found
    }

    @Test func aBugInTwoTeamsIsListedOnceAndChangesStatusForAll() async throws {
        try await HubStoreTests.withStore { client in
            try await HubStoreTests.apply(
                client,
                Self.payload(
                    team: "payments",
                    [
                        Group(service: "checkout", key: "InvalidOrder@aa", message: "order 7 has no lines", stacktrace: Self.trace("checkout"), total: 3),
                        // Another bug of the checkout alone, in two groups of one service: not listed.
                        Group(service: "checkout", key: "InvalidOrder@bb", message: "x", stacktrace: Self.trace("checkout", raisingIn: "_check"), total: 1),
                        Group(service: "checkout", key: "InvalidOrder@cc", message: "y", stacktrace: Self.trace("checkout", raisingIn: "_check"), total: 1),
                    ]), leaf: "http://payments/api/v1/federate")
            try await HubStoreTests.apply(
                client,
                Self.payload(
                    team: "finance", [Group(service: "billing", key: "InvalidOrder@dd", message: "order 9 has no lines", stacktrace: Self.trace("billing"), total: 5)]),
                leaf: "http://finance/api/v1/federate")
            let queries = HubQueries(client: client, logger: HubStoreTests.logger)
            let bugs = try await queries.bugs()
            try #require(bugs.count == 1, "\(bugs)")
            let bug = bugs[0]
            #expect(bug.fingerprint == BugFingerprint.make(className: "InvalidOrder", message: "", stacktrace: Self.trace("elsewhere")))
            #expect(bug.groups.map { "\($0.team)/\($0.service)/\($0.aggregationKey)=\($0.total)" }.sorted() == [
                "finance/billing/InvalidOrder@dd=5", "payments/checkout/InvalidOrder@aa=3",
            ])
            #expect(bug.firstSeen == Date(timeIntervalSince1970: 1_700_000_000))
            let stored = try await Self.fingerprints(client)
            #expect(stored["InvalidOrder@bb"] == stored["InvalidOrder@cc"] && stored["InvalidOrder@bb"] != bug.fingerprint)

            // A group's page knows its siblings.
            let id = try await HubStoreTests.groupID(client, key: "InvalidOrder@aa")
            let detail = try #require(try await queries.group(id: id))
            #expect(detail.fingerprint == bug.fingerprint)
            #expect(detail.siblings.map(\.aggregationKey) == ["InvalidOrder@dd"])

            // All at once, each with its own history.
            let store = GroupStatusStore(client: client, logger: HubStoreTests.logger)
            #expect(try await store.set(fingerprint: bug.fingerprint, .resolve, actor: "alice", comment: "fixed in shared-orders 2.1") == 2)
            #expect(try await store.set(fingerprint: "no-such-fingerprint", .resolve, actor: "alice", comment: nil) == 0)
            let rows = try await client.query(
                """
                SELECT g.aggregation_key, g.status, g.resolved_total, c.from_status, c.to_status, c.comment FROM groups g JOIN status_changes c ON c.group_id = g.id
                ORDER BY g.aggregation_key
                """, logger: HubStoreTests.logger)
            var changes: [String] = []
            for try await (key, status, resolvedTotal, from, to, comment) in rows.decode((String, String, Int64?, String, String, String?).self) {
                changes.append("\(key) \(status) \(resolvedTotal ?? -1) \(from)→\(to) \(comment ?? "")")
            }
            #expect(changes == [
                "InvalidOrder@aa resolved 3 unresolved→resolved fixed in shared-orders 2.1", "InvalidOrder@dd resolved 5 unresolved→resolved fixed in shared-orders 2.1",
            ])

            // Ignoring all for 100 more: each group's own total plus 100, and a second change each.
            #expect(try await store.set(fingerprint: bug.fingerprint, .ignore(until: nil, additionalOccurrences: 100), actor: "bob", comment: nil) == 2)
            let ignored = try await client.query(
                """
                SELECT g.aggregation_key, g.status, g.ignored_until_total, count(c.id)::int8 FROM groups g JOIN status_changes c ON c.group_id = g.id
                GROUP BY 1, 2, 3 ORDER BY 1
                """, logger: HubStoreTests.logger)
            var rowsIgnored: [String] = []
            for try await (key, status, untilTotal, count) in ignored.decode((String, String, Int64?, Int64).self) {
                rowsIgnored.append("\(key) \(status) \(untilTotal ?? -1) \(count)")
            }
            #expect(rowsIgnored == ["InvalidOrder@aa ignored 103 2", "InvalidOrder@dd ignored 105 2"])
        }
    }

    @Test func groupsStoredBeforeFingerprintsGetThemAtStart() async throws {
        try await HubStoreTests.withStore { client in
            try await HubStoreTests.apply(
                client,
                Self.payload(
                    team: "payments",
                    [
                        Group(service: "checkout", key: "a", message: "order 7 has no lines", stacktrace: Self.trace("checkout"), total: 3),
                        Group(service: "checkout", key: "b", className: "KeyError", message: "'id'", stacktrace: [], total: 1),
                    ]))
            let written = try await Self.fingerprints(client)
            #expect(written["b"] == BugFingerprint.make(className: "KeyError", message: "'id'", stacktrace: []), "no stack trace: class and message")
            // As a database migrated to version 8 has them.
            try await client.query("UPDATE groups SET fingerprint = ''", logger: HubStoreTests.logger)
            #expect(try await FingerprintBackfill.run(client, logger: HubStoreTests.logger) == 2)
            #expect(try await Self.fingerprints(client) == written, "the backfill computes what ingest wrote")
            #expect(try await FingerprintBackfill.run(client, logger: HubStoreTests.logger) == 0, "and only once")
        }
    }
}
