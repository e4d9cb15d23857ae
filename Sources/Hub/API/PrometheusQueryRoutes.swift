import Foundation
import Hummingbird
import PromQL
import Shared

/// `/api/v1/query` and `/api/v1/query_range`: PromQL over the hub's series, bounded by the
/// query's length (`ParseLimits`), what it may load and return (`QueryLimits`), and time (the
/// `timeout` parameter, at most the hub's `--query.timeout`).
struct PrometheusQueryRoutes<Context: RequestContext>: Sendable {
    let source: HubSeriesSource
    let settings: QuerySettings

    func addRoutes(to router: Router<Context>) {
        let api = router.group("api/v1")
        for method in [HTTPRequest.Method.get, .post] {
            api.on("query", method: method) { request, _ in
                await Self.respond {
                    let parameters = try await PrometheusParameters(request)
                    let expr = try Self.expression(parameters)
                    let time = try parameters.first("time").map { try PrometheusParameters.time($0, name: "time") } ?? Date()
                    let at = QueryTime.timestamp(time)
                    return try await run(parameters) { engine in try await engine.instant(expr, at: at, source: source) }
                }
            }
            api.on("query_range", method: method) { request, _ in
                await Self.respond {
                    let parameters = try await PrometheusParameters(request)
                    let expr = try Self.expression(parameters)
                    let (start, end, step) = try Self.range(parameters, maxSteps: settings.limits.maxSteps)
                    guard expr.type == .scalar || expr.type == .instantVector else {
                        throw PrometheusAPIError(
                            .badData, "invalid expression type \"\(expr.type)\" for range query, must be Scalar or instant Vector")
                    }
                    return try await run(parameters) { engine in
                        try await engine.range(expr, start: start, end: end, step: step, source: source)
                    }
                }
            }
        }
    }

    /// Evaluates within the request's timeout; cancellation reaches the evaluator, which stops.
    private func run(
        _ parameters: PrometheusParameters, _ body: @escaping @Sendable (QueryEngine) async throws -> QueryValue
    ) async throws -> QueryValue {
        let timeout = try parameters.first("timeout").map { min(settings.timeout, try Self.duration($0, name: "timeout")) } ?? settings.timeout
        let engine = QueryEngine(limits: settings.limits)
        return try await withThrowingTaskGroup(of: QueryValue?.self) { group in
            group.addTask { try await body(engine) }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw PrometheusAPIError(.timeout, "query timed out in expression evaluation")
            }
            return value
        }
    }

    private static func expression(_ parameters: PrometheusParameters) throws -> Expr {
        guard let text = parameters.first("query") else { throw PrometheusAPIError(.badData, "invalid parameter \"query\": unknown position: parse error: no expression found in input") }
        do {
            return try PromQLParser.parse(text)
        } catch {
            throw PrometheusAPIError(.badData, "invalid parameter \"query\": \(error)")
        }
    }

    private static func range(_ parameters: PrometheusParameters, maxSteps: Int) throws -> (Timestamp, Timestamp, Timestamp) {
        func required(_ name: String) throws -> String {
            guard let text = parameters.first(name) else { throw PrometheusAPIError(.badData, "invalid parameter \"\(name)\": cannot parse \"\" to a valid \(name == "step" ? "duration" : "timestamp")") }
            return text
        }
        let start = QueryTime.timestamp(try PrometheusParameters.time(try required("start"), name: "start"))
        let end = QueryTime.timestamp(try PrometheusParameters.time(try required("end"), name: "end"))
        guard end >= start else { throw PrometheusAPIError(.badData, "invalid parameter \"end\": end timestamp must not be before start time") }
        let step = try duration(try required("step"), name: "step")
        let stepMilliseconds = Timestamp(step.components.seconds * 1000 + step.components.attoseconds / 1_000_000_000_000_000)
        guard stepMilliseconds > 0 else {
            throw PrometheusAPIError(.badData, "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer")
        }
        guard (end - start) / stepMilliseconds < maxSteps else {
            throw PrometheusAPIError(.badData, "exceeded maximum resolution of \(maxSteps.formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US")))) points per timeseries. Try decreasing the query resolution (?step=XX)")
        }
        return (start, end, stepMilliseconds)
    }

    /// Seconds (`15`, `0.5`) or a PromQL duration (`1m30s`), as Prometheus takes `step` and `timeout`.
    static func duration(_ text: String, name: String) throws -> Duration {
        if let seconds = Double(text), seconds.isFinite {
            return .milliseconds(Int64((seconds * 1000).rounded()))
        }
        guard let parsed = try? PromDuration.parse(text) else {
            throw PrometheusAPIError(.badData, "invalid parameter \"\(name)\": cannot parse \"\(text)\" to a valid duration")
        }
        return .milliseconds(parsed.milliseconds)
    }

    /// The answer, or the error in Prometheus's shape with its status code.
    private static func respond(_ body: () async throws -> QueryValue) async -> Response {
        do {
            let value = try await body()
            let text = "{\"status\":\"success\",\"data\":\(QueryResultJSON.data(value))}"
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        } catch let error as PrometheusAPIError {
            return (try? PrometheusAPI<Context>.failure(error)) ?? Response(status: .internalServerError)
        } catch let error as QueryError {
            let kind: PrometheusAPIError.Kind =
                switch error.kind {
                case .execution, .limit: .execution
                case .canceled: .canceled
                case .source: .internal
                }
            return (try? PrometheusAPI<Context>.failure(PrometheusAPIError(kind, error.message))) ?? Response(status: .internalServerError)
        } catch {
            return (try? PrometheusAPI<Context>.failure(PrometheusAPIError(.internal, String(describing: error)))) ?? Response(status: .internalServerError)
        }
    }
}

/// How the hub bounds queries (`--query.timeout`, `--query.max-samples`).
struct QuerySettings: Sendable {
    var timeout: Duration = .seconds(120)
    var limits: QueryLimits = .default
}
