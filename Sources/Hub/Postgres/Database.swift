import Foundation
import Logging
import PostgresNIO
import PromQL
import ServiceLifecycle
import Shared
import Synchronization

/// What the hub's stores and queries need of PostgreSQL. The hub gives them a ``Database``; tests may give them a
/// plain `PostgresClient`.
protocol DatabaseClient: Sendable {
    @discardableResult
    func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    func transaction<Result: Sendable>(logger: Logger, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result

    /// Runs a prepared statement that returns no rows (prepared once per connection).
    func run<Statement: PostgresPreparedStatement>(_ statement: Statement, logger: Logger) async throws where Statement.Row == ()
}

extension PostgresClient: DatabaseClient {
    @discardableResult
    func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await openQuery(query, logger: logger)
    }

    /// A query on a connection of the pool, failed if that connection closes before it starts (`OpenConnection`):
    /// the pool may hand out one that PostgreSQL has just closed, and PostgresNIO's own `query` then waits forever
    /// (one in fifty right after a backend was ended, in `DatabaseTests`). The rows may stream after the lease:
    /// the connection queues whatever the pool gives it next behind them.
    func openQuery(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await withConnection { connection in try await connection.openQuery(query, logger: logger) }
    }

    func transaction<Result: Sendable>(logger: Logger, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try await withConnection { connection in try await connection.openTransaction(logger: logger, body) }
    }

    func run<Statement: PostgresPreparedStatement>(_ statement: Statement, logger: Logger) async throws where Statement.Row == () {
        for try await _ in try await execute(statement, logger: logger) {}
    }
}

/// A database call that could not be made, or failed, because PostgreSQL cannot be reached. The API answers it with
/// a 503 and the pages with their error page; the ingest, the rules and the background loops fail and try again.
struct DatabaseUnavailable: Error, Sendable, CustomStringConvertible {
    /// What went wrong: "could not connect to db:5432: connection refused"; never a query.
    let reason: String

    var description: String { "database unreachable: \(reason)" }

    /// The error as a `DatabaseUnavailable` when it means the database cannot be reached (a connection refused,
    /// closed or timed out, a server shutting down or starting up), nil for any other error (a query PostgreSQL
    /// refused is the query's problem, not an outage).
    init?(classifying error: any Error) {
        if let error = error as? DatabaseUnavailable {
            self = error
            return
        }
        // A query that failed because its series could not be read.
        if let error = error as? QueryError, let cause = error.cause {
            self.init(classifying: cause)
            return
        }
        guard let error = error as? PSQLError else { return nil }
        switch error.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection, .poolClosed, .sslUnsupported:
            self.init(reason: DatabaseErrorText.describe(error))
        case .server:
            // Class 08: connection exceptions; 57P01-57P03: the server shuts down, crashed, or is starting up.
            guard let state = error.serverInfo?[.sqlState], state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state) else { return nil }
            self.init(reason: DatabaseErrorText.describe(error))
        default:
            return nil
        }
    }

    init(reason: String) { self.reason = reason }
}

/// The hub's PostgreSQL: a connection pool that never makes a caller wait for a database that is gone.
///
/// PostgresNIO's pool waits for a connection as long as it takes: with the database stopped, every request would
/// hang. So each call races a watchdog. After ``patience`` without an answer the watchdog asks the monitor (``run()``)
/// to probe the database with a connection of its own (connect and `SELECT 1`, each bounded by ``probeTimeout``);
/// a failed probe marks the database down, which fails every waiting call at once with the probe's reason, and every
/// new call at once, without touching the pool, until a probe succeeds. While down the monitor probes every
/// ``downProbeInterval``; the pool is closed once its calls have ended (it would only back off, for up to a minute
/// between attempts), and the probe that succeeds brings a fresh one. A busy but healthy database only ever makes
/// calls wait, as before: a probe that gets through (or a call that succeeded a moment ago) keeps it up.
final class Database: DatabaseClient, Service, Sendable {
    /// Where the database is: the pool's configuration, and one connection's for the probes.
    struct Endpoint: Sendable {
        var client: PostgresClient.Configuration
        var probe: PostgresConnection.Configuration
        /// host:port or the socket path, for the probes' reasons.
        var address: String
    }

    enum Health: Sendable, Equatable {
        case up
        case down(reason: String, since: Date)
    }

    static let patience: Duration = .seconds(1)
    static let probeTimeout: Duration = .seconds(2)
    static let downProbeInterval: Duration = .seconds(1)
    /// A database nobody used successfully for this long is probed anyway, so that `/-/ready` and the metrics see an
    /// outage of an idle hub.
    static let idleProbeInterval: Duration = .seconds(10)

    private struct Pool {
        let client: PostgresClient
        var calls = 0
        let retire = StopSignal()
    }

    private struct State {
        var pools: [Int: Pool]
        var current = 0
        var health = Health.up
        /// Given when the database is found down: wakes the calls waiting in the pool. A new one after each outage.
        var outage = StopSignal()
        var lastSuccess = ContinuousClock.now
    }

    let endpoint: Endpoint
    private let maximumConnections: Int
    private let metrics: HubMetrics
    private let logger: Logger
    private let state: Mutex<State>
    private let suspicions = Mailbox<Bool>()

    init(endpoint: Endpoint, maximumConnections: Int, metrics: HubMetrics, logger: Logger) {
        self.endpoint = endpoint
        self.maximumConnections = maximumConnections
        self.metrics = metrics
        self.logger = logger
        state = Mutex(State(pools: [0: Pool(client: Self.makeClient(endpoint, maximumConnections: maximumConnections, logger: logger))]))
        metrics.recordDatabase(up: true)
    }

    private static func makeClient(_ endpoint: Endpoint, maximumConnections: Int, logger: Logger) -> PostgresClient {
        var configuration = endpoint.client
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = probeTimeout
        return PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    var health: Health { state.withLock { $0.health } }

    // MARK: Calls

    @discardableResult
    func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await call { client in try await client.openQuery(query, logger: logger) }
    }

    func transaction<Result: Sendable>(logger: Logger, _ body: @escaping @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try await call { client in try await client.withConnection { connection in try await connection.openTransaction(logger: logger, body) } }
    }

    func run<Statement: PostgresPreparedStatement>(_ statement: Statement, logger: Logger) async throws where Statement.Row == () {
        // Failed if its connection closes before it starts (`OpenConnection`): the pool may hand out one PostgreSQL just closed.
        try await call { client in try await client.withConnection { connection in try await connection.run(statement, logger: logger) } }
    }

    /// Throws `DatabaseUnavailable` unless the database answers `SELECT 1`: `/-/ready`.
    func check(logger: Logger) async throws {
        for try await _ in try await query("SELECT 1", logger: logger) {}
    }

    private func call<Result: Sendable>(_ work: @escaping @Sendable (PostgresClient) async throws -> Result) async throws -> Result {
        let (client, pool, outage) = try admit()
        defer { state.withLock { $0.pools[pool]?.calls -= 1 } }
        do {
            let result = try await withThrowingTaskGroup(of: Result.self) { group in
                group.addTask { try await work(client) }
                group.addTask {
                    // Every `patience` without an answer asks for a probe, until the database is found down.
                    while await outage.sleep(until: ContinuousClock.now + Self.patience) { self.suspicions.send(true) }
                    try Task.checkCancellation()
                    throw self.unavailable()
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
            state.withLock { $0.lastSuccess = ContinuousClock.now }
            return result
        } catch {
            if Task.isCancelled && !(error is DatabaseUnavailable) { throw error }
            guard let unavailable = DatabaseUnavailable(classifying: error) else { throw error }
            metrics.recordDatabaseUnavailable()
            suspicions.send(true)
            throw unavailable
        }
    }

    /// The pool to use, or `DatabaseUnavailable` at once while the database is known to be down.
    private func admit() throws -> (PostgresClient, Int, StopSignal) {
        let admitted = state.withLock { state -> (PostgresClient, Int, StopSignal)? in
            guard state.health == .up, let pool = state.pools[state.current] else { return nil }
            state.pools[state.current]?.calls += 1
            return (pool.client, state.current, state.outage)
        }
        guard let admitted else {
            metrics.recordDatabaseUnavailable()
            throw unavailable()
        }
        return admitted
    }

    private func unavailable() -> DatabaseUnavailable {
        if case .down(let reason, _) = health { return DatabaseUnavailable(reason: reason) }
        return DatabaseUnavailable(reason: "no answer within \(DurationParser.format(Self.patience))")
    }

    // MARK: Monitoring

    /// Runs the pools and the monitor: probes when a call waits too long, every second while the database is down,
    /// and now and then while nothing else shows it is up.
    func run() async throws {
        await withDiscardingTaskGroup { group in
            let first = state.withLock { $0.pools[0]! }
            group.addTask { await self.host(first, id: 0) }
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                let down = health != .up
                let wait = down ? Self.downProbeInterval : Self.idleProbeInterval
                _ = try? await cancelWhenGracefulShutdown { try await self.waitForSuspicion(upTo: wait) }
                if Task.isCancelled || Task.isShuttingDownGracefully { break }
                // A call that succeeded since the last second shows the database answers: a waiting call waits for a
                // busy pool, not for a database that is gone.
                let recent = state.withLock { ContinuousClock.now - $0.lastSuccess < Self.patience }
                if !down && recent { continue }
                if let failure = await Self.probe(endpoint, logger: logger) {
                    markDown(failure)
                } else if let fresh = recover() {
                    group.addTask { await self.host(fresh.pool, id: fresh.id) }
                }
            }
            for pool in state.withLock({ $0.pools.values }) { pool.retire.stop() }
        }
    }

    /// Returns after `duration`, or earlier when a call asks for a probe.
    private func waitForSuspicion(upTo duration: Duration) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { _ = await self.suspicions.take() }
            group.addTask { try await Task.sleep(for: duration) }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Runs a pool until it is retired and its last call has ended (a pool stopped under a query in flight can leave
    /// that query waiting forever), or the hub stops.
    private func host(_ pool: Pool, id: Int) async {
        await withDiscardingTaskGroup { group in
            group.addTask { await pool.client.run() }
            await pool.retire.wait()
            let deadline = ContinuousClock.now + .seconds(30)
            while !Task.isShuttingDownGracefully && ContinuousClock.now < deadline, state.withLock({ ($0.pools[id]?.calls ?? 0) > 0 }) {
                try? await Task.sleep(for: .milliseconds(100))
            }
            state.withLock { _ = $0.pools.removeValue(forKey: id) }
            group.cancelAll()
        }
    }

    private func markDown(_ reason: String) {
        let (wasUp, outage, pool) = state.withLock { state -> (Bool, StopSignal, Pool?) in
            let wasUp = state.health == .up
            let since = if case .down(_, let since) = state.health { since } else { Date() }
            state.health = .down(reason: reason, since: since)
            // The metric changes with the health, so that nobody sees one without the other.
            if wasUp { metrics.recordDatabase(up: false) }
            return (wasUp, state.outage, state.pools[state.current])
        }
        guard wasUp else { return }
        outage.stop()
        // No call uses the pool while the database is down, and its retries would only log: closed once its waiting
        // calls have given up; a fresh one comes with the database.
        pool?.retire.stop()
        logger.error(
            "the database is unreachable: database calls fail at once until it answers again (probing every second)",
            metadata: ["store.error": "\(reason)", "store.database": "\(endpoint.address)"])
    }

    /// After a probe got through: up, with a fresh pool when the database was down. Only the monitor changes the health.
    private func recover() -> (pool: Pool, id: Int)? {
        let since = state.withLock { state -> Date? in
            state.lastSuccess = ContinuousClock.now
            guard case .down(_, let since) = state.health else { return nil }
            return since
        }
        guard let since else { return nil }
        let fresh = Pool(client: Self.makeClient(endpoint, maximumConnections: maximumConnections, logger: logger))
        let (old, id) = state.withLock { state -> (Pool?, Int) in
            let old = state.pools[state.current]
            state.current += 1
            state.pools[state.current] = fresh
            state.health = .up
            state.outage = StopSignal()
            metrics.recordDatabase(up: true)
            return (old, state.current)
        }
        old?.retire.stop()
        logger.notice("the database answers again", metadata: ["store.database": "\(endpoint.address)", "store.outage_seconds": "\(Int(-since.timeIntervalSinceNow))"])
        return (fresh, id)
    }

    /// Connects and runs `SELECT 1` on a connection of its own, each within `probeTimeout`; nil when that worked, else
    /// why not. "Too many connections" counts as an answer: the database is there, only full.
    static func probe(_ endpoint: Endpoint, logger: Logger) async -> String? {
        var configuration = endpoint.probe
        configuration.options.connectTimeout = TimeAmount(probeTimeout)
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        } catch {
            if let error = error as? PSQLError, error.serverInfo?[.sqlState] == "53300" { return nil }
            return "could not connect to \(endpoint.address): \(DatabaseErrorText.describe(error))"
        }
        let failure = await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do {
                    for try await _ in try await connection.query("SELECT 1", logger: logger) {}
                    return nil
                } catch {
                    return "\(endpoint.address) did not answer a query: \(DatabaseErrorText.describe(error))"
                }
            }
            group.addTask {
                // Closing the connection ends a query that gets no answer.
                try? await Task.sleep(for: probeTimeout)
                if !Task.isCancelled { try? await connection.close() }
                return "\(endpoint.address) did not answer a query within \(DurationParser.format(probeTimeout))"
            }
            defer { group.cancelAll() }
            return await group.next()!
        }
        try? await connection.close()
        return failure
    }
}
