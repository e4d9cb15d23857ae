import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Keeps `group_windows`, each group's occurrences in the standard windows (the last hour, day and
/// week), so that a list sorted by a window walks an index instead of summing the history of
/// every group. Refreshed at start and then every `interval`, or less often when a refresh takes
/// more than a twentieth of it (a large history): sorted lists and the teams' window counts may
/// be that much behind.
struct WindowRefresh: Service {
    static let windows: [Duration] = [.seconds(3600), .seconds(86400), .seconds(7 * 86400)]

    let client: any DatabaseClient
    let logger: Logger
    var interval: Duration = .seconds(10)
    var longestInterval: Duration = .seconds(60)
    /// Whether this hub does the work that must happen once (`Leadership`): one refresh is enough.
    var leads: @Sendable () -> Bool = { true }

    static func isStandard(_ window: Duration) -> Bool { windows.contains(window) }

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            guard leads() else {
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

    /// One statement per window: counts that changed are updated, groups quiet in the window lose their row.
    func refresh(now: Date) async throws {
        for window in Self.windows {
            var sql = SQLBuilder()
            let seconds = try sql.bind(Int32(window.components.seconds))
            let rows = try sql.historyRows(.window(window, now: now), groups: "true")
            try await client.query(
                sql.query(
                    """
                    WITH fresh AS (
                        SELECT group_id, sum(count)::int8 AS count FROM (\(rows)) history GROUP BY group_id HAVING sum(count) > 0
                    ), changed AS (
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
                    WHERE w.window_seconds = \(seconds) AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.group_id = w.group_id)
                    """), logger: logger)
        }
    }
}
