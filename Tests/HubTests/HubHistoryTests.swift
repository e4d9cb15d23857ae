import Foundation
import Logging
import PostgresNIO
import Testing

@testable import Hub

/// The hourly rollup, the window counts and text search give what the minute history and the
/// groups themselves say, whichever way a query reads them.
@Suite struct HubHistoryTests {
    typealias Group = HubStoreTests.Group
    static let logger = HubStoreTests.logger

    /// Occurrences of one group in `[from, to)`, straight from the minute rows.
    static func minuteSum(_ client: PostgresClient, group: Int64, from: Date, to: Date = .distantFuture) async throws -> Int64 {
        let rows = try await client.query(
            "SELECT coalesce(sum(count), 0)::int8 FROM group_counts WHERE group_id = \(group) AND minute >= \(from) AND minute < \(to)", logger: logger)
        return try await rows.collect().first!.decode(Int64.self)
    }

    /// Applies `steps` (hours ago, increase) to the group `key`, oldest first, making the day partitions they need.
    static func history(_ client: PostgresClient, key: String, now: Date, steps: [(hoursAgo: Double, increase: Int)]) async throws {
        var total = try await HubStoreTests.total(client, key: key).map(Int.init) ?? 0
        for step in steps.sorted(by: { $0.hoursAgo > $1.hoursAgo }) {
            let time = now.addingTimeInterval(-step.hoursAgo * 3600)
            try await Retention.ensurePartitions(client: client, around: time, logger: logger)
            total += step.increase
            try await HubStoreTests.apply(client, HubStoreTests.payload([Group(key: key, total: total)]), at: time)
        }
    }

    /// Occurrences on both sides of each window's start, across hour and day boundaries, by group key.
    static let edges: [String: [(hoursAgo: Double, increase: Int)]] = [
                "recent": [(0.1, 5), (0.5, 7), (0.98, 2), (1.02, 100)],
                "daily": [(2.5, 40), (23.9, 3), (24.1, 1000), (47, 9)],
                "weekly": [(30, 11), (24 * 6.9, 13), (24 * 7.1, 5000)],
    ]

    @Test func windowCountsAgreeWithTheMinuteHistory() async throws {
        try await HubStoreTests.withStore { client in
            let now = Date()
            let shapes = Self.edges.merging(["old": [(24 * 8, 1)]]) { $1 }
            for (key, steps) in shapes { try await Self.history(client, key: key, now: now, steps: steps) }
            let queries = HubQueries(client: client, logger: Self.logger)
            let ids = Dictionary(uniqueKeysWithValues: try await shapes.keys.asyncMap { ($0, try await HubStoreTests.groupID(client, key: $0)) })
            try await WindowRefresh(client: client, logger: Self.logger).refresh(now: now)

            for window in WindowRefresh.windows + [.seconds(7200)] {
                let start = now.addingTimeInterval(-Double(window.components.seconds))
                var expected: [String: Int64] = [:]
                for (key, id) in ids { expected[key] = try await Self.minuteSum(client, group: id, from: start) }
                // Every sort shows the same counts for the window.
                for sort in [HubQueries.Sort.lastSeen, .total, .window] {
                    let page = try await queries.groups(HubQueries.GroupFilter(sort: sort, window: window), now: now)
                    let shown = Dictionary(uniqueKeysWithValues: page.groups.map { ($0.aggregationKey, $0.occurrencesInWindow) })
                    #expect(shown == expected, "window \(window), sort \(sort)")
                }
                // Sorted by the window, a page at a time: the busiest first, then the quiet ones by id, none twice.
                var filter = HubQueries.GroupFilter(sort: .window, window: window, limit: 1)
                var order: [String] = []
                repeat {
                    let page = try await queries.groups(filter, now: now)
                    order += page.groups.map(\.aggregationKey)
                    filter.cursor = page.nextCursor.flatMap(HubQueries.PageCursor.init(token:))
                } while filter.cursor != nil && order.count < 10
                let ranked = expected.sorted { ($0.value, ids[$0.key]!) > ($1.value, ids[$1.key]!) }.map(\.key)
                #expect(order == ranked, "window \(window)")
            }
            // The stored windows have no rows for quiet groups, and the teams' summary reads them.
            let teams = try await queries.teams()
            #expect(teams.first?.lastHour == 14)
            #expect(teams.first?.lastDay == 157, "14 + 100 in the last hours, 40 + 3 earlier in the day")
            #expect(teams.first?.unresolved == 4)
            let stored = try await client.query("SELECT count(*)::int8 FROM group_windows WHERE window_seconds = 3600", logger: Self.logger).collect()
            #expect(try stored.first!.decode(Int64.self) == 1)
        }
    }

    @Test func aRefreshFollowsTheHistory() async throws {
        try await HubStoreTests.withStore { client in
            let now = Date()
            try await Self.history(client, key: "k", now: now, steps: [(0.2, 4)])
            let refresh = WindowRefresh(client: client, logger: Self.logger)
            let queries = HubQueries(client: client, logger: Self.logger)
            try await refresh.refresh(now: now)
            #expect(try await queries.groups(HubQueries.GroupFilter(sort: .window), now: now).groups.first?.occurrencesInWindow == 4)
            // Two hours later the group is quiet in the last hour: its row goes, the day's stays.
            let later = now.addingTimeInterval(7200)
            try await refresh.refresh(now: later)
            #expect(try await queries.groups(HubQueries.GroupFilter(sort: .window), now: later).groups.first?.occurrencesInWindow == 0)
            #expect(try await queries.groups(HubQueries.GroupFilter(sort: .window, window: .seconds(86400)), now: later).groups.first?.occurrencesInWindow == 4)
        }
    }

    /// Every window count, by "window/group".
    static func storedWindows(_ client: PostgresClient) async throws -> [String: Int64] {
        var counts: [String: Int64] = [:]
        for try await (window, group, count) in try await client.query("SELECT window_seconds, group_id, count FROM group_windows", logger: logger)
            .decode((Int32, Int64, Int64).self)
        {
            counts["\(window)/\(group)"] = count
        }
        return counts
    }

    /// A refresh after another sums only the groups whose windows can have moved, and holds at every step what a
    /// refresh of every group gives: counts that grew, history that left a window, a window whose first hour moved.
    @Test func aRefreshOfTheMovedGroupsGivesWhatOneOfEveryGroupGives() async throws {
        try await HubStoreTests.withStore { client in
            let start = Date()
            let shapes = Self.edges.merging(["quiet": [(0.9, 1)]]) { $1 }
            for (key, steps) in shapes { try await Self.history(client, key: key, now: start, steps: steps) }
            let refresh = WindowRefresh(client: client, logger: Self.logger, fullInterval: .seconds(30 * 86400))
            #expect(try await refresh.refresh(now: start) == .full)
            #expect(try await Self.storedWindows(client).count == 9, "recent and quiet in all three, daily in the day and week, weekly in the week")
            var now = start
            let steps: [(seconds: Double, grows: [String])] = [
                (5 * 60, ["recent"]), (40 * 60, []), (61 * 60, ["daily", "new"]), (3 * 3600, []), (22 * 3600, ["weekly"]), (26 * 3600, []),
                (5 * 86400, ["quiet"]), (2 * 86400, []),
            ]
            for step in steps {
                now = now.addingTimeInterval(step.seconds)
                for key in step.grows { try await Self.history(client, key: key, now: now, steps: [(0, 3)]) }
                let kind = try await refresh.refresh(now: now)
                #expect(kind == .increment(marked: step.grows.count), "\(step)")
                let moved = try await Self.storedWindows(client)
                // A refresh of every group, by a new one.
                #expect(try await WindowRefresh(client: client, logger: Self.logger).refresh(now: now) == .full)
                let full = try await Self.storedWindows(client)
                #expect(moved == full, "\(step)")
            }
            #expect(try await Self.storedWindows(client).isEmpty == false)
        }
    }

    /// At the retention's edge an hour may have its rollup row and no minutes (retention deletes minutes to the
    /// moment, hours by the day): a window whose first whole hour moves past that hour loses it at once, as a
    /// refresh of every group would have it.
    @Test func aWindowLosesAnHourWithoutMinutesWhenItsFirstHourMovesPastIt() async throws {
        try await HubStoreTests.withStore { client in
            // Ten minutes past an hour, so that the day's window starts inside hour X and reads X + 1 from the rollup.
            let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 3600).rounded(.down) * 3600 - 3600 + 600)
            try await Self.history(client, key: "edge", now: start, steps: [(22 + 50.0 / 60, 50)])
            let id = try await HubStoreTests.groupID(client, key: "edge")
            try await client.query("DELETE FROM group_counts WHERE group_id = \(id)", logger: Self.logger)
            let refresh = WindowRefresh(client: client, logger: Self.logger, fullInterval: .seconds(86400))
            #expect(try await refresh.refresh(now: start) == .full)
            #expect(try await Self.storedWindows(client)["86400/\(id)"] == 50)
            // 75 minutes on, the day starts 25 minutes into hour X + 1: its minutes are read, and there are none.
            let later = start.addingTimeInterval(75 * 60)
            #expect(try await refresh.refresh(now: later) == .increment(marked: 0))
            #expect(try await Self.storedWindows(client)["86400/\(id)"] == nil)
            #expect(try await Self.storedWindows(client)["604800/\(id)"] == 50)
        }
    }

    /// A mark that an ingest still applying its counts holds is left for the next refresh (which would otherwise
    /// sum the group without them), and the refresh does not wait for that ingest.
    @Test func aMarkAnIngestStillHoldsIsLeftForTheNextRefresh() async throws {
        try await HubStoreTests.withStore { client in
            let now = Date()
            try await Self.history(client, key: "k", now: now, steps: [(0.2, 4)])
            let id = try await HubStoreTests.groupID(client, key: "k")
            let refresh = WindowRefresh(client: client, logger: Self.logger)
            #expect(try await refresh.refresh(now: now) == .full)
            try await client.withConnection { ingest in
                try await ingest.query("BEGIN", logger: Self.logger)
                try await ingest.query("INSERT INTO window_changes (group_id) VALUES (\(id)) ON CONFLICT (group_id) DO UPDATE SET group_id = EXCLUDED.group_id", logger: Self.logger)
                try await ingest.query("UPDATE group_counts SET count = count + 6 WHERE group_id = \(id)", logger: Self.logger)
                try await ingest.query("UPDATE group_counts_hourly SET count = count + 6 WHERE group_id = \(id)", logger: Self.logger)
                let started = ContinuousClock.now
                #expect(try await refresh.refresh(now: now.addingTimeInterval(10)) == .increment(marked: 0))
                #expect(ContinuousClock.now - started < .seconds(5))
                try await ingest.query("COMMIT", logger: Self.logger)
            }
            #expect(try await refresh.refresh(now: now.addingTimeInterval(20)) == .increment(marked: 1))
            #expect(try await Self.storedWindows(client)["3600/\(id)"] == 10)
        }
    }

    @Test func occurrencesReadWholeHoursFromTheRollupExactly() async throws {
        try await HubStoreTests.withStore { client in
            let now = Date()
            let steps: [(hoursAgo: Double, increase: Int)] = [(0.01, 1), (0.7, 2), (1.3, 3), (5.55, 4), (26.2, 5), (50, 6), (71.9, 7)]
            try await Self.history(client, key: "k", now: now, steps: steps)
            let id = try await HubStoreTests.groupID(client, key: "k")
            let rollup = try await client.query("SELECT sum(count)::int8 FROM group_counts_hourly WHERE group_id = \(id)", logger: Self.logger).collect()
            #expect(try rollup.first!.decode(Int64.self) == 28)
            let queries = HubQueries(client: client, logger: Self.logger)
            // A range that starts and ends inside hours, at steps of whole hours and of minutes.
            let from = now.addingTimeInterval(-60 * 3600 - 1234)
            for step in [Duration.seconds(3600), .seconds(3 * 3600), .seconds(1800), .seconds(86400)] {
                let seconds = Double(step.components.seconds)
                let points = try await queries.occurrences(id: id, from: from, to: now, step: step)
                var expected: [Date: Int64] = [:]
                for point in points {
                    expected[point.time] = try await Self.minuteSum(client, group: id, from: max(point.time, from), to: min(point.time.addingTimeInterval(seconds), now))
                }
                let counts: [Int64] = points.map(\.count)
                let sums: [Int64] = points.map { expected[$0.time] ?? -1 }
                #expect(counts == sums, "step \(step)")
                let total: Int64 = counts.reduce(0, +)
                #expect(total == 21, "step \(step): all but the increase 71.9 hours ago")
            }
        }
    }

    @Test func textSearchFindsRareAndCommonTextsAlike() async throws {
        try await HubStoreTests.withStore { client in
            let count = HubQueries.commonTextMatches + 50
            try await HubStoreTests.apply(client, HubStoreTests.payload((0..<count).map { Group(key: "key-\($0)", total: $0 + 1) }))
            let queries = HubQueries(client: client, logger: Self.logger)
            // Common: every message ("m key-N") matches; paged by total, no gaps.
            var filter = HubQueries.GroupFilter(text: "M KEY", sort: .total, limit: 400)
            var seen: [String] = []
            repeat {
                let page = try await queries.groups(filter)
                seen += page.groups.map(\.aggregationKey)
                filter.cursor = page.nextCursor.flatMap(HubQueries.PageCursor.init(token:))
            } while filter.cursor != nil && seen.count < 2 * count
            #expect(seen == (0..<count).reversed().map { "key-\($0)" })
            // Rare: one group, and the 11 whose key starts with key-100 (key-100, key-1000 to key-1009).
            #expect(try await queries.groups(HubQueries.GroupFilter(text: "key-1033")).groups.map(\.aggregationKey) == ["key-1033"])
            let prefixed = try await queries.groups(HubQueries.GroupFilter(text: "key-100", sort: .total)).groups.map(\.aggregationKey)
            #expect(prefixed == (1000...1009).reversed().map { "key-\($0)" } + ["key-100"])
            // LIKE's wildcards are text like any other.
            #expect(try await queries.groups(HubQueries.GroupFilter(text: "key_1")).groups.isEmpty)
            #expect(try await queries.groups(HubQueries.GroupFilter(text: "%")).groups.isEmpty)
            // Text and another filter together.
            #expect(try await queries.groups(HubQueries.GroupFilter(service: "other", text: "key-1033")).groups.isEmpty)
        }
    }
}

extension Sequence where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
