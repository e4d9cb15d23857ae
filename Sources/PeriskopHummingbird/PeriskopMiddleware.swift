import Hummingbird
import Periskop

/// Reports the errors that route handlers throw to an `ExceptionCollector`, with the request as
/// the sample's HTTP context, then rethrows them so that Hummingbird answers as it always does.
///
/// What is reported: every error, except
/// - an `HTTPResponseError` (such as `HTTPError`) with a 4xx status: the client asked for
///   something wrong (404, 400, 401, …); that is the client's fault, not a bug of the service,
///   and counting it would bury the real errors. A 5xx `HTTPResponseError` is reported.
/// - `CancellationError`: the client went away or the server is shutting down.
///
/// The key: a Swift error does not record where it was thrown, and by the time it reaches the
/// middleware the handler's frames are gone, so the stack would be the same for every route.
/// The key is therefore `AggregationKey.make` over the error's class, its message and
/// `"<METHOD> <route pattern>"` (e.g. `GET /users/{id}`, not the URL, so ids in paths do not
/// make new groups): one group per error, message and route.
///
/// The HTTP context: method, the URL as received (path and query), and the request headers,
/// never `Authorization`, `Proxy-Authorization` or `Cookie` (credentials must not leave the
/// process); other secrets are left to the leaf's scrubbing. The body is left out unless
/// `bodyLimit` is set (it may hold passwords or personal data), and even then only a body whose
/// `Content-Length` is at most `bodyLimit` bytes is included, so the middleware never changes how
/// a large or streamed upload is handled.
public struct PeriskopMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Headers that are never reported, whatever the configuration (lower case).
    public static var withheldHeaders: Set<String> { ["authorization", "proxy-authorization", "cookie"] }

    public let collector: ExceptionCollector
    /// Headers not reported: `withheldHeaders` and those given to `init`, lower case.
    public let excludedHeaders: Set<String>
    /// Include request bodies up to this many bytes; nil (the default) includes none.
    public let bodyLimit: Int?

    /// - Parameters:
    ///   - excludedHeaders: further headers not to report (e.g. `X-Api-Key`), in any case.
    ///   - bodyLimit: include request bodies up to this many bytes; nil includes none.
    public init(collector: ExceptionCollector, excludedHeaders: [String] = [], bodyLimit: Int? = nil) {
        self.collector = collector
        self.excludedHeaders = Set(excludedHeaders.map { $0.lowercased() }).union(Self.withheldHeaders)
        self.bodyLimit = bodyLimit
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var request = request
        var body: String?
        if let bodyLimit, let length = request.headers[.contentLength].flatMap({ Int($0) }), length <= bodyLimit {
            body = String(buffer: try await request.collectBody(upTo: bodyLimit))
        }
        do {
            return try await next(request, context)
        } catch {
            if Self.shouldReport(error) {
                let route = "\(request.method.rawValue) \(context.endpointPath ?? "(no route)")"
                let key = AggregationKey.make(
                    className: ErrorDescription.className(of: error), message: ErrorDescription.message(of: error), frames: [route])
                collector.report(error, key: key, httpContext: httpContext(of: request, body: body))
            }
            throw error
        }
    }

    /// The rule above: not a client's 4xx, not a cancellation.
    public static func shouldReport(_ error: any Error) -> Bool {
        if error is CancellationError { return false }
        if let response = error as? any HTTPResponseError, (400..<500).contains(response.status.code) { return false }
        return true
    }

    /// The request as the sample shows it; repeated headers are joined with ", " (the wire format
    /// keeps one value per name).
    func httpContext(of request: Request, body: String?) -> HTTPContext {
        var headers: [String: String] = [:]
        for field in request.headers {
            // `canonicalName` is the lower-case name.
            let name = field.name.canonicalName
            guard !excludedHeaders.contains(name) else { continue }
            headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
        }
        return HTTPContext(requestMethod: request.method.rawValue, requestURL: request.uri.description, requestHeaders: headers, requestBody: body)
    }
}
