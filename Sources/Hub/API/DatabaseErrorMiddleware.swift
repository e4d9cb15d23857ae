import Hummingbird

/// Answers a request that failed because the database cannot be reached with a 503 in the API's error format
/// (`{"error": {"message": "database unreachable: ..."}}`), rather than a bare 500: most such errors come from
/// `Database` already classified, but a row stream that breaks mid-way reaches here as PostgresNIO's own error.
struct DatabaseErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            guard let unavailable = DatabaseUnavailable(classifying: error) else { throw error }
            throw HTTPError(.serviceUnavailable, message: unavailable.description)
        }
    }
}
