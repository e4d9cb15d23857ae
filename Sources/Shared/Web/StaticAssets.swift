import Hummingbird
import Periskop

/// A file the pages load, kept in the binary.
public struct StaticAsset: Sendable {
    public let path: String
    public let contentType: String
    public let body: String
    /// A hash of the body: the ETag, and the `v` in `href`.
    public let version: String

    init(path: String, contentType: String, body: String) {
        self.path = path
        self.contentType = contentType
        self.body = body
        version = FNV1a64(body).hex16
    }

    /// What pages link to: the path with the content's hash, so that a browser may keep it for a
    /// year and still loads the new file after an upgrade.
    public var href: String { "\(path)?v=\(version)" }
    public var etag: String { "\"\(version)\"" }
}

/// The stylesheet and the script, served by both servers.
public enum StaticAssets {
    public static let stylesheet = StaticAsset(path: "/static/canopy.css", contentType: "text/css; charset=utf-8", body: Stylesheet.css)
    public static let script = StaticAsset(path: "/static/canopy.js", contentType: "text/javascript; charset=utf-8", body: Script.js)

    /// `GET /static/canopy.css` and `GET /static/canopy.js`. A request naming the current version
    /// may be cached for good; any other (no `v`, or an old page's) must revalidate with the ETag.
    public static func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        for asset in [stylesheet, script] {
            router.get(RouterPath(asset.path)) { request, _ in response(for: asset, request: request) }
        }
    }

    static func response(for asset: StaticAsset, request: Request) -> Response {
        var headers: HTTPFields = [
            .contentType: asset.contentType,
            .eTag: asset.etag,
            .cacheControl: request.query("v") == asset.version
                ? "public, max-age=31536000, immutable" : "no-cache",
        ]
        if request.headers[values: .ifNoneMatch].contains(where: { $0 == asset.etag || $0 == "*" }) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentLength] = String(asset.body.utf8.count)
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: asset.body)))
    }
}
