import Hummingbird

/// `/metrics`, `/-/healthy`, `/-/ready` and `POST /-/reload`, as both servers serve them.
public struct OperationsRoutes<Context: RequestContext>: Sendable {
    let server: String
    let metrics: @Sendable () async -> [UInt8]
    let ready: @Sendable (Context) async throws -> Void
    let reload: @Sendable () throws -> Void
    let role: (@Sendable () -> String)?

    /// `ready` throws while the server cannot serve (the hub's database is unreachable, say);
    /// `role`, if given, is said with it ("leader", say).
    public init(
        server: String, metrics: @escaping @Sendable () async -> [UInt8], ready: @escaping @Sendable (Context) async throws -> Void = { _ in },
        role: (@Sendable () -> String)? = nil, reload: @escaping @Sendable () throws -> Void
    ) {
        self.server = server
        self.metrics = metrics
        self.ready = ready
        self.role = role
        self.reload = reload
    }

    public func addRoutes(to router: Router<Context>) {
        let server = self.server
        router.get("metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: await metrics())))
        }
        router.get("-/healthy") { _, _ in "Canopy \(server) is healthy.\n" }
        let role = self.role
        router.get("-/ready") { _, context in
            try await ready(context)
            return "Canopy \(server) is ready\(role.map { " (\($0()))" } ?? "").\n"
        }
        router.post("-/reload") { _, _ in
            do {
                try reload()
                return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "config reloaded\n")))
            } catch {
                throw HTTPError(.badRequest, message: "config not reloaded, the previous one stays in force:\n\(error)")
            }
        }
    }
}
