import Foundation
import Logging
import PostgresNIO

/// One step of the hub's schema, compiled into the binary. Its statements run in one transaction with the row that
/// records it, so a migration is applied entirely or not at all (no `CREATE INDEX CONCURRENTLY` in a migration).
struct Migration: Sendable {
    let version: Int
    let name: String
    let statements: [String]
}

/// Why the schema could not be migrated: names the migration and the statement where that helps.
struct MigrationError: Error, Sendable, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}

/// Applies the migrations a database lacks, in order, each in its own transaction, under a PostgreSQL advisory lock:
/// hubs starting at the same time take turns, and the second finds nothing left to do.
enum MigrationRunner {
    /// The advisory lock's key ("canopyM1"): one schema per database, so one key.
    static let lockKey: Int64 = 0x6361_6E6F_7079_4D31

    /// Brings the database up to the newest of `migrations` and returns the versions it applied (empty when the
    /// schema was current). Refuses a database with a version newer than the newest it knows.
    @discardableResult
    static func migrate(_ client: PostgresClient, _ migrations: [Migration], logger: Logger) async throws -> [Int] {
        try validate(migrations)
        do {
            return try await migrateOnOneConnection(client, migrations, logger: logger)
        } catch let error as PSQLError {
            throw MigrationError("could not migrate the schema: \(DatabaseErrorText.describe(error))")
        }
    }

    private static func migrateOnOneConnection(_ client: PostgresClient, _ migrations: [Migration], logger: Logger) async throws -> [Int] {
        try await client.withConnection { connection in
            // A session lock on this one connection, so every statement below runs while holding it.
            try await connection.openQuery("SELECT pg_advisory_lock(\(lockKey))", logger: logger)
            do {
                let applied = try await migrateLocked(connection, migrations, logger: logger)
                try await connection.openQuery("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
                return applied
            } catch {
                _ = try? await connection.openQuery("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
                throw error
            }
        }
    }

    private static func validate(_ migrations: [Migration]) throws {
        for (previous, next) in zip(migrations, migrations.dropFirst()) where next.version <= previous.version {
            throw MigrationError(
                "migrations must have increasing versions: \(next.version) (\(next.name)) comes after \(previous.version) (\(previous.name))")
        }
        if let first = migrations.first, first.version < 1 {
            throw MigrationError("migration versions start at 1, not \(first.version) (\(first.name))")
        }
    }

    private static func migrateLocked(_ connection: PostgresConnection, _ migrations: [Migration], logger: Logger) async throws -> [Int] {
        try await connection.openQuery(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """, logger: logger)
        var present = Set<Int>()
        for try await version in try await connection.openQuery("SELECT version FROM schema_migrations", logger: logger).decode(Int.self) {
            present.insert(version)
        }
        let known = migrations.last?.version ?? 0
        if let newest = present.max(), newest > known {
            throw MigrationError("database schema is at version \(newest), this hub knows up to \(known): upgrade the hub")
        }

        var applied: [Int] = []
        for migration in migrations where !present.contains(migration.version) {
            let started = ContinuousClock.now
            try await apply(migration, on: connection, logger: logger)
            applied.append(migration.version)
            logger.info(
                "applied a schema migration",
                metadata: [
                    "migration.version": "\(migration.version)", "migration.name": "\(migration.name)",
                    "migration.duration": "\(ContinuousClock.now - started)",
                ])
        }
        if applied.isEmpty {
            logger.debug("the schema is current", metadata: ["migration.version": "\(known)"])
        }
        return applied
    }

    private static func apply(_ migration: Migration, on connection: PostgresConnection, logger: Logger) async throws {
        func fail(_ statement: String, _ error: any Error) -> MigrationError {
            let firstLine = statement.split(separator: "\n").first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? statement
            return MigrationError("migration \(migration.version) (\(migration.name)) failed at `\(firstLine)`: \(DatabaseErrorText.describe(error))")
        }
        try await connection.openQuery("BEGIN", logger: logger)
        do {
            for statement in migration.statements {
                do {
                    try await connection.openQuery(PostgresQuery(unsafeSQL: statement), logger: logger)
                } catch {
                    throw fail(statement, error)
                }
            }
            do {
                try await connection.openQuery(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))", logger: logger)
                try await connection.openQuery("COMMIT", logger: logger)
            } catch {
                throw fail("COMMIT", error)
            }
        } catch {
            _ = try? await connection.openQuery("ROLLBACK", logger: logger)
            throw error
        }
    }
}
