import Foundation
import Hummingbird
import Periskop
import Shared

/// The leaf's JSON API under `/api/v1`, including the federation payload the hub scrapes.
struct TeamAPI<Context: RequestContext> {
    let views: TeamViews

    func addRoutes(to router: Router<Context>) {
        let api = router.group("api/v1")
        api.get("services") { _, _ in try JSONResponse.make(await views.services()) }
        api.get("services/:service/errors") { request, context in
            let service = try context.parameters.decoded("service")
            guard await views.hasService(service) else { throw HTTPError(.notFound, message: "no service named \(service)") }
            return try JSONResponse.make(await views.groups(of: service, filter: try Self.filter(request)))
        }
        api.get("services/:service/deploys") { _, context in
            let service = try context.parameters.decoded("service")
            guard await views.hasService(service) else { throw HTTPError(.notFound, message: "no service named \(service)") }
            return try JSONResponse.make(await views.deploys(of: service))
        }
        api.get("services/:service/errors/**") { request, _ in
            // Read from the raw path: the key is percent-decoded here and may contain slashes.
            let segments = RawPath.segments(of: request)
            guard segments.count > 5, let key = RawPath.tail(of: request, from: 5) else { throw HTTPError(.notFound, message: "no such group") }
            let id = GroupID(service: segments[3], key: key)
            guard let detail = await views.group(id) else {
                throw HTTPError(.notFound, message: "no group \(key) in service \(id.service)")
            }
            return try JSONResponse.make(detail)
        }
        api.get("targets") { _, _ in try JSONResponse.make(views.targets()) }
        api.get("federate") { request, _ in
            try JSONResponse.make(await views.federation(since: request.headers.first { $0.name.canonicalName == Self.federationSince }?.value))
        }
    }

    /// The header naming the body of this run's federation log a hub applied last, as Hummingbird spells names.
    static var federationSince: String { FederationChanges.requestHeader.lowercased() }

    static func filter(_ request: Request) throws -> TeamViews.Filter {
        var filter = TeamViews.Filter()
        if let severity = request.query("severity"), !severity.isEmpty {
            guard let value = Severity(rawValue: severity.lowercased()) else {
                throw HTTPError(.badRequest, message: "severity must be info, warning or error, not \(severity)")
            }
            filter.severity = value
        }
        filter.text = request.query("q")
        if let sort = request.query("sort"), !sort.isEmpty {
            guard let value = TeamViews.Sort(rawValue: sort) else {
                throw HTTPError(.badRequest, message: "sort must be last_seen, first_seen or count, not \(sort)")
            }
            filter.sort = value
        }
        filter.includeResolved = request.query("resolved") == "true"
        return filter
    }
}
