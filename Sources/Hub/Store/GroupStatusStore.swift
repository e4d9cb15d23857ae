import Foundation
import Logging
import PostgresNIO

/// The one write people make: a group's status, with who changed it and when (automatic changes,
/// a regression or an ignore that ends, are made by `FederationApply` and `Retention` as `canopy`).
struct GroupStatusStore: Sendable {
    let client: any DatabaseClient
    let logger: Logger

    enum Request: Sendable {
        case resolve
        case reopen
        case ignore(until: Date?, additionalOccurrences: Int64?)
    }

    /// Changes a group's status and records who did it. False when there is no such group.
    func set(id: Int64, _ request: Request, actor: String, comment: String?, now: Date = Date()) async throws -> Bool {
        try await client.transaction(logger: logger) { connection -> Bool in
            let rows = try await connection.openQuery("SELECT id, status, total FROM groups WHERE id = \(id) FOR UPDATE", logger: logger)
            guard let row = try await rows.collect().first else { return false }
            try await Self.change(try row.decode((Int64, String, Int64).self), request, actor: actor, comment: comment, now: now, on: connection, logger: logger)
            return true
        }
    }

    /// Changes the status of every group with `fingerprint` (one bug in every team that has it)
    /// in one transaction, each with its own change in its history. The number of groups changed.
    func set(fingerprint: String, _ request: Request, actor: String, comment: String?, now: Date = Date()) async throws -> Int {
        guard !fingerprint.isEmpty else { return 0 }
        return try await client.transaction(logger: logger) { connection -> Int in
            // In id order, so that two of these never deadlock each other. (Against an ingest that
            // locks two of the groups the other way round, PostgreSQL aborts one: a failed scrape
            // loses nothing, the next one counts it.)
            let rows = try await connection.openQuery(
                "SELECT id, status, total FROM groups WHERE fingerprint = \(fingerprint) ORDER BY id FOR UPDATE", logger: logger)
            let groups = try await rows.collect().map { try $0.decode((Int64, String, Int64).self) }
            for group in groups {
                try await Self.change(group, request, actor: actor, comment: comment, now: now, on: connection, logger: logger)
            }
            return groups.count
        }
    }

    /// One group's change, on the connection that locked its row.
    private static func change(
        _ group: (id: Int64, status: String, total: Int64), _ request: Request, actor: String, comment: String?, now: Date, on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        let (id, previous, total) = group
        var status = "unresolved"
        var until: Date?
        var untilTotal: Int64?
        var resolvedTotal: Int64?
        switch request {
        case .resolve:
            status = "resolved"
            resolvedTotal = total
        case .reopen:
            status = "unresolved"
        case .ignore(let date, let more):
            status = "ignored"
            until = date
            untilTotal = more.map { total + $0 }
        }
        try await connection.openQuery(
            """
            UPDATE groups SET status = \(status), resolved_total = \(resolvedTotal), ignored_until = \(until), ignored_until_total = \(untilTotal),
                status_changed_at = \(now), status_changed_by = \(actor)
            WHERE id = \(id)
            """, logger: logger)
        try await connection.openQuery(
            """
            INSERT INTO status_changes (group_id, at, actor, from_status, to_status, ignored_until, ignored_until_total, comment)
            VALUES (\(id), \(now), \(actor), \(previous), \(status), \(until), \(untilTotal), \(comment))
            """, logger: logger)
    }
}
