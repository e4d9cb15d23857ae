import Hummingbird
import Periskop

/// Serves an `ExceptionCollector`'s payload for scrapers (a Canopy leaf, the Periskop server):
/// `GET <path>` answers the Periskop JSON, `application/json`.
///
/// ```swift
/// let collector = ExceptionCollector()
/// let router = Router()
/// router.add(middleware: PeriskopMiddleware(collector: collector))
/// PeriskopEndpoint(collector: collector).addRoutes(to: router)
/// ```
public struct PeriskopEndpoint: Sendable {
    /// Where Periskop clients serve their payload, and what a leaf's `scraper.endpoint` expects
    /// by default.
    public static let defaultPath: RouterPath = "/-/exceptions"

    public let collector: ExceptionCollector
    public let path: RouterPath

    public init(collector: ExceptionCollector, path: RouterPath = PeriskopEndpoint.defaultPath) {
        self.collector = collector
        self.path = path
    }

    public func addRoutes<Context: RequestContext>(to router: some RouterMethods<Context>) {
        let collector = self.collector
        router.get(path) { _, _ in Self.response(for: collector) }
    }

    /// The collector's payload as a response, for serving it from a handler of one's own.
    public static func response(for collector: ExceptionCollector) -> Response {
        let bytes = PayloadEncoder().encode(collector.payload())
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
