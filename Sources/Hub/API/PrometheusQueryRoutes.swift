import Foundation
import Hummingbird
import PromQL
import Shared

/// `/api/v1/query` and `/api/v1/query_range`: PromQL over the hub's series, bounded by the
/// query's length (`ParseLimits`), what it may load and return (`QueryLimits`), and time (the
/// `timeout` parameter, at most the hub's `--query.timeout`).
struct PrometheusQueryRoutes<Context: RequestContext>: Sendable {
    let runner: QueryRunner

    func addRoutes(to router: Router<Context>) {
        let api = router.group("api/v1")
        for method in [HTTPRequest.Method.get, .post] {
            api.on("query", method: method) { request, _ in
                await Self.respond {
                    let parameters = try await PrometheusParameters(request)
                    let expr = try Self.expression(parameters)
                    let time = try parameters.first("time").map { try PrometheusParameters.time($0, name: "time") } ?? Date()
                    return try await runner.instant(expr, at: QueryTime.timestamp(time), timeout: try Self.timeout(parameters))
                }
            }
            api.on("query_range", method: method) { request, _ in
                await Self.respond {
                    let parameters = try await PrometheusParameters(request)
                    let expr = try Self.expression(parameters)
                    let (start, end, step) = try Self.range(parameters)
                    // Refused before the timeout parameter is read, in Prometheus's order.
                    try QueryRunner.checkRange(expr, start: start, end: end, step: step, maxSteps: runner.settings.limits.maxSteps)
                    return try await runner.range(expr, start: start, end: end, step: step, timeout: try Self.timeout(parameters))
                }
            }
        }
    }

    /// The `timeout` parameter, if given (the runner caps it at the hub's).
    private static func timeout(_ parameters: PrometheusParameters) throws -> Duration? {
        try parameters.first("timeout").map { try duration($0, name: "timeout") }
    }

    private static func expression(_ parameters: PrometheusParameters) throws -> Expr {
        guard let text = parameters.first("query") else { throw PrometheusAPIError(.badData, "invalid parameter \"query\": unknown position: parse error: no expression found in input") }
        do {
            return try PromQLParser.parse(text)
        } catch {
            throw PrometheusAPIError(.badData, "invalid parameter \"query\": \(error)")
        }
    }

    /// `start`, `end` and `step` in milliseconds; `QueryRunner.checkRange` judges them together.
    private static func range(_ parameters: PrometheusParameters) throws -> (Timestamp, Timestamp, Timestamp) {
        func required(_ name: String) throws -> String {
            guard let text = parameters.first(name) else { throw PrometheusAPIError(.badData, "invalid parameter \"\(name)\": cannot parse \"\" to a valid \(name == "step" ? "duration" : "timestamp")") }
            return text
        }
        let start = QueryTime.timestamp(try PrometheusParameters.time(try required("start"), name: "start"))
        let end = QueryTime.timestamp(try PrometheusParameters.time(try required("end"), name: "end"))
        let step = try duration(try required("step"), name: "step")
        return (start, end, Timestamp(step.components.seconds * 1000 + step.components.attoseconds / 1_000_000_000_000_000))
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
            return Response(
                status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: QueryResultJSON.success(value))))
        } catch let error as PrometheusAPIError {
            return (try? PrometheusAPI<Context>.failure(error)) ?? Response(status: .internalServerError)
        } catch let error as QueryRunner.Refusal {
            let kind: PrometheusAPIError.Kind = error.kind == .timeout ? .timeout : .badData
            return (try? PrometheusAPI<Context>.failure(PrometheusAPIError(kind, error.message))) ?? Response(status: .internalServerError)
        } catch let error as QueryError {
            let kind: PrometheusAPIError.Kind =
                switch error.kind {
                case .execution, .limit: .execution
                case .canceled: .canceled
                case .source: error.cause.flatMap(DatabaseUnavailable.init(classifying:)) != nil ? .unavailable : .internal
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
