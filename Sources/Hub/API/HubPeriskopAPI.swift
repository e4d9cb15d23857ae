import Foundation
import Hummingbird
import Periskop
import Shared

/// The Periskop server API on the hub, so that tools built for Periskop work against it. A
/// service is named `team:service`, since the same service name can exist in two teams.
struct HubPeriskopAPI<Context: RequestContext> {
    let queries: HubQueries
    let status: GroupStatusStore
    let scrapes: ScrapeManager<HubIngest>
    let writeGuard: WriteGuard

    func addRoutes(to router: Router<Context>) {
        router.get("services/") { _, _ in
            var names: [String] = []
            for team in try await queries.teams() {
                names += try await queries.services(team: team.name).map { "\(team.name):\($0.name)" }
            }
            return try JSONResponse.make(names)
        }
        router.get("services/:name/errors/") { _, context in
            let (team, service) = try Self.split(try context.parameters.decoded("name"))
            var aggregates: [PeriskopServerAggregate] = []
            var filter = HubQueries.GroupFilter()
            filter.team = team
            filter.service = service
            filter.limit = 500
            repeat {
                let page = try await queries.groups(filter)
                for summary in page.groups where summary.status != "resolved" && summary.status != "ignored" {
                    guard let detail = try await queries.group(id: summary.id) else { continue }
                    aggregates.append(
                        PeriskopServerAggregate(
                            key: detail.group.aggregationKey, total: detail.group.total, severity: detail.group.severity, firstSeen: detail.group.firstSeen,
                            samples: detail.samples))
                }
                filter.cursor = page.nextCursor.flatMap(HubQueries.PageCursor.init(token:))
            } while filter.cursor != nil && aggregates.count < 5000
            return try JSONResponse.make(aggregates)
        }
        router.delete("services/:name/errors/**") { request, _ in
            let actor = try writeGuard.authorise(request)
            let segments = RawPath.segments(of: request)
            guard segments.count > 3, let key = RawPath.tail(of: request, from: 3) else { throw HTTPError(.notFound) }
            let (team, service) = try Self.split(segments[1])
            guard let id = try await queries.groupID(team: team, service: service, key: key), try await status.set(id: id, .resolve, actor: actor, comment: "resolved through the Periskop API") else {
                throw HTTPError(.notFound, message: "error not found")
            }
            return Response(status: .noContent)
        }
        router.get("targets/") { _, _ in
            var targets: [String: [[String: String]]] = [:]
            for target in scrapes.targets { targets[target.service, default: []].append(["endpoint": target.url]) }
            return try JSONResponse.make(targets)
        }
    }

    static func split(_ name: String) throws -> (team: String, service: String) {
        guard let colon = name.firstIndex(of: ":") else {
            throw HTTPError(.notFound, message: "services on the hub are named team:service")
        }
        return (String(name[..<colon]), String(name[name.index(after: colon)...]))
    }
}
