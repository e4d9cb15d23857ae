import Foundation
import PostgresNIO
import Testing

@testable import Hub

/// Migrations against real, throwaway databases.
@Suite struct MigrationRunnerTests {
    let migrations = [
        Migration(version: 1, name: "create_teams", statements: ["CREATE TABLE teams (id serial PRIMARY KEY, name text NOT NULL UNIQUE)"]),
        Migration(
            version: 2, name: "create_groups",
            statements: [
                "CREATE TABLE groups (id serial PRIMARY KEY, team integer NOT NULL REFERENCES teams (id), key text NOT NULL)",
                "CREATE INDEX groups_team ON groups (team)",
            ]),
        Migration(version: 3, name: "seed_team", statements: ["INSERT INTO teams (name) VALUES ('payments')"]),
    ]

    func recorded(_ client: PostgresClient) async throws -> [(Int, String)] {
        var rows: [(Int, String)] = []
        for try await row in try await client.query("SELECT version, name FROM schema_migrations ORDER BY version").decode((Int, String).self) {
            rows.append(row)
        }
        return rows
    }

    func tableExists(_ client: PostgresClient, _ name: String) async throws -> Bool {
        try await client.scalar("SELECT to_regclass(\(name)) IS NOT NULL", as: Bool.self) == true
    }

    @Test func appliesMigrationsInOrderAndRecordsThem() async throws {
        try await withTestDatabase { client async throws in
            let applied = try await MigrationRunner.migrate(client, migrations, logger: testLogger)
            #expect(applied == [1, 2, 3])
            let rows = try await recorded(client)
            #expect(rows.map(\.0) == [1, 2, 3])
            #expect(rows.map(\.1) == ["create_teams", "create_groups", "seed_team"])
            #expect(try await tableExists(client, "groups"))
            #expect(try await client.scalar("SELECT count(*) FROM teams", as: Int.self) == 1)
            let recent = try await client.scalar(
                "SELECT count(*) FROM schema_migrations WHERE applied_at > now() - interval '1 minute'", as: Int.self)
            #expect(recent == 3)
        }
    }

    @Test func aSecondRunAppliesNothingAndANewerBinaryOnlyItsNewMigrations() async throws {
        try await withTestDatabase { client async throws in
            try await MigrationRunner.migrate(client, migrations, logger: testLogger)
            #expect(try await MigrationRunner.migrate(client, migrations, logger: testLogger) == [])
            #expect(try await client.scalar("SELECT count(*) FROM teams", as: Int.self) == 1, "the seed ran once")

            let newer = migrations + [Migration(version: 4, name: "add_status", statements: ["ALTER TABLE groups ADD COLUMN status text"])]
            #expect(try await MigrationRunner.migrate(client, newer, logger: testLogger) == [4])
            #expect(try await recorded(client).map(\.0) == [1, 2, 3, 4])
        }
    }

    @Test func aFailingMigrationRollsBackAloneAndIsNamed() async throws {
        try await withTestDatabase { client async throws in
            let broken = [
                migrations[0],
                Migration(
                    version: 2, name: "half_broken",
                    statements: ["CREATE TABLE half (id integer)", "INSERT INTO half VALUES (1)", "ALTER TABLE nowhere\n    ADD COLUMN x integer"]),
                migrations[2],
            ]
            let error = try await #require(throws: MigrationError.self) {
                try await MigrationRunner.migrate(client, broken, logger: testLogger)
            }
            #expect(error.description.contains("migration 2 (half_broken)"))
            #expect(error.description.contains("`ALTER TABLE nowhere`"))
            #expect(error.description.contains("does not exist"), "the server's message: \(error)")

            #expect(try await recorded(client).map(\.0) == [1], "migration 1 stays, 2 rolled back, 3 never ran")
            #expect(try await tableExists(client, "teams"))
            #expect(try await !tableExists(client, "half"))
            let advisoryLocks: PostgresQuery = """
                SELECT count(*) FROM pg_locks
                WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                """
            #expect(try await client.scalar(advisoryLocks, as: Int.self) == 0, "the lock is released")

            #expect(try await MigrationRunner.migrate(client, migrations, logger: testLogger) == [2, 3], "a fixed binary carries on")
        }
    }

    @Test func concurrentHubsApplyEachMigrationExactlyOnce() async throws {
        // Statements that fail when run twice (no IF NOT EXISTS), and a slow first migration so that both runs overlap.
        let slow =
            [Migration(version: 1, name: "slow_start", statements: ["SELECT pg_sleep(0.3)", "CREATE TABLE first (id integer)"])]
            + migrations.map { Migration(version: $0.version + 1, name: $0.name, statements: $0.statements) }
        try await TestDatabase.with { database in
            let results = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<3 {
                    group.addTask { try await database.withClient { try await MigrationRunner.migrate($0, slow, logger: testLogger) } }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.flatMap { $0 }.sorted() == [1, 2, 3, 4], "every migration applied by exactly one hub: \(results)")
            try await database.withClient { client async throws in
                #expect(try await recorded(client).map(\.0) == [1, 2, 3, 4])
                #expect(try await client.scalar("SELECT count(*) FROM teams", as: Int.self) == 1)
            }
        }
    }

    @Test func refusesADatabaseNewerThanTheHub() async throws {
        try await withTestDatabase { client async throws in
            try await MigrationRunner.migrate(client, migrations, logger: testLogger)
            let error = try await #require(throws: MigrationError.self) {
                try await MigrationRunner.migrate(client, Array(migrations.prefix(2)), logger: testLogger)
            }
            #expect(error.description == "database schema is at version 3, this hub knows up to 2: upgrade the hub")
            #expect(try await recorded(client).map(\.0) == [1, 2, 3])
        }
    }

    @Test func refusesMigrationsOutOfOrder() async throws {
        try await withTestDatabase { client async throws in
            let error = try await #require(throws: MigrationError.self) {
                try await MigrationRunner.migrate(client, [migrations[1], migrations[0]], logger: testLogger)
            }
            #expect(error.description.contains("increasing versions"))
            #expect(try await !tableExists(client, "schema_migrations"), "nothing was touched")
        }
    }
}
