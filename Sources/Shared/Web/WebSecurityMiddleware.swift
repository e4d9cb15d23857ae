import Hummingbird

/// Security headers for the UI. Every response gets `X-Content-Type-Options: nosniff` and
/// `Referrer-Policy: same-origin`; an HTML response also gets a Content Security Policy that
/// allows only the server's own stylesheet, script and requests (no inline script, style or
/// event attribute), so that markup slipping through escaping still could not run.
public struct WebSecurityMiddleware<Context: RequestContext>: RouterMiddleware {
    public static var contentSecurityPolicy: String {
        let policy: ContentSecurityPolicy = [
            .defaultSrc(.none),
            .styleSrc(.self),
            .scriptSrc(.self),
            .imgSrc(.self, "data:"),
            .connectSrc(.self),
            .formAction(.self),
            .frameAncestors(.none),
            .baseURI(.none),
        ]
        return policy.description
    }

    // HTTPTypes has no constant for Referrer-Policy, hence the name from a string.
    private let everyResponse: HTTPFields = [.xContentTypeOptions: "nosniff", .init("Referrer-Policy")!: "same-origin"]
    private let htmlResponse: HTTPFields = [.contentSecurityPolicy: Self.contentSecurityPolicy]

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        let isHTML = response.headers[.contentType]?.lowercased().hasPrefix("text/html") == true
        for field in everyResponse + (isHTML ? htmlResponse : [:]) {
            response.headers[field.name] = field.value
        }
        return response
    }
}
