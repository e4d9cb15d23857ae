import Logging
import PostgresNIO

/// Statements that end when their connection closes. PostgresNIO 1.33 writes a statement to its
/// connection without a promise for the write: one written in the moment the connection closes
/// (after its handlers are gone) is dropped, and its caller waits forever. When PostgreSQL
/// restarted under the hub, that stopped a leaf's scrape loop for good; a pool query right after
/// a backend was ended hung once in fifty (`DatabaseTests`). Checking `isClosed` first narrows
/// the moment but cannot close it: the check and the write run on different threads.
extension PostgresConnection {
    /// How often a statement waiting for its first answer looks whether its connection closed.
    static let closedPoll: Duration = .milliseconds(100)

    /// `start` (a statement up to its first answer), or `DatabaseUnavailable` once the connection
    /// has closed without one. A statement the connection failed as it closed reports its own
    /// error first: the closed connection is taken for the cause only a poll later. A statement
    /// dropped that way is left waiting (a suspended task, once per dropped write). Cancelling
    /// the caller does not end the wait, as it does not PostgresNIO's: the caller's next
    /// statement must reach the connection after this one.
    func whileOpen<T>(_ start: @escaping @Sendable () async throws -> T) async throws -> T {
        let closed = DatabaseUnavailable(reason: "the database closed the connection")
        if isClosed { throw closed }
        let outcome = FirstOutcome<Handed<T>>()
        let handed = try await withCheckedThrowingContinuation { continuation in
            outcome.start(continuation)
            let watch = Task {
                var closedPolls = 0
                while closedPolls < 2 {
                    guard (try? await Task.sleep(for: Self.closedPoll)) != nil else { return }
                    if self.isClosed { closedPolls += 1 }
                }
                outcome.finish(.failure(closed))
            }
            Task {
                do { outcome.finish(.success(Handed(value: try await start()))) } catch { outcome.finish(.failure(error)) }
                watch.cancel()
            }
        }
        return handed.value
    }

    /// `body` in one transaction: committed when it returns, rolled back when it throws (unless the
    /// connection closed, which rolled it back already). The body's own error is thrown.
    func openTransaction<Result: Sendable>(logger: Logger, _ body: @Sendable (PostgresConnection) async throws -> Result) async throws -> Result {
        try await openQuery("BEGIN", logger: logger)
        let value: Result
        do {
            value = try await body(self)
        } catch {
            if !isClosed { _ = try? await openQuery("ROLLBACK", logger: logger) }
            throw error
        }
        try await openQuery("COMMIT", logger: logger)
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
        try await whileOpen { try await self.execute(statement, logger: logger) }
    }

    /// A query's rows.
    @discardableResult
    func openQuery(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await whileOpen { try await self.query(query, logger: logger) }
    }
}

/// A statement's rows handed from the task that started it to the one that reads them, which
/// alone reads them from then on.
private struct Handed<T>: @unchecked Sendable {
    let value: T
}
