import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Which of the hubs sharing a database does the work that must happen once (rule evaluation and
/// so notifications, the window refresh, retention): the one holding a PostgreSQL session
/// advisory lock. Every hub scrapes, counts and serves; only the leader does that work.
///
/// The lock lives with one connection of its own, named `canopy-hub <identity>` so that the
/// others can say who leads. A hub that dies (SIGKILL, a crash) drops its connection and with it
/// the lock; another hub takes it at its next try, every `interval`. A leader checks its
/// connection as often, and steps down the moment the check fails.
final class Leadership: Service, Sendable {
    /// The advisory lock's key ("canopyL1"), beside the migrations' "canopyM1". Advisory locks
    /// belong to a database, so hubs on other databases of the same server don't compete.
    static let lockKey: Int64 = 0x6361_6E6F_7079_4C31

    struct Status: Sendable, Equatable {
        var isLeader = false
        /// The leading hub's identity, as last seen (nil: none seen yet, or the database is gone).
        var leader: String?
        /// Times this hub took the lead; work that follows the lead restarts when it changes.
        var terms = 0
        /// Times this hub took or lost the lead.
        var changes = 0
    }

    let identity: String
    private let configuration: PostgresConnection.Configuration
    private let interval: @Sendable () -> Duration
    private let logger: Logger
    private let status = Mutex(Status())

    /// The longest a query of the campaign may take: a connection that does not answer is closed.
    static let queryTimeout: Duration = .seconds(2)

    /// `configuration` reaches the hub's database; `interval`, how often to try for the lead
    /// and to check it, is read before each wait (it follows the evaluation interval).
    init(configuration: PostgresConnection.Configuration, identity: String, interval: @escaping @Sendable () -> Duration, logger: Logger) {
        var configuration = configuration
        configuration.options.connectTimeout = .seconds(2)
        // application_name is at most 63 bytes (NAMEDATALEN); longer is cut by the server.
        configuration.options.additionalStartupParameters = [("application_name", "canopy-hub \(identity)")]
        self.configuration = configuration
        self.identity = identity
        self.interval = interval
        self.logger = logger
    }

    var current: Status { status.withLock { $0 } }
    var isLeader: Bool { status.withLock { $0.isLeader } }

    func run() async throws {
        await cancelWhenGracefulShutdown { await self.campaign() }
        step(down: "the hub is stopping")
    }

    /// A connection of its own (not the pool's: a session lock belongs to its connection, and a
    /// pool may hold a dead one through an outage), made again whenever it fails. Stopping
    /// closes it, which releases the lock at once.
    private func campaign() async {
        var id = 0
        while !Task.isCancelled {
            id += 1
            do {
                let connection = try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
                do {
                    try await hold(connection)
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
            } catch {
                if Task.isCancelled { break }
                step(down: "the database connection failed: \(DatabaseErrorText.describe(error))")
                status.withLock { $0.leader = nil }
            }
            try? await Task.sleep(for: interval())
        }
    }

    /// Every `interval` while the connection works: tries for the lock, or checks it is held.
    private func hold(_ connection: PostgresConnection) async throws {
        while !Task.isCancelled {
            // A query on a connection the server closed waits for ever (PostgresNIO 1.33).
            if connection.isClosed { throw ConnectionClosed() }
            if isLeader {
                try await bounded(connection) { try await self.checkLock(connection) }
            } else if try await bounded(connection, { try await self.tryLock(connection) }) {
                takeLead()
            } else {
                let leader = try await bounded(connection) { try await self.leader(connection) }
                status.withLock { $0.leader = leader }
            }
            try await Task.sleep(for: interval())
        }
    }

    /// `work` on `connection`, or an error once it took `queryTimeout` or the task is cancelled:
    /// then the connection is closed and `work` left to fail on its own, as a query on a dead
    /// connection may never return (PostgresNIO 1.33).
    private func bounded<T: Sendable>(_ connection: PostgresConnection, _ work: @escaping @Sendable () async throws -> T) async throws -> T {
        let outcome = FirstOutcome<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                outcome.start(continuation)
                let worker = Task {
                    do { outcome.finish(.success(try await work())) } catch { outcome.finish(.failure(error)) }
                }
                Task {
                    try? await Task.sleep(for: Self.queryTimeout)
                    guard outcome.finish(.failure(QueryTimedOut(timeout: Self.queryTimeout))) else { return }
                    worker.cancel()
                    try? await connection.close()
                }
            }
        } onCancel: {
            if outcome.finish(.failure(CancellationError())) { Task { try? await connection.close() } }
        }
    }

    private func tryLock(_ connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query("SELECT pg_try_advisory_lock(\(Self.lockKey))", logger: logger)
        for try await held in rows.decode(Bool.self) { return held }
        return false
    }

    /// Throws unless this connection still holds the lock (someone may have ended the session
    /// with pg_terminate_backend, or the server restarted).
    private func checkLock(_ connection: PostgresConnection) async throws {
        let rows = try await connection.query(
            """
            SELECT count(*)::int8 FROM pg_locks
            WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()
              AND classid = \(Int64(Self.lockKey >> 32))::oid AND objid = \(Int64(Self.lockKey & 0xFFFF_FFFF))::oid AND objsubid = 1
            """, logger: logger)
        for try await count in rows.decode(Int64.self) where count > 0 { return }
        throw LeadershipLost()
    }

    /// The identity of the hub that holds the lock, from its session's application_name.
    private func leader(_ connection: PostgresConnection) async throws -> String? {
        let rows = try await connection.query(
            """
            SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
              AND l.classid = \(Int64(Self.lockKey >> 32))::oid AND l.objid = \(Int64(Self.lockKey & 0xFFFF_FFFF))::oid AND l.objsubid = 1
            """, logger: logger)
        for try await name in rows.decode(String?.self) {
            guard let name else { return "unknown (another database role)" }
            return name.hasPrefix("canopy-hub ") ? String(name.dropFirst("canopy-hub ".count)) : name
        }
        return nil
    }

    private func takeLead() {
        status.withLock {
            $0.isLeader = true
            $0.leader = identity
            $0.terms += 1
            $0.changes += 1
        }
        logger.notice("this hub leads: it evaluates rules, sends alerts, refreshes windows and keeps retention", metadata: ["hub.identity": "\(identity)"])
    }

    private func step(down reason: String) {
        let was = status.withLock { status in
            let was = status.isLeader
            if was {
                status.isLeader = false
                status.changes += 1
            }
            return was
        }
        if was { logger.warning("this hub no longer leads", metadata: ["hub.identity": "\(identity)", "hub.reason": "\(reason)"]) }
    }

    /// For `/-/ready`: which hub leads, as an operator reads it.
    var role: String {
        let status = current
        if status.isLeader { return "leader" }
        return "follower, the leader is \(status.leader ?? "not known yet")"
    }

    /// `canopy_hub_leader` and its changes, for `/metrics`.
    func exposition() -> String {
        let status = current
        return """
            # HELP canopy_hub_leader 1 while this hub leads the hubs sharing its database (it evaluates rules, sends alerts, refreshes windows, keeps retention).
            # TYPE canopy_hub_leader gauge
            canopy_hub_leader \(status.isLeader ? 1 : 0)
            # HELP canopy_hub_leader_changes_total Times this hub took or lost the lead.
            # TYPE canopy_hub_leader_changes_total counter
            canopy_hub_leader_changes_total \(status.changes)

            """
    }

    struct ConnectionClosed: Error, CustomStringConvertible {
        var description: String { "the server closed the connection" }
    }

    struct QueryTimedOut: Error, CustomStringConvertible {
        let timeout: Duration
        var description: String { "the database did not answer within \(timeout)" }
    }

    struct LeadershipLost: Error, CustomStringConvertible {
        var description: String { "this hub's session no longer holds the leader lock" }
    }
}
