import PromQL
import Shared

/// Runs one PromQL query the way every surface of the hub runs it (`/api/v1/query`,
/// `/api/v1/query_range` and the graph page): the engine with the hub's `QueryLimits`, over the
/// hub's series, stopped at the hub's `--query.timeout` (or a shorter one the caller asks for).
/// One place, so that a query costs and answers the same wherever it is typed.
struct QueryRunner: Sendable {
    /// Why a query was not run or did not finish, besides the evaluator's own `QueryError`s:
    /// parameters a range query cannot have (`badData`) and the timeout (`timeout`). The API
    /// answers these as Prometheus's `bad_data` and `timeout`; the page shows `message`.
    struct Refusal: Error, Sendable, CustomStringConvertible {
        enum Kind: Sendable { case badData, timeout }
        let kind: Kind
        let message: String

        init(_ kind: Kind, _ message: String) {
            self.kind = kind
            self.message = message
        }

        var description: String { message }

        static let timedOut = Refusal(.timeout, "query timed out in expression evaluation")
    }

    let source: any SeriesSource
    let settings: QuerySettings

    /// The timeout a query gets: the one asked for, but never more than the hub's.
    func timeout(asked: Duration?) -> Duration { asked.map { min($0, settings.timeout) } ?? settings.timeout }

    /// `expr` at `time`, as `/api/v1/query` answers it.
    func instant(_ expr: Expr, at time: Timestamp, timeout: Duration? = nil) async throws -> QueryValue {
        let source = self.source
        return try await run(timeout: timeout) { engine in try await engine.instant(expr, at: time, source: source) }
    }

    /// `expr` from `start` to `end` every `step` (all milliseconds), as `/api/v1/query_range`
    /// answers it, after `checkRange`'s refusals.
    func range(_ expr: Expr, start: Timestamp, end: Timestamp, step: Timestamp, timeout: Duration? = nil) async throws -> QueryValue {
        try Self.checkRange(expr, start: start, end: end, step: step, maxSteps: settings.limits.maxSteps)
        let source = self.source
        return try await run(timeout: timeout) { engine in
            try await engine.range(expr, start: start, end: end, step: step, source: source)
        }
    }

    /// What Prometheus refuses before evaluating a range query, with its messages: an end
    /// before the start, a step that is not positive, more than `maxSteps` points per series,
    /// and an expression that is not a scalar or an instant vector.
    static func checkRange(_ expr: Expr, start: Timestamp, end: Timestamp, step: Timestamp, maxSteps: Int) throws(Refusal) {
        guard end >= start else { throw Refusal(.badData, "invalid parameter \"end\": end timestamp must not be before start time") }
        guard step > 0 else {
            throw Refusal(.badData, "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer")
        }
        guard (end - start) / step < maxSteps else {
            throw Refusal(
                .badData,
                "exceeded maximum resolution of \(WebFormat.grouped(Int64(maxSteps))) points per timeseries. Try decreasing the query resolution (?step=XX)")
        }
        guard expr.type == .scalar || expr.type == .instantVector else {
            throw Refusal(.badData, "invalid expression type \"\(expr.type)\" for range query, must be Scalar or instant Vector")
        }
    }

    /// Evaluates within the timeout; cancellation reaches the evaluator, which stops.
    private func run(timeout asked: Duration?, _ body: @escaping @Sendable (QueryEngine) async throws -> QueryValue) async throws -> QueryValue {
        let timeout = self.timeout(asked: asked)
        let engine = QueryEngine(limits: settings.limits)
        return try await withThrowingTaskGroup(of: QueryValue?.self) { group in
            group.addTask { try await body(engine) }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else { throw Refusal.timedOut }
            return value
        }
    }
}
