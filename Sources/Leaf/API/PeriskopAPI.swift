import Foundation
import Hummingbird
import Periskop
import Shared

/// The Periskop server's API, with its response shapes, so that tools built for Periskop work
/// against a leaf: times are Unix seconds and `request_body` is a string, as the server sends them.
struct PeriskopAPI<Context: RequestContext> {
    let views: TeamViews
    let state: TeamState
    /// What `/targets` without the slash serves (the leaf's targets page). Hummingbird's router
    /// takes the two for one path, and Periskop's clients always ask for `/targets/`.
    var targetsPage: (@Sendable (Request) async -> Response)? = nil

    func addRoutes(to router: Router<Context>) {
        router.get("services/") { _, _ in try JSONResponse.make(await views.services().map(\.name)) }
        router.get("services/:service/errors/") { _, context in
            let service = try context.parameters.decoded("service")
            guard await views.hasService(service) else { throw HTTPError(.notFound, message: "service not found") }
            let groups = await views.groups(of: service, filter: .init(sort: .lastSeen))
            var aggregates: [PeriskopServerAggregate] = []
            for summary in groups {
                guard let group = await state.group(GroupID(service: service, key: summary.aggregationKey)) else { continue }
                aggregates.append(
                    PeriskopServerAggregate(key: summary.aggregationKey, total: Int64(group.total), severity: group.severity, firstSeen: group.firstSeen, samples: group.samples))
            }
            return try JSONResponse.make(aggregates)
        }
        router.delete("services/:service/errors/**") { request, _ in
            let segments = RawPath.segments(of: request)
            guard segments.count > 3, let key = RawPath.tail(of: request, from: 3) else { throw HTTPError(.notFound) }
            guard await state.resolve(GroupID(service: segments[1], key: key)) else { throw HTTPError(.notFound, message: "error not found") }
            return Response(status: .noContent)
        }
        router.get("targets/") { request, _ in
            if let targetsPage, !request.uri.path.hasSuffix("/") { return await targetsPage(request) }
            var targets: [String: [PeriskopTarget]] = [:]
            for target in views.targets().active { targets[target.service, default: []].append(PeriskopTarget(endpoint: target.url)) }
            return try JSONResponse.make(targets)
        }
    }
}

struct PeriskopTarget: Encodable {
    var endpoint: String
}
