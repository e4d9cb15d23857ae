import Foundation
import Logging
import PostgresNIO
import Synchronization
import Testing

@testable import Hub

/// A real, throwaway PostgreSQL database for a hub test, on one private cluster shared by the whole test process:
///
///     try await withTestDatabase { client in ... }
///
/// The cluster starts once, lazily, in a temporary directory (with fsync off: nothing there must survive a crash),
/// and is stopped, and its directory removed, by an `atexit` hook when the test process ends. A test process that
/// crashes leaves its cluster running; it is stopped with `pg_ctl -D /tmp/canopy-test-postgres-*/cluster stop`.
struct TestDatabase: Sendable {
    let name: String
    let configuration: PostgresClient.Configuration

    /// Creates a fresh database `test_<random>`, gives it to `body` and drops it afterwards, whatever `body` did.
    static func with<Result>(_ body: (TestDatabase) async throws -> Result) async throws -> Result {
        let cluster = try await TestCluster.shared.postgres()
        let name = "test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
        _ = try await withPostgresClient(cluster.clientConfiguration(database: "postgres")) { admin in
            try await admin.query("CREATE DATABASE \(unescaped: name)")
        }
        let database = TestDatabase(name: name, configuration: cluster.clientConfiguration(database: name))
        let result: Result
        do {
            result = try await body(database)
        } catch {
            try? await database.drop(on: cluster)
            throw error
        }
        try await database.drop(on: cluster)
        return result
    }

    /// Runs a client of this database during `body`.
    func withClient<Result>(_ body: (PostgresClient) async throws -> Result) async throws -> Result {
        try await withPostgresClient(configuration, body)
    }

    private func drop(on cluster: PrivatePostgres) async throws {
        _ = try await withPostgresClient(cluster.clientConfiguration(database: "postgres")) { admin in
            try await admin.query("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)")
        }
    }
}

/// A fresh database and a running client of it, for the length of `body`.
func withTestDatabase<Result>(_ body: (PostgresClient) async throws -> Result) async throws -> Result {
    try await TestDatabase.with { database in try await database.withClient(body) }
}

/// Runs `PostgresClient.run()` in a child task while `body` uses the client, and ends it afterwards.
func withPostgresClient<Result>(
    _ configuration: PostgresClient.Configuration, _ body: (PostgresClient) async throws -> Result
) async throws -> Result {
    let client = PostgresClient(configuration: configuration, backgroundLogger: testLogger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        return try await body(client)
    }
}

let testLogger: Logger = {
    var logger = Logger(label: "canopy-hub-tests")
    logger.logLevel = ProcessInfo.processInfo.environment["CANOPY_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
    return logger
}()

/// The test process's one cluster.
actor TestCluster {
    static let shared = TestCluster()

    private var starting: Task<PrivatePostgres, any Error>?

    func postgres() async throws -> PrivatePostgres {
        if let starting { return try await starting.value }
        let task = Task { try await Self.start() }
        starting = task
        return try await task.value
    }

    private static func start() async throws -> PrivatePostgres {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-test-postgres-\(UUID().uuidString.prefix(8))").path
        // Register the cleanup before starting: a start that fails half-way still leaves a directory.
        exitCleanup.withLock { $0.directory = root }
        atexit { stopTestClusterAtExit() }
        let postgres = try await PrivatePostgres.start(
            directory: "\(root)/cluster", settings: ["fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"], logger: testLogger)
        exitCleanup.withLock { $0.postgres = postgres }
        return postgres
    }
}

private let exitCleanup = Mutex<(directory: String?, postgres: PrivatePostgres?)>((nil, nil))

private func stopTestClusterAtExit() {
    let (directory, postgres) = exitCleanup.withLock { $0 }
    postgres?.stopImmediately()
    if let directory { try? FileManager.default.removeItem(atPath: directory) }
}

extension PostgresClient {
    /// The first column of the first row, or nil when there is no row.
    func scalar<Value: PostgresDecodable & Sendable>(_ query: PostgresQuery, as type: Value.Type = Value.self) async throws -> Value? {
        for try await value in try await self.query(query).decode(Value.self) { return value }
        return nil
    }
}

/// A fresh temporary directory for `body`, removed afterwards.
func withTemporaryDirectory<Result>(_ body: (String) async throws -> Result) async throws -> Result {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-test-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    return try await body(directory)
}
