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
            let rows = try await connection.query("SELECT status, total FROM groups WHERE id = \(id) FOR UPDATE", logger: logger)
            guard let row = try await rows.collect().first else { return false }
            let (previous, total) = try row.decode((String, Int64).self)
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
            try await connection.query(
                """
                UPDATE groups SET status = \(status), resolved_total = \(resolvedTotal), ignored_until = \(until), ignored_until_total = \(untilTotal),
                    status_changed_at = \(now), status_changed_by = \(actor)
                WHERE id = \(id)
                """, logger: logger)
            try await connection.query(
                """
                INSERT INTO status_changes (group_id, at, actor, from_status, to_status, ignored_until, ignored_until_total, comment)
                VALUES (\(id), \(now), \(actor), \(previous), \(status), \(until), \(untilTotal), \(comment))
                """, logger: logger)
            return true
        }
    }
}
