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
/// and is stopped, and its directory removed, by an `atexit` hook when the test process ends. The cluster of a test
/// process that was killed (no `atexit`) is stopped and removed by the next test process that starts one.
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

/// Runs `PostgresClient.run()` while `body` uses the client, and ends it (and waits for it) once `body` is done.
///
/// Not a child task: when the test's task is cancelled (a sibling failed), cancelling `run()` together with a query
/// in flight can leave that query waiting forever (PostgresNIO 1.33). So the body's queries are cancelled first, and
/// `run()` only after the body returned.
func withPostgresClient<Result>(
    _ configuration: PostgresClient.Configuration, _ body: (PostgresClient) async throws -> Result
) async throws -> Result {
    let client = PostgresClient(configuration: configuration, backgroundLogger: testLogger)
    let running = Task { await client.run() }
    let result: Result
    do {
        result = try await body(client)
    } catch {
        running.cancel()
        await running.value
        throw error
    }
    running.cancel()
    await running.value
    return result
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

    private static let prefix = "canopy-test-postgres-"

    private static func start() async throws -> PrivatePostgres {
        removeStrayClusters()
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try Data("\(getpid())\n".utf8).write(to: URL(fileURLWithPath: "\(root)/owner"))
        // Register the cleanup before starting: a start that fails half-way still leaves a directory.
        exitCleanup.withLock { $0.directory = root }
        atexit { stopTestClusterAtExit() }
        let postgres = try await PrivatePostgres.start(
            directory: "\(root)/cluster", settings: ["fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"], logger: testLogger)
        exitCleanup.withLock { $0.postgres = postgres }
        return postgres
    }

    /// A test process that was killed (a timeout's SIGTERM, SIGKILL) never ran its `atexit` hook: the next one stops
    /// and removes the clusters whose owner is gone.
    private static func removeStrayClusters() {
        let files = FileManager.default
        let temporary = files.temporaryDirectory.path
        for name in (try? files.contentsOfDirectory(atPath: temporary)) ?? [] where name.hasPrefix(prefix) {
            let root = "\(temporary)/\(name)"
            let ownerText = try? String(contentsOfFile: "\(root)/owner", encoding: .utf8)
            let owner = ownerText.flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            if let owner {
                guard kill(owner, 0) != 0 else { continue }
            } else {
                // No owner: half removed, or half created by a process starting right now. Leave the young ones.
                let modified = (try? files.attributesOfItem(atPath: root))?[.modificationDate] as? Date
                guard let modified, modified < Date(timeIntervalSinceNow: -600) else { continue }
            }
            let cluster = "\(root)/cluster"
            if let text = try? String(contentsOfFile: "\(cluster)/postmaster.pid", encoding: .utf8),
                let pid = text.split(separator: "\n").first.flatMap({ pid_t($0) }), PrivatePostgres.isPostmaster(pid, of: cluster),
                let binaries = try? PostgresBinaries.locate()
            {
                let user = geteuid() == 0 ? try? PostgresProcess.User.unprivileged() : nil
                _ = try? PostgresProcess.runBlocking(binaries.pgCtl, ["-D", cluster, "-m", "immediate", "-w", "-t", "30", "stop"], as: user)
            }
            try? files.removeItem(atPath: root)
        }
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
