import CanopyTestSupport
import Foundation
import PostgresNIO
import Synchronization
import Testing

@testable import Hub

/// `Database` on a real PostgreSQL that the test stops and starts: calls never wait long for a database that is gone,
/// and a database that is only busy is not taken for gone.
@Suite(.serialized) struct DatabaseTests {
    static func database(_ cluster: StoppableCluster, maximumConnections: Int = 4, metrics: HubMetrics = HubMetrics()) throws -> Database {
        let url = try #require(DatabaseURL(cluster.url))
        return Database(endpoint: try HubServer.endpoint(url), maximumConnections: maximumConnections, metrics: metrics, logger: testLogger)
    }

    static func metric(_ metrics: HubMetrics, _ name: String) -> Double? {
        let text = String(decoding: metrics.render(leaves: [], health: [:], databaseConnections: [:]), as: UTF8.self)
        return text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func callsFailWithTheReasonWhileTheDatabaseIsDownAndResumeWhenItIsBack() async throws {
        try await StoppableCluster.with { cluster in
            let metrics = HubMetrics()
            let database = try Self.database(cluster, metrics: metrics)
            try await withServices([database]) {
                try await database.check(logger: testLogger)
                // A query PostgreSQL refuses is the query's error, not an outage.
                let refused = await #expect(throws: PSQLError.self) { try await database.query("SELECT no_such_column FROM pg_class", logger: testLogger) }
                #expect(refused.flatMap { DatabaseUnavailable(classifying: $0) } == nil)
                #expect(database.health == .up)
                #expect(Self.metric(metrics, "canopy_hub_database_up") == 1)

                await cluster.stop()
                let stopped = ContinuousClock.now
                let first = await #expect(throws: DatabaseUnavailable.self) { try await database.check(logger: testLogger) }
                #expect(ContinuousClock.now - stopped < .seconds(3), "the first call after the stop waits at most a couple of seconds")
                try await expectEventually("the database is found down", timeout: .seconds(5)) { database.health != .up }
                guard case .down(let reason, _) = database.health else { return }
                #expect(reason.contains("127.0.0.1:\(cluster.port)"), "\(reason)")
                #expect(first?.description.hasPrefix("database unreachable: ") == true, "\(String(describing: first))")
                // While down every call fails at once with the probe's reason, without waiting for the pool.
                let later = ContinuousClock.now
                let again = await #expect(throws: DatabaseUnavailable.self) { try await database.query("SELECT 1", logger: testLogger) }
                #expect(ContinuousClock.now - later < .seconds(1))
                #expect(again?.reason == reason)
                await #expect(throws: DatabaseUnavailable.self) {
                    try await database.transaction(logger: testLogger) { connection in try await connection.query("SELECT 1", logger: testLogger) }
                }
                #expect(Self.metric(metrics, "canopy_hub_database_up") == 0)
                #expect(Self.metric(metrics, "canopy_hub_database_outages_total") == 1)
                #expect((Self.metric(metrics, "canopy_hub_database_unavailable_total") ?? 0) >= 3)

                try await cluster.start()
                try await expectEventually("calls succeed again once the database is back", timeout: .seconds(10)) {
                    (try? await database.check(logger: testLogger)) != nil
                }
                #expect(database.health == .up)
                let value = try await database.transaction(logger: testLogger) { connection in
                    try await connection.query("SELECT 41 + 1", logger: testLogger).collect().first?.decode(Int.self)
                }
                #expect(value == 42)
                #expect(Self.metric(metrics, "canopy_hub_database_up") == 1)
                #expect(Self.metric(metrics, "canopy_hub_database_outages_total") == 1)
            }
        }
    }

    /// PostgreSQL ending a transaction's connection (a restart, an administrator) fails the transaction at its next
    /// statement, at once. PostgresNIO 1.33 drops a statement written to a connection that has closed, and its caller
    /// would wait forever: a leaf's scrape loop stopped for good that way when the hub's PostgreSQL restarted.
    @Test func aConnectionTheServerEndsFailsTheTransactionInsteadOfHangingIt() async throws {
        try await StoppableCluster.with { cluster in
            let database = try Self.database(cluster)
            try await withServices([database]) {
                try await database.check(logger: testLogger)
                for ending in ["between statements", "under a statement"] {
                    let started = ContinuousClock.now
                    let outcome = await Self.within(.seconds(20)) {
                        try await database.transaction(logger: testLogger) { connection in
                            let pid = try await connection.query("SELECT pg_backend_pid()", logger: testLogger).collect().first!.decode(Int32.self)
                            if ending == "between statements" {
                                try await database.query("SELECT pg_terminate_backend(\(pid))", logger: testLogger)
                                // The connection learns of it and closes before the next statement is written.
                                try await Task.sleep(for: .milliseconds(300))
                                try await connection.run(IngestStatements.TrimSamples(groupIDs: [], limit: 1), logger: testLogger)
                            } else {
                                async let terminated: Void = {
                                    try await Task.sleep(for: .milliseconds(300))
                                    try await database.query("SELECT pg_terminate_backend(\(pid))", logger: testLogger)
                                }()
                                _ = try await connection.query("SELECT pg_sleep(5)", logger: testLogger).collect()
                                try await terminated
                            }
                        }
                    }
                    #expect(outcome == .failed, "\(ending)")
                    #expect(ContinuousClock.now - started < .seconds(10), "\(ending)")
                    // The pool goes on with fresh connections.
                    try await database.check(logger: testLogger)
                }
            }
        }
    }

    /// A query through the pool right after PostgreSQL ended the pool's connection ends (it fails, or succeeds on
    /// a new connection) instead of waiting forever on the closed one.
    @Test func aPoolQueryAfterTheServerEndedItsConnectionDoesNotHang() async throws {
        try await StoppableCluster.with { cluster in
            let database = try Self.database(cluster, maximumConnections: 1)
            let admin = try Self.database(cluster, maximumConnections: 1)
            try await withServices([database, admin]) {
                var outcomes: [Outcome] = []
                for attempt in 0..<100 {
                    let pid = try await database.query("SELECT pg_backend_pid()", logger: testLogger).collect().first!.decode(Int32.self)
                    try await admin.query("SELECT pg_terminate_backend(\(pid))", logger: testLogger)
                    // Across the moments the closed connection could be handed out again.
                    try await Task.sleep(for: .microseconds(100 * (attempt % 20)))
                    outcomes.append(await Self.within(.seconds(10)) {
                        _ = try await database.query("SELECT 1", logger: testLogger).collect()
                    })
                    _ = try? await eventually(timeout: .seconds(5)) { (try? await database.check(logger: testLogger)) != nil }
                }
                #expect(!outcomes.contains(.hung), "\(outcomes)")
            }
        }
    }

    enum Outcome: Equatable { case succeeded, failed, hung }

    /// How `work` ended, or `hung` when it had not after `limit` (then it is left running).
    static func within(_ limit: Duration, _ work: @escaping @Sendable () async throws -> Void) async -> Outcome {
        let box = OutcomeBox()
        Task {
            let outcome: Outcome
            do { try await work(); outcome = .succeeded } catch { outcome = .failed }
            box.set(outcome)
        }
        _ = try? await eventually(timeout: limit) { box.value != nil }
        return box.value ?? .hung
    }

    final class OutcomeBox: Sendable {
        private let state = Mutex<Outcome?>(nil)
        func set(_ outcome: Outcome) { state.withLock { $0 = outcome } }
        var value: Outcome? { state.withLock { $0 } }
    }

    /// A call that waits for a connection because the pool is busy waits for it, however long: the probe gets
    /// through, so the database is not marked down.
    @Test func aBusyPoolIsNoOutage() async throws {
        try await StoppableCluster.with { cluster in
            let database = try Self.database(cluster, maximumConnections: 1)
            try await withServices([database]) {
                try await database.check(logger: testLogger)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        try await database.transaction(logger: testLogger) { connection in
                            _ = try await connection.query("SELECT pg_sleep(\(Database.patience.seconds * 3))", logger: testLogger).collect()
                        }
                    }
                    try await Task.sleep(for: .milliseconds(200))
                    let waited = ContinuousClock.now
                    try await database.check(logger: testLogger)
                    #expect(ContinuousClock.now - waited > Database.patience, "the second call had to wait for the only connection")
                    try await group.waitForAll()
                }
                #expect(database.health == .up)
            }
        }
    }
}
