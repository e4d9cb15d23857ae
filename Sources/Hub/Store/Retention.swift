import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// Keeps the history within `retention`: `group_counts` and `series_counts` have a partition per UTC day, created
/// ahead of time and dropped whole once past retention (no row-by-row deletes); the snapshot log
/// and the hourly rollup are trimmed by time. Also ends ignores whose time is up.
struct Retention: Service {
    let client: any DatabaseClient
    let retention: Duration
    let logger: Logger
    var interval: Duration = .seconds(3600)
    /// Whether this hub does the work that must happen once (`Leadership`).
    var leads: @Sendable () -> Bool = { true }

    /// How soon maintenance that failed because the database was unreachable is tried again.
    var retryInterval: Duration = .seconds(60)

    func run() async throws {
        var wait = interval
        while true {
            let pause = wait
            guard (try? await cancelWhenGracefulShutdown({ try await Task.sleep(for: pause) })) != nil else { return }
            guard leads() else { continue }
            do {
                try await maintain(now: Date())
                wait = interval
            } catch {
                // An outage is logged once by `Database`; tomorrow's partitions must not wait an hour after it ends.
                let unavailable = error is DatabaseUnavailable
                logger.log(level: unavailable ? .debug : .error, "retention maintenance failed", metadata: ["store.error": "\(DatabaseErrorText.describe(error))"])
                wait = unavailable ? min(interval, retryInterval) : interval
            }
        }
    }

    /// Creates today's and the next two days' partitions, drops those past retention, trims logs.
    func maintain(now: Date) async throws {
        try await Self.ensurePartitions(client: client, around: now, logger: logger)
        let cutoff = now.addingTimeInterval(-Double(retention.components.seconds))
        for table in Self.partitioned {
            let partitions = try await client.query(
                """
                SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
                WHERE p.relname = \(table) AND c.relname ~ \("^\(table)_[0-9]{8}$")
                """, logger: logger)
            for try await name in partitions.decode(String.self) {
                guard let day = Self.day(ofPartition: name, of: table), day.addingTimeInterval(86400) <= cutoff else { continue }
                try await client.query("DROP TABLE IF EXISTS \(unescaped: name)", logger: logger)
                logger.info("dropped history past retention", metadata: ["store.partition": "\(name)"])
            }
            try await client.query("DELETE FROM \(unescaped: table)_default WHERE minute < \(cutoff)", logger: logger)
        }
        // The hourly rollup goes with the days whose partitions are gone.
        try await client.query("DELETE FROM group_counts_hourly WHERE hour < \(Calendar.utc.startOfDay(for: cutoff))", logger: logger)
        try await client.query("DELETE FROM scrapes WHERE time < \(cutoff)", logger: logger)
        try await client.query("DELETE FROM rule_samples WHERE time < \(cutoff)", logger: logger)
        try await client.query(
            "DELETE FROM rule_series s WHERE NOT EXISTS (SELECT 1 FROM rule_samples r WHERE r.series_id = s.id)", logger: logger)
        try await client.query(
            """
            WITH moved AS (
                UPDATE groups SET status = 'unresolved', status_changed_at = \(now), status_changed_by = 'canopy',
                    ignored_until = NULL, ignored_until_total = NULL
                WHERE status = 'ignored' AND ignored_until IS NOT NULL AND ignored_until <= \(now)
                RETURNING id
            )
            INSERT INTO status_changes (group_id, at, actor, from_status, to_status, comment)
            SELECT id, \(now), 'canopy', 'ignored', 'unresolved', 'the time it was ignored for is up' FROM moved
            """, logger: logger)
    }

    /// The minute histories, each with a partition per UTC day and a default one.
    static let partitioned = ["group_counts", "series_counts"]

    static func ensurePartitions(client: any DatabaseClient, around now: Date, logger: Logger) async throws {
        for table in partitioned {
            try await client.query("CREATE TABLE IF NOT EXISTS \(unescaped: table)_default PARTITION OF \(unescaped: table) DEFAULT", logger: logger)
            for offset in -1...2 {
                let day = Calendar.utc.startOfDay(for: now.addingTimeInterval(Double(offset) * 86400))
                let next = day.addingTimeInterval(86400)
                let name = partitionName(for: day, of: table)
                let exists = try await client.query("SELECT 1 FROM pg_class WHERE relname = \(name)", logger: logger).collect()
                guard exists.isEmpty else { continue }
                do {
                    try await client.query(
                        """
                        CREATE TABLE IF NOT EXISTS \(unescaped: name) PARTITION OF \(unescaped: table)
                        FOR VALUES FROM ('\(unescaped: iso(day))') TO ('\(unescaped: iso(next))')
                        """,
                        logger: logger)
                } catch {
                    if error is DatabaseUnavailable { throw error }
                    // Rows of that day landed in the default partition (a clock that jumped): they stay there.
                    logger.warning("could not create history partition", metadata: ["store.partition": "\(name)", "store.error": "\(DatabaseErrorText.describe(error))"])
                }
            }
        }
    }

    static func partitionName(for day: Date, of table: String = "group_counts") -> String {
        let parts = Calendar.utc.dateComponents([.year, .month, .day], from: day)
        return table + String(format: "_%04d%02d%02d", parts.year!, parts.month!, parts.day!)
    }

    static func day(ofPartition name: String, of table: String) -> Date? {
        let digits = name.dropFirst(table.count + 1)
        guard digits.count == 8, let year = Int(digits.prefix(4)), let month = Int(digits.dropFirst(4).prefix(2)), let day = Int(digits.suffix(2)) else {
            return nil
        }
        return Calendar.utc.date(from: DateComponents(year: year, month: month, day: day))
    }

    private static func iso(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
    }
}

extension Calendar {
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
