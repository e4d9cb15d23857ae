import Foundation
import Hummingbird
import PostgresNIO
import PromQL
import Shared

/// Prometheus's HTTP API on the hub, with its shapes (`status`, `data`, `errorType`, `error`),
/// GET and form-encoded POST alike, so that Grafana's Prometheus data source and promtool talk
/// to the hub unchanged. This part: the series and label metadata, build info, metric metadata,
/// and exemplars (none); `PrometheusQueryRoutes` has the queries.
struct PrometheusAPI<Context: RequestContext> {
    let source: HubSeriesSource

    /// The metrics the hub serves for querying, as `/api/v1/metadata` lists them.
    static var metadata: [String: [[String: String]]] {
        Dictionary(uniqueKeysWithValues: HubSeriesSource.metadata.map { ($0.name, [["type": $0.type, "unit": "", "help": $0.help]]) })
    }

    func addRoutes(to router: Router<Context>) {
        let api = router.group("api/v1")
        for method in [HTTPRequest.Method.get, .post] {
            api.on("series", method: method) { request, _ in
                try await Self.answer {
                    let parameters = try await PrometheusParameters(request)
                    let selectors = try parameters.selectors(required: true)
                    let (start, end) = try parameters.range()
                    return try await source.labels(matching: selectors, start: start, end: end).map(\.dictionary)
                }
            }
            api.on("labels", method: method) { request, _ in
                try await Self.answer {
                    let parameters = try await PrometheusParameters(request)
                    let (start, end) = try parameters.range()
                    let series = try await source.labels(matching: try parameters.selectors(required: false).orAll, start: start, end: end)
                    return Set(series.flatMap(\.names)).sorted()
                }
            }
            api.on("query_exemplars", method: method) { _, _ in try Self.success([String]()) }
        }
        api.get("label/:name/values") { request, context in
            try await Self.answer {
                let name = try context.parameters.decoded("name")
                let parameters = try await PrometheusParameters(request)
                let (start, end) = try parameters.range()
                let series = try await source.labels(matching: try parameters.selectors(required: false).orAll, start: start, end: end)
                return Set(series.compactMap { $0[name] }).sorted()
            }
        }
        api.get("metadata") { _, _ in try Self.success(Self.metadata) }
        api.get("status/buildinfo") { _, _ in
            try Self.success([
                "version": CanopyVersion.current, "revision": "", "branch": "", "buildUser": "", "buildDate": "", "goVersion": "",
            ])
        }
    }

    /// Runs `body` and answers its result as Prometheus does, or its error with Prometheus's error type.
    static func answer(_ body: () async throws -> some Encodable & Sendable) async throws -> Response {
        do {
            return try success(try await body())
        } catch let error as PrometheusAPIError {
            return try failure(error)
        } catch let error as ExceptionCounters.TooManySeries {
            return try failure(PrometheusAPIError(.execution, error.description))
        } catch let error as HubSeriesSource.DatabaseFailure {
            return try failure(PrometheusAPIError(.unavailable, error.description))
        } catch let error as PSQLError {
            return try failure(PrometheusAPIError(.unavailable, "the database failed: " + DatabaseErrorText.describe(error)))
        } catch let error as DatabaseUnavailable {
            return try failure(PrometheusAPIError(.unavailable, error.description))
        }
    }

    static func success(_ data: some Encodable & Sendable) throws -> Response {
        try JSONResponse.make(Answer(status: "success", data: data))
    }

    static func failure(_ error: PrometheusAPIError) throws -> Response {
        try JSONResponse.make(Failure(status: "error", errorType: error.type.rawValue, error: error.message), status: error.type.status)
    }

    struct Answer<Data: Encodable & Sendable>: Encodable, Sendable {
        var status: String
        var data: Data
    }

    struct Failure: Encodable, Sendable {
        var status: String
        var errorType: String
        var error: String
    }
}

/// An error in Prometheus's terms: its type decides the status code.
struct PrometheusAPIError: Error {
    enum Kind: String {
        case badData = "bad_data"
        case execution
        case timeout
        case canceled
        case `internal`
        case unavailable

        var status: HTTPResponse.Status {
            switch self {
            case .badData: .badRequest
            case .execution: .unprocessableContent
            case .timeout, .unavailable: .serviceUnavailable
            case .canceled: .init(code: 499, reasonPhrase: "Client Closed Request")
            case .internal: .internalServerError
            }
        }
    }

    let type: Kind
    let message: String

    init(_ type: Kind, _ message: String) {
        self.type = type
        self.message = message
    }
}

/// A request's parameters from its query string and, for a form POST, its body: Prometheus takes
/// either, and repeated `match[]`.
struct PrometheusParameters {
    private(set) var items: [(name: String, value: String)]

    /// Bodies of form POSTs are read up to this size.
    static let maxBody = 1 << 20

    init(_ request: Request) async throws {
        items = (try? PercentDecoding.QueryItems(request.uri.query?[...]))?.items ?? []
        if request.method == .post, request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
            var request = request
            let body = try await request.collectBody(upTo: Self.maxBody)
            let text = String(buffer: body)
            do {
                items += try PercentDecoding.QueryItems(text[...]).items
            } catch {
                throw PrometheusAPIError(.badData, "invalid percent-encoding in the form parameter \(error.item)")
            }
        }
    }

    func all(_ name: String) -> [String] { items.filter { $0.name == name }.map(\.value) }

    func first(_ name: String) -> String? { items.first { $0.name == name }?.value }

    /// The `match[]` selectors, each a list of matchers.
    func selectors(required: Bool) throws -> [[LabelMatcher]] {
        let texts = all("match[]")
        if required && texts.isEmpty { throw PrometheusAPIError(.badData, "no match[] parameter provided") }
        return try texts.map { text in
            let expression: Expr
            do {
                expression = try PromQLParser.parse(text)
            } catch {
                throw PrometheusAPIError(.badData, "invalid parameter \"match[]\": \(error)")
            }
            guard case .vectorSelector(let selector) = expression else {
                throw PrometheusAPIError(.badData, "invalid parameter \"match[]\": \(text) is not a series selector")
            }
            return selector.matchers
        }
    }

    /// `start` and `end`, as RFC 3339 or Unix seconds (fractions allowed).
    func range() throws -> (start: Date?, end: Date?) {
        let start = try first("start").map { try Self.time($0, name: "start") }
        let end = try first("end").map { try Self.time($0, name: "end") }
        if let start, let end, end < start { throw PrometheusAPIError(.badData, "invalid parameter \"end\": end timestamp must not be before start time") }
        return (start, end)
    }

    static func time(_ text: String, name: String) throws -> Date {
        guard let date = APITime.parse(text) else {
            throw PrometheusAPIError(.badData, "invalid parameter \"\(name)\": cannot parse \"\(text)\" to a valid timestamp")
        }
        return date
    }
}

extension [[LabelMatcher]] {
    /// No selectors means every series: one selector without matchers.
    var orAll: [[LabelMatcher]] { isEmpty ? [[]] : self }
}
