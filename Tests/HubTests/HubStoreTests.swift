import Foundation
import Logging
import Periskop
import PostgresNIO
import Shared
import Testing

@testable import Hub

/// The hub's counting, merging and lifecycle rules, applied to a real PostgreSQL database.
@Suite struct HubStoreTests {
    static let logger = Logger(label: "hub-store-test")

    struct Group {
        var service = "api"
        var key: String
        var total: Int
        var severity: Severity = .error
        var samples: [String] = []
    }

    static func payload(team: String = "payments", epoch: String = "epoch-1", _ groups: [Group]) -> FederationPayload {
        var services: [String: FederatedService] = [:]
        for group in groups {
            let samples = group.samples.enumerated().map { index, uuid in
                ErrorWithContext(
                    error: ErrorInstance(className: "E", message: "m", stacktrace: ["frame \(uuid)"]), uuid: uuid,
                    timestamp: Date(timeIntervalSince1970: 1_700_000_000 + Double(index)), severity: group.severity)
            }
            services[group.service, default: FederatedService(name: group.service, targetsTotal: 1, targetsUp: 1, groups: [])].groups.append(
                FederatedGroup(
                    aggregationKey: group.key, className: "E", message: "m \(group.key)", severity: group.severity, total: group.total,
                    firstSeen: Date(timeIntervalSince1970: 1_700_000_000), lastSeen: Date(timeIntervalSince1970: 1_700_000_100), instances: 1,
                    samples: samples.reversed()))
        }
        return FederationPayload(
            leaf: LeafIdentity(name: "leaf", epoch: epoch, startedAt: Date(timeIntervalSince1970: 1_700_000_000), externalLabels: [LabelName.team: team]),
            services: services.values.sorted { $0.name < $1.name })
    }

    static func withStore<T: Sendable>(_ body: (PostgresClient) async throws -> T) async throws -> T {
        try await withTestDatabase { client in
            _ = try await MigrationRunner.migrate(client, Schema.migrations, logger: logger)
            try await Retention.ensurePartitions(client: client, around: Date(), logger: logger)
            return try await body(client)
        }
    }

    @discardableResult
    static func apply(_ client: PostgresClient, _ payload: FederationPayload, leaf: String = "http://leaf-a/api/v1/federate", at time: Date = Date(), samples: Int = 3) async throws -> ApplyResult {
        try await client.withTransaction(logger: logger) { connection in
            try await FederationApply(samplesPerGroup: samples).apply(payload, leafURL: leaf, job: "payments", at: time, on: connection, logger: logger)
        }
    }

    static func total(_ client: PostgresClient, team: String = "payments", service: String = "api", key: String) async throws -> Int64? {
        let rows = try await client.query("SELECT total FROM groups WHERE team = \(team) AND service = \(service) AND aggregation_key = \(key)", logger: logger)
        return try await rows.collect().first?.decode(Int64.self)
    }

    static func groupID(_ client: PostgresClient, key: String) async throws -> Int64 {
        try await client.query("SELECT id FROM groups WHERE aggregation_key = \(key)", logger: logger).collect().first!.decode(Int64.self)
    }

    @Test func withinAnEpochOnlyGrowthCountsAndAFallAddsNothing() async throws {
        try await Self.withStore { client in
            for (reported, expected) in [(5, 5), (8, 8), (8, 8), (6, 8), (7, 8), (9, 9)] as [(Int, Int64)] {
                try await Self.apply(client, Self.payload([Group(key: "k", total: reported)]))
                #expect(try await Self.total(client, key: "k") == expected, "after the leaf reported \(reported)")
            }
        }
    }

    @Test func aNewEpochIsABaselineButNewGroupsCountWhole() async throws {
        try await Self.withStore { client in
            try await Self.apply(client, Self.payload(epoch: "A", [Group(key: "old", total: 5)]))
            let result = try await Self.apply(client, Self.payload(epoch: "B", [Group(key: "old", total: 3), Group(key: "new", total: 2)]))
            #expect(result.epochChanged)
            #expect(try await Self.total(client, key: "old") == 5)
            #expect(try await Self.total(client, key: "new") == 2)
            try await Self.apply(client, Self.payload(epoch: "B", [Group(key: "old", total: 6), Group(key: "new", total: 2)]))
            #expect(try await Self.total(client, key: "old") == 8)
        }
    }

    @Test func aNewEpochWaitsForItsFirstCompleteReport() async throws {
        try await Self.withStore { client in
            try await Self.apply(client, Self.payload(epoch: "A", [Group(key: "k", total: 10)]))
            // The leaf lost its data dir; its first reports lack targets it has not scraped yet.
            var partial = Self.payload(epoch: "B", [Group(key: "k", total: 4)])
            partial.complete = false
            try await Self.apply(client, partial)
            partial = Self.payload(epoch: "B", [Group(key: "k", total: 9)])
            partial.complete = false
            try await Self.apply(client, partial)
            #expect(try await Self.total(client, key: "k") == 10)
            try await Self.apply(client, Self.payload(epoch: "B", [Group(key: "k", total: 12)]))
            #expect(try await Self.total(client, key: "k") == 10)
            try await Self.apply(client, Self.payload(epoch: "B", [Group(key: "k", total: 15)]))
            #expect(try await Self.total(client, key: "k") == 13)
        }
    }

    @Test func leavesOfOneTeamMergeAndTeamsStayApart() async throws {
        try await Self.withStore { client in
            try await Self.apply(client, Self.payload([Group(key: "k", total: 3)]), leaf: "http://eu/api/v1/federate")
            try await Self.apply(client, Self.payload(epoch: "other", [Group(key: "k", total: 4)]), leaf: "http://us/api/v1/federate")
            try await Self.apply(client, Self.payload(team: "search", epoch: "s", [Group(key: "k", total: 10)]), leaf: "http://search/api/v1/federate")
            #expect(try await Self.total(client, key: "k") == 7)
            #expect(try await Self.total(client, team: "search", key: "k") == 10)
            try await Self.apply(client, Self.payload([Group(key: "k", total: 5)]), leaf: "http://eu/api/v1/federate")
            #expect(try await Self.total(client, key: "k") == 9)
            let teams = try await HubQueries(client: client, logger: Self.logger).teams()
            #expect(teams.map(\.name) == ["payments", "search"])
            #expect(teams.first?.leaves == 2)
        }
    }

    @Test func aScrapeIsAppliedWholeOrNotAtAll() async throws {
        try await Self.withStore { client in
            try await Self.apply(client, Self.payload([Group(key: "a", total: 1), Group(key: "b", total: 1)]))
            struct Crash: Error {}
            // The process dies after the writes, before the commit: nothing of it may remain.
            await #expect(throws: PostgresTransactionError.self) {
                try await client.withTransaction(logger: Self.logger) { connection in
                    _ = try await FederationApply(samplesPerGroup: 3).apply(
                        Self.payload([Group(key: "a", total: 5), Group(key: "b", total: 7)]), leafURL: "http://leaf-a/api/v1/federate", job: "payments",
                        at: Date(), on: connection, logger: Self.logger)
                    throw Crash()
                }
            }
            #expect(try await Self.total(client, key: "a") == 1)
            #expect(try await Self.total(client, key: "b") == 1)
            // The same scrape again applies exactly once; twice adds nothing.
            for _ in 0..<2 { try await Self.apply(client, Self.payload([Group(key: "a", total: 5), Group(key: "b", total: 7)])) }
            #expect(try await Self.total(client, key: "a") == 5)
            #expect(try await Self.total(client, key: "b") == 7)
        }
    }

    @Test func severityIsTheMostSevereAndSamplesAreTheNewestN() async throws {
        try await Self.withStore { client in
            try await Self.apply(client, Self.payload([Group(key: "k", total: 1, severity: .info, samples: ["s1", "s2"])]))
            try await Self.apply(client, Self.payload([Group(key: "k", total: 3, severity: .warning, samples: ["s1", "s2", "s3", "s4"])]))
            try await Self.apply(client, Self.payload([Group(key: "k", total: 4, severity: .info, samples: ["s1", "s2", "s3", "s4", "s5"])]))
            let queries = HubQueries(client: client, logger: Self.logger)
            let detail = try #require(try await queries.group(id: try await Self.groupID(client, key: "k")))
            #expect(detail.group.severity == .warning)
            #expect(detail.samples.map(\.uuid) == ["s5", "s4", "s3"])
            #expect(detail.group.total == 4)
            #expect(detail.leaves.map(\.total) == [4])
        }
    }

    @Test func resolvedGroupRegressesWhenItOccursAgain() async throws {
        try await Self.withStore { client in
            let queries = HubQueries(client: client, logger: Self.logger)
            try await Self.apply(client, Self.payload([Group(key: "k", total: 2)]))
            let id = try await Self.groupID(client, key: "k")
            let status = GroupStatusStore(client: client, logger: Self.logger)
            #expect(try await status.set(id: id, .resolve, actor: "ann", comment: "fixed in 1.2"))
            #expect(try await !status.set(id: id + 1000, .resolve, actor: "ann", comment: nil))
            let resolved = try #require(try await queries.group(id: id))
            #expect(resolved.group.status == "resolved")
            #expect(resolved.statusChangedBy == "ann")
            try await Self.apply(client, Self.payload([Group(key: "k", total: 2)]))
            #expect(try await queries.group(id: id)?.group.status == "resolved")
            try await Self.apply(client, Self.payload([Group(key: "k", total: 3)]))
            let regressed = try #require(try await queries.group(id: id))
            #expect(regressed.group.status == "regressed")
            #expect(regressed.statusChanges.map(\.to) == ["regressed", "resolved"])
            #expect(regressed.statusChanges.map(\.actor) == ["canopy", "ann"])
            #expect(try await queries.groups(HubQueries.GroupFilter(status: "regressed")).groups.map(\.id) == [id])
        }
    }

    @Test func ignoredGroupStaysQuietUntilItsConditionEnds() async throws {
        try await Self.withStore { client in
            let queries = HubQueries(client: client, logger: Self.logger)
            try await Self.apply(client, Self.payload([Group(key: "count", total: 10), Group(key: "time", total: 1)]))
            let byCount = try await Self.groupID(client, key: "count")
            let byTime = try await Self.groupID(client, key: "time")
            let status = GroupStatusStore(client: client, logger: Self.logger)
            _ = try await status.set(id: byCount, .ignore(until: nil, additionalOccurrences: 3), actor: "bob", comment: nil)
            _ = try await status.set(id: byTime, .ignore(until: Date().addingTimeInterval(3600), additionalOccurrences: nil), actor: "bob", comment: nil)
            try await Self.apply(client, Self.payload([Group(key: "count", total: 12), Group(key: "time", total: 5)]))
            #expect(try await queries.group(id: byCount)?.group.status == "ignored")
            #expect(try await queries.group(id: byTime)?.group.status == "ignored")
            try await Self.apply(client, Self.payload([Group(key: "count", total: 13), Group(key: "time", total: 5)]))
            #expect(try await queries.group(id: byCount)?.group.status == "unresolved")
            // Two hours on, the time is up: the maintenance pass makes it so, and records it.
            try await Retention(client: client, retention: .seconds(30 * 86400), logger: Self.logger).maintain(now: Date().addingTimeInterval(7200))
            let expired = try #require(try await queries.group(id: byTime))
            #expect(expired.group.status == "unresolved")
            #expect(expired.statusChanges.first?.actor == "canopy")
            #expect(expired.statusChanges.first?.from == "ignored")
        }
    }

    @Test func occurrencesAreCountedPerMinuteOfTheScrape() async throws {
        try await Self.withStore { client in
            let start = Calendar.utc.date(bySetting: .second, value: 0, of: Date().addingTimeInterval(-600))!
            try await Self.apply(client, Self.payload([Group(key: "k", total: 3)]), at: start)
            try await Self.apply(client, Self.payload([Group(key: "k", total: 4)]), at: start.addingTimeInterval(20))
            try await Self.apply(client, Self.payload([Group(key: "k", total: 9)]), at: start.addingTimeInterval(120))
            let queries = HubQueries(client: client, logger: Self.logger)
            let id = try await Self.groupID(client, key: "k")
            let minute = Date(timeIntervalSince1970: floor(start.timeIntervalSince1970 / 60) * 60)
            let points = try await queries.occurrences(id: id, from: minute, to: minute.addingTimeInterval(240), step: .seconds(60))
            #expect(points.map(\.count) == [4, 0, 5, 0])
            let coarse = try await queries.occurrences(id: id, from: minute, to: minute.addingTimeInterval(240), step: .seconds(240))
            #expect(coarse.map(\.count).reduce(0, +) == 9)
        }
    }

    @Test func historyPastRetentionIsDroppedByPartition() async throws {
        try await Self.withStore { client in
            let old = Date().addingTimeInterval(-40 * 86400)
            try await Retention.ensurePartitions(client: client, around: old, logger: Self.logger)
            try await Self.apply(client, Self.payload([Group(key: "k", total: 2)]), at: old)
            try await Self.apply(client, Self.payload([Group(key: "k", total: 5)]))
            let oldPartition = Retention.partitionName(for: Calendar.utc.startOfDay(for: old))
            func exists(_ name: String) async throws -> Bool {
                try await !client.query("SELECT 1 FROM pg_class WHERE relname = \(name)", logger: Self.logger).collect().isEmpty
            }
            #expect(try await exists(oldPartition))
            try await Retention(client: client, retention: .seconds(30 * 86400), logger: Self.logger).maintain(now: Date())
            #expect(try await !exists(oldPartition))
            let counts = try await client.query("SELECT sum(count)::int8 FROM group_counts", logger: Self.logger).collect().first?.decode(Int64?.self)
            #expect(counts == 3)
            // The total is not history: it stays.
            #expect(try await Self.total(client, key: "k") == 5)
        }
    }

    @Test func groupsFilterSortAndPageWithoutGapsOrRepeats() async throws {
        try await Self.withStore { client in
            var groups: [Group] = []
            for index in 0..<25 {
                groups.append(Group(service: index % 2 == 0 ? "api" : "worker", key: "key-\(index)", total: index + 1, severity: index % 5 == 0 ? .warning : .error))
            }
            try await Self.apply(client, Self.payload(groups))
            let queries = HubQueries(client: client, logger: Self.logger)
            var filter = HubQueries.GroupFilter(sort: .total, limit: 10)
            var seen: [String] = []
            var pages = 0
            repeat {
                let page = try await queries.groups(filter)
                seen += page.groups.map(\.aggregationKey)
                filter.cursor = page.nextCursor.flatMap(HubQueries.PageCursor.init(token:))
                pages += 1
            } while filter.cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(seen == (0..<25).reversed().map { "key-\($0)" })
            // By last seen, where every group has the same time: the cursor's ties go by id.
            var byTime = HubQueries.GroupFilter(limit: 7)
            var timed: [Int64] = []
            repeat {
                let page = try await queries.groups(byTime)
                timed += page.groups.map(\.id)
                byTime.cursor = page.nextCursor.flatMap(HubQueries.PageCursor.init(token:))
            } while byTime.cursor != nil && timed.count < 100
            #expect(timed.count == 25)
            #expect(Set(timed).count == 25)
            #expect(timed == timed.sorted(by: >))
                        #expect(try await queries.groups(HubQueries.GroupFilter(service: "worker")).groups.count == 12)
            #expect(try await queries.groups(HubQueries.GroupFilter(severity: .warning)).groups.map(\.aggregationKey).sorted() == ["key-0", "key-10", "key-15", "key-20", "key-5"])
            #expect(try await queries.groups(HubQueries.GroupFilter(text: "KEY-1")).groups.count == 11)
            #expect(try await queries.groups(HubQueries.GroupFilter(team: "nobody")).groups.isEmpty)
        }
    }

    /// The searched text lives in `group_search`, written only when it changes: an update of a
    /// group's counters leaves its row (and its trigram index entries) as they were.
    @Test func searchFollowsTheTextAndCountersAloneLeaveItAlone() async throws {
        try await Self.withStore { client in
            let queries = HubQueries(client: client, logger: Self.logger)
            func found(_ text: String) async throws -> [String] { try await queries.groups(HubQueries.GroupFilter(text: text)).groups.map(\.aggregationKey) }
            func searchRowVersion() async throws -> String {
                try await client.query("SELECT s.xmin::text FROM group_search s JOIN groups g ON g.id = s.group_id WHERE g.aggregation_key = 'key-a'", logger: Self.logger)
                    .collect().first!.decode(String.self)
            }
            try await Self.apply(client, Self.payload([Group(key: "key-a", total: 1, samples: ["s1"])]))
            #expect(try await found("frame s1") == ["key-a"])
            let written = try await searchRowVersion()

            // More occurrences, the same newest sample: the counters move, the searched row does not.
            try await Self.apply(client, Self.payload([Group(key: "key-a", total: 5, samples: ["s1"])]))
            #expect(try await Self.total(client, key: "key-a") == 5)
            #expect(try await searchRowVersion() == written)

            // A newer sample's stack trace replaces the searched one.
            try await Self.apply(client, Self.payload([Group(key: "key-a", total: 6, samples: ["s1", "s2"])]))
            #expect(try await found("frame s2") == ["key-a"])
            #expect(try await found("frame s1").isEmpty)
            #expect(try await searchRowVersion() != written)

            // Text common enough to be matched while the list walks its index (past `commonTextMatches`).
            let common = (0...HubQueries.commonTextMatches).map { Group(key: "common-\($0)", total: 1) }
            try await Self.apply(client, Self.payload(common))
            let page = try await queries.groups(HubQueries.GroupFilter(text: "COMMON-", limit: 5))
            #expect(page.groups.count == 5 && page.groups.allSatisfy { $0.aggregationKey.hasPrefix("common-") })
            #expect(page.nextCursor != nil)
        }
    }

    /// A database from before `group_search` gets its groups' text searchable by the migration.
    @Test func theMigrationMakesExistingGroupsSearchable() async throws {
        try await withTestDatabase { client in
            let before = Schema.migrations.filter { $0.version < 10 }
            _ = try await MigrationRunner.migrate(client, before, logger: Self.logger)
            try await client.query(
                "INSERT INTO groups (team, service, aggregation_key, class, message, stacktrace, first_seen, last_seen) VALUES ('t', 's', 'old-key', 'OldError', 'm', 'at old.Frame', now(), now())",
                logger: Self.logger)
            _ = try await MigrationRunner.migrate(client, Schema.migrations, logger: Self.logger)
            let queries = HubQueries(client: client, logger: Self.logger)
            #expect(try await queries.groups(HubQueries.GroupFilter(text: "old.frame")).groups.map(\.aggregationKey) == ["old-key"])
        }
    }
}
