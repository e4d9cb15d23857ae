import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Keeps `group_windows`, each group's occurrences in the standard windows (the last hour, day and
/// week), so that a list sorted by a window walks an index instead of summing the history of
/// every group. Refreshed at start and then every `interval`, or less often when a refresh takes
/// more than a twentieth of it (a large history): sorted lists and the teams' window counts may
/// be that much behind.
///
/// A refresh after another sums only the groups whose window can have moved since (`Candidates`):
/// those the ingest marked in `window_changes` with their counts, and those with history that has
/// left a window. Every `fullInterval`, at start, after a failed refresh and when this hub takes
/// the lead, it sums every group's windows instead, which also catches history that retention
/// dropped from inside a window.
struct WindowRefresh: Service {
    static let windows: [Duration] = [.seconds(3600), .seconds(86400), .seconds(7 * 86400)]
    /// More marked groups than this are summed with every other.
    static let largestIncrement = 50_000

    let client: any DatabaseClient
    let logger: Logger
    let interval: Duration
    let longestInterval: Duration = .seconds(60)
    let fullInterval: Duration
    /// Whether this hub does the work that must happen once (`Leadership`): one refresh is enough.
    let leads: @Sendable () -> Bool
    /// The last refresh that succeeded, shared by copies of this value.
    private let last = LastRefresh()

    enum Kind: Equatable, Sendable {
        case full
        /// The groups summed again (marked, or with history that left a window).
        case increment(marked: Int)
    }

    static func isStandard(_ window: Duration) -> Bool { windows.contains(window) }

    init(client: any DatabaseClient, logger: Logger, interval: Duration = .seconds(10), fullInterval: Duration = .seconds(600), leads: @escaping @Sendable () -> Bool = { true }) {
        self.client = client
        self.logger = logger
        self.interval = interval
        self.fullInterval = fullInterval
        self.leads = leads
    }

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            guard leads() else {
                // Another hub refreshed meanwhile and took the marks: a new lead starts with every group.
                last.forget()
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: min(interval, .seconds(1))) }
                continue
            }
            let started = ContinuousClock.now
            await refreshLogged()
            let pause = min(longestInterval, max(interval, (ContinuousClock.now - started) * 20))
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
    }

    private func refreshLogged() async {
        do {
            try await refresh(now: Date())
        } catch {
            // An outage is logged once by `Database`; the next refresh catches up.
            logger.log(
                level: error is DatabaseUnavailable ? .debug : .error, "refreshing the window counts failed",
                metadata: ["store.error": "\(DatabaseErrorText.describe(error))"])
        }
    }

    /// One statement per window: counts that changed are updated, groups quiet in the window lose
    /// their row. A refresh that fails leaves the next one to sum every group (the last refresh is
    /// taken here and set again only at the end).
    @discardableResult
    func refresh(now: Date) async throws -> Kind {
        let previous = last.take()
        let marked = try await takeMarks()
        if let previous, previous.at <= now, now.timeIntervalSince(previous.full) < Double(fullInterval.components.seconds), marked.count <= Self.largestIncrement {
            for window in Self.windows { try await refresh(window, now: now, candidates: Candidates(window: window, since: previous.at, now: now, marked: marked)) }
            last.set(at: now, full: previous.full)
            return .increment(marked: marked.count)
        }
        for window in Self.windows { try await refresh(window, now: now, candidates: nil) }
        last.set(at: now, full: now)
        return .full
    }

    /// The marks no ingest holds: a mark that a transaction still applying counts has locked is
    /// left for the next refresh, so that every group taken here has its counts committed.
    private func takeMarks() async throws -> [Int64] {
        let rows = try await client.query(
            """
            DELETE FROM window_changes WHERE group_id IN (SELECT group_id FROM window_changes FOR UPDATE SKIP LOCKED)
            RETURNING group_id
            """, logger: logger)
        var ids: [Int64] = []
        for try await id in rows.decode(Int64.self) { ids.append(id) }
        return ids
    }

    /// Which groups' `window` can differ from what the previous refresh, at `since`, found: the
    /// marked (their counts grew), those with minutes that have left the window since (the window
    /// starts at `now - window`), and, when the window's first whole hour moved, those with history
    /// in the hours it left (their hour was read from the rollup and is now read from its minutes).
    /// The current hour's row is new only where counts were written, which marks the group.
    struct Candidates {
        var marked: [Int64]
        var leftFrom: Date
        var leftTo: Date
        var hoursFrom: Date
        var hoursTo: Date

        init(window: Duration, since: Date, now: Date, marked: [Int64]) {
            let seconds = Double(window.components.seconds)
            self.marked = marked
            leftFrom = since.addingTimeInterval(-seconds)
            leftTo = now.addingTimeInterval(-seconds)
            hoursFrom = HistorySplit.window(window, now: since).hoursFrom
            hoursTo = max(hoursFrom, HistorySplit.window(window, now: now).hoursFrom)
        }

        func sql(_ builder: inout SQLBuilder) throws -> String {
            let marked = try builder.bind(self.marked)
            let leftFrom = try builder.bind(leftFrom)
            let leftTo = try builder.bind(leftTo)
            let hoursFrom = try builder.bind(hoursFrom)
            let hoursTo = try builder.bind(hoursTo)
            return """
                SELECT unnest(\(marked)::int8[]) AS group_id
                UNION SELECT group_id FROM group_counts WHERE minute >= \(leftFrom) AND minute < \(leftTo)
                UNION SELECT group_id FROM group_counts_hourly WHERE hour >= \(hoursFrom) AND hour < \(hoursTo)
                """
        }
    }

    /// Every group's `window` when `candidates` is nil, else only theirs (each candidate's rows
    /// found by its key: scanning the window's rows for them read every group's).
    private func refresh(_ window: Duration, now: Date, candidates: Candidates?) async throws {
        var sql = SQLBuilder()
        let seconds = try sql.bind(Int32(window.components.seconds))
        let fresh: String
        let gone: String
        if let candidates {
            let rows = try sql.historyRows(.window(window, now: now), groups: "group_id = c.group_id")
            fresh = """
                WITH candidates AS (\(try candidates.sql(&sql))), fresh AS (
                    SELECT c.group_id, sum(h.count)::int8 AS count FROM candidates c CROSS JOIN LATERAL (\(rows)) h
                    GROUP BY c.group_id HAVING sum(h.count) > 0
                )
                """
            gone = "AND w.group_id IN (SELECT group_id FROM candidates)"
        } else {
            let rows = try sql.historyRows(.window(window, now: now), groups: "true")
            fresh = "WITH fresh AS (SELECT group_id, sum(count)::int8 AS count FROM (\(rows)) history GROUP BY group_id HAVING sum(count) > 0)"
            gone = ""
        }
        try await client.query(
            sql.query(
                """
                \(fresh), changed AS (
                    -- Only counts that moved reach ON CONFLICT, which locks (and logs) every row it
                    -- meets, even where nothing is updated: that was most of a refresh's cost.
                    SELECT f.group_id, f.count FROM fresh f
                    LEFT JOIN group_windows w ON w.window_seconds = \(seconds) AND w.group_id = f.group_id
                    WHERE w.count IS DISTINCT FROM f.count
                ), upserted AS (
                    INSERT INTO group_windows (window_seconds, group_id, count) SELECT \(seconds), group_id, count FROM changed
                    ON CONFLICT (window_seconds, group_id) DO UPDATE SET count = EXCLUDED.count
                )
                DELETE FROM group_windows w
                WHERE w.window_seconds = \(seconds) \(gone) AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.group_id = w.group_id)
                """), logger: logger)
    }
}

/// When the window counts were last refreshed, and last refreshed for every group.
private final class LastRefresh: Sendable {
    struct Refresh { var at: Date, full: Date }
    private let state = Mutex<Refresh?>(nil)

    /// The last refresh, forgotten until `set` again: a refresh that does not finish leaves none.
    func take() -> Refresh? { state.withLock { state in defer { state = nil }; return state } }
    func set(at: Date, full: Date) { state.withLock { $0 = Refresh(at: at, full: full) } }
    func forget() { state.withLock { $0 = nil } }
}
