import Hummingbird
import Shared

/// `/metrics`, the health endpoints and `POST /-/reload`.
struct OperationsRoutes<Context: RequestContext> {
    let metrics: LeafMetrics
    let views: TeamViews
    let reloader: ConfigReloader<LeafConfig>

    func addRoutes(to router: Router<Context>) {
        router.get("metrics") { _, _ in
            let body = await metrics.render(views: views, team: reloader.current.team)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
        router.get("-/healthy") { _, _ in "Canopy leaf is healthy.\n" }
        router.get("-/ready") { _, _ in "Canopy leaf is ready.\n" }
        router.post("-/reload") { _, _ in
            do {
                try reloader.reload()
                return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: "config reloaded\n")))
            } catch {
                throw HTTPError(.badRequest, message: "config not reloaded, the previous one stays in force:\n\(error)")
            }
        }
    }
}
