import Logging
import PostgresNIO

/// Statements only on a connection that is still open, and transactions that never wait on a
/// closed one. PostgresNIO 1.33 drops a statement written to a connection that has closed (once
/// its handlers are gone) without failing it, and the caller waits forever: when PostgreSQL
/// restarted under the hub, a transaction whose connection closed between two statements, or
/// whose ROLLBACK went to the closed connection, stopped its leaf's scrape loop for good.
extension PostgresConnection {
    /// Throws `DatabaseUnavailable` when the connection has closed.
    func ensureOpen() throws {
        if isClosed { throw DatabaseUnavailable(reason: "the database closed the connection") }
    }

    /// `body` in one transaction: committed when it returns, rolled back when it throws (unless the
    /// connection closed, which rolled it back already). The body's own error is thrown.
    func openTransaction<Result: Sendable>(logger: Logger, _ body: @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try ensureOpen()
        try await query("BEGIN", logger: logger)
        let value: Result
        do {
            value = try await body(self)
        } catch {
            if !isClosed { _ = try? await query("ROLLBACK", logger: logger) }
            throw error
        }
        try ensureOpen()
        try await query("COMMIT", logger: logger)
        return value
    }

    /// Runs a statement that returns no rows, to its end. (Not `execute`'s command-tag variant:
    /// PostgresNIO 1.33 traps in it when the result was not complete on arrival.)
    func run<Statement: PostgresPreparedStatement>(_ statement: Statement, logger: Logger) async throws where Statement.Row == () {
        for try await _ in try await rows(statement, logger: logger) {}
    }

    /// A prepared statement's rows.
    func rows<Statement: PostgresPreparedStatement>(_ statement: Statement, logger: Logger) async throws
        -> AsyncThrowingMapSequence<PostgresRowSequence, Statement.Row>
    {
        try ensureOpen()
        return try await execute(statement, logger: logger)
    }

    /// A query's rows.
    @discardableResult
    func openQuery(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try ensureOpen()
        return try await self.query(query, logger: logger)
    }
}
