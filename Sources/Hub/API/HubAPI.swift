import Foundation
import Hummingbird
import Periskop
import Shared

/// The hub's JSON API under `/api/v1`.
struct HubAPI<Context: RequestContext> {
    let queries: HubQueries
    let status: GroupStatusStore
    let leaves: LeafHealth
    let writeGuard: WriteGuard

    func addRoutes(to router: Router<Context>) {
        let api = router.group("api/v1")
        api.get("teams") { _, _ in try JSONResponse.make(try await queries.teams()) }
        api.get("teams/:team/services") { _, context in
            let team = try context.parameters.decoded("team")
            let services = try await queries.services(team: team)
            if services.isEmpty, try await !queries.teams().contains(where: { $0.name == team }) {
                throw HTTPError(.notFound, message: "no team named \(team)")
            }
            return try JSONResponse.make(services)
        }
        api.get("teams/:team/services/:service/deploys") { _, context in
            let team = try context.parameters.decoded("team")
            let service = try context.parameters.decoded("service")
            guard try await queries.services(team: team).contains(where: { $0.name == service }) else {
                throw HTTPError(.notFound, message: "no service \(service) in team \(team)")
            }
            return try JSONResponse.make(try await queries.deploys.report(team: team, service: service))
        }
        api.get("groups") { request, _ in try JSONResponse.make(try await queries.groups(try Self.filter(request))) }
        api.get("groups/:id") { _, context in
            let id = try Self.groupID(context)
            guard let group = try await queries.group(id: id) else { throw HTTPError(.notFound, message: "no group \(id)") }
            return try JSONResponse.make(group)
        }
        api.get("groups/:id/occurrences") { request, context in
            let id = try Self.groupID(context)
            let now = Date()
            let range = try request.query("range").map { try Self.duration($0, name: "range") } ?? .seconds(86400)
            let to = try request.query("to").map { try Self.time($0, name: "to") } ?? now
            let from = try request.query("from").map { try Self.time($0, name: "from") } ?? to.addingTimeInterval(-Double(range.components.seconds))
            let defaultStep = Duration.seconds(max(60, Int64(to.timeIntervalSince(from)) / 120 / 60 * 60))
            let step = try request.query("step").map { try Self.duration($0, name: "step") } ?? defaultStep
            guard from < to else { throw HTTPError(.badRequest, message: "from must be before to") }
            guard step >= .seconds(60) else { throw HTTPError(.badRequest, message: "step must be at least 1m: history is kept per minute") }
            guard to.timeIntervalSince(from) / Double(step.components.seconds) <= 10_000 else {
                throw HTTPError(.badRequest, message: "more than 10000 steps: use a larger step")
            }
            guard try await queries.groupExists(id: id) else { throw HTTPError(.notFound, message: "no group \(id)") }
            return try JSONResponse.make(try await queries.occurrences(id: id, from: from, to: to, step: step))
        }
        api.post("groups/:id/status") { request, context in
            let actor = try writeGuard.authorise(request)
            let id = try Self.groupID(context)
            // The UI's forms post here too (form-encoded) and are sent back to the group's page.
            let (change, isForm) = try await Self.statusBody(request)
            let statusRequest = try change.request(now: Date())
            guard try await status.set(id: id, statusRequest, actor: change.actor ?? actor, comment: change.comment),
                let group = try await queries.group(id: id)
            else {
                throw HTTPError(.notFound, message: "no group \(id)")
            }
            if isForm { return Response(status: .seeOther, headers: [.location: "/groups/\(id)"]) }
            return try JSONResponse.make(group)
        }
        api.get("bugs") { _, _ in try JSONResponse.make(BugList(bugs: try await queries.bugs())) }
        // Every group of one bug at once (each keeps its own status history); the bugs page's
        // forms post here and are sent back to it.
        api.post("bugs/:fingerprint/status") { request, context in
            let actor = try writeGuard.authorise(request)
            let fingerprint = try context.parameters.decoded("fingerprint")
            let (change, isForm) = try await Self.statusBody(request)
            let changed = try await status.set(fingerprint: fingerprint, try change.request(now: Date()), actor: change.actor ?? actor, comment: change.comment)
            guard changed > 0 else { throw HTTPError(.notFound, message: "no group has the fingerprint \(fingerprint)") }
            if isForm { return Response(status: .seeOther, headers: [.location: "/bugs#bug-\(fingerprint)"]) }
            return try JSONResponse.make(BugStatusChange(fingerprint: fingerprint, groups: try await queries.bugGroups(fingerprint: fingerprint)))
        }
        api.get("leaves") { _, _ in try JSONResponse.make(try await leaves.reports()) }
        api.get("scrapes") { request, _ in
            let limit = min(1000, max(1, Int(request.query("limit") ?? "") ?? 100))
            let before = request.query("before").flatMap { Int64($0) }
            return try JSONResponse.make(try await queries.scrapes(leaf: request.query("leaf"), limit: limit, before: before))
        }
    }

    /// A status change's body: JSON, or an HTML form's fields (and whether it was a form).
    static func statusBody(_ request: Request) async throws -> (StatusBody, isForm: Bool) {
        let body = try await request.body.collect(upTo: 64 * 1024)
        if request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
            return (try StatusBody(form: String(buffer: body)), true)
        }
        do {
            return (try JSONDecoder().decode(StatusBody.self, from: Data(body.readableBytesView)), false)
        } catch {
            throw HTTPError(.badRequest, message: "body must be JSON like {\"status\": \"resolved\"}: \(error)")
        }
    }

    static func groupID(_ context: Context) throws -> Int64 {
        let text = try context.parameters.decoded("id")
        guard let id = Int64(text) else { throw HTTPError(.badRequest, message: "group id must be a number, not \(text)") }
        return id
    }

    static func time(_ text: String, name: String) throws -> Date {
        guard let date = APITime.parse(text) else { throw HTTPError(.badRequest, message: "\(name) must be RFC 3339 or Unix seconds, not \(text)") }
        return date
    }

    static func duration(_ text: String, name: String) throws -> Duration {
        do {
            return try DurationParser.parse(text)
        } catch {
            throw HTTPError(.badRequest, message: "\(name): \(error)")
        }
    }

    static func filter(_ request: Request) throws -> HubQueries.GroupFilter {
        var filter = HubQueries.GroupFilter()
        func value(_ name: String) -> String? { request.query(name).flatMap { $0.isEmpty ? nil : $0 } }
        filter.team = value("team")
        filter.service = value("service")
        if let severity = value("severity") {
            guard let parsed = Severity(rawValue: severity.lowercased()) else {
                throw HTTPError(.badRequest, message: "severity must be info, warning or error, not \(severity)")
            }
            filter.severity = parsed
        }
        if let status = value("status") {
            guard ["unresolved", "resolved", "regressed", "ignored"].contains(status) else {
                throw HTTPError(.badRequest, message: "status must be unresolved, resolved, regressed or ignored, not \(status)")
            }
            filter.status = status
        }
        filter.className = value("class")
        filter.text = value("q")
        filter.firstSeenFrom = try value("first_seen_from").map { try time($0, name: "first_seen_from") }
        filter.firstSeenTo = try value("first_seen_to").map { try time($0, name: "first_seen_to") }
        filter.lastSeenFrom = try value("last_seen_from").map { try time($0, name: "last_seen_from") }
        filter.lastSeenTo = try value("last_seen_to").map { try time($0, name: "last_seen_to") }
        if let sort = value("sort") {
            guard let parsed = HubQueries.Sort(rawValue: sort) else {
                throw HTTPError(.badRequest, message: "sort must be last_seen, first_seen, total or window, not \(sort)")
            }
            filter.sort = parsed
        }
        if let window = value("window") { filter.window = try duration(window, name: "window") }
        if let limit = value("limit") {
            guard let parsed = Int(limit), (1...500).contains(parsed) else { throw HTTPError(.badRequest, message: "limit must be 1 to 500") }
            filter.limit = parsed
        }
        if let cursor = value("cursor") {
            guard let parsed = HubQueries.PageCursor(token: cursor) else { throw HTTPError(.badRequest, message: "cursor is not one this API gave out") }
            filter.cursor = parsed
        }
        return filter
    }
}

/// `POST /api/v1/groups/{id}/status` and `POST /api/v1/bugs/{fingerprint}/status`.
struct StatusBody: Decodable {
    var status: String
    /// With `ignored`: a duration (`2h`), a time, or a number of further occurrences; none: until reopened.
    var ignoreFor: String?
    var ignoreUntil: String?
    var ignoreOccurrences: Int64?
    var actor: String?
    var comment: String?

    enum CodingKeys: String, CodingKey {
        case status, actor, comment
        case ignoreFor = "ignore_for"
        case ignoreUntil = "ignore_until"
        case ignoreOccurrences = "ignore_occurrences"
    }

    init(status: String, ignoreFor: String? = nil, ignoreUntil: String? = nil, ignoreOccurrences: Int64? = nil, actor: String? = nil, comment: String? = nil) {
        self.status = status
        self.ignoreFor = ignoreFor
        self.ignoreUntil = ignoreUntil
        self.ignoreOccurrences = ignoreOccurrences
        self.actor = actor
        self.comment = comment
    }

    /// The same fields from an HTML form (`status=ignored&ignore_for=1h`).
    init(form: String) throws {
        var fields: [String: String] = [:]
        for item in URLComponents(string: "?" + form.replacingOccurrences(of: "+", with: "%20"))?.queryItems ?? [] {
            fields[item.name] = item.value.flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let status = fields["status"] else { throw HTTPError(.badRequest, message: "the form has no status field") }
        var occurrences: Int64?
        if let text = fields["ignore_occurrences"] {
            guard let value = Int64(text) else { throw HTTPError(.badRequest, message: "ignore_occurrences must be a number, not \(text)") }
            occurrences = value
        }
        self.init(
            status: status, ignoreFor: fields["ignore_for"], ignoreUntil: fields["ignore_until"], ignoreOccurrences: occurrences,
            actor: fields["actor"], comment: fields["comment"])
    }

    func request(now: Date) throws -> GroupStatusStore.Request {
        switch status {
        case "resolved": return .resolve
        case "unresolved": return .reopen
        case "ignored":
            var until: Date?
            if let ignoreFor {
                let duration = try HubAPI<BasicRequestContext>.duration(ignoreFor, name: "ignore_for")
                until = now.addingTimeInterval(Double(duration.components.seconds))
            }
            if let ignoreUntil { until = try HubAPI<BasicRequestContext>.time(ignoreUntil, name: "ignore_until") }
            if let ignoreOccurrences, ignoreOccurrences < 1 { throw HTTPError(.badRequest, message: "ignore_occurrences must be at least 1") }
            return .ignore(until: until, additionalOccurrences: ignoreOccurrences)
        default:
            throw HTTPError(.badRequest, message: "status must be resolved, unresolved or ignored, not \(status)")
        }
    }
}

/// Write actions need the bearer token from the config, when one is set.
struct WriteGuard: Sendable {
    let token: @Sendable () -> Secret?

    /// Returns who is acting, or throws 401.
    func authorise(_ request: Request) throws -> String {
        guard let secret = token() else { return "api" }
        let expected: String
        do {
            expected = try secret.read()
        } catch {
            throw HTTPError(.internalServerError, message: "cannot read the API token: \(error)")
        }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer "),
            ConstantTime.equal(Array(header.dropFirst(7).utf8), Array(expected.utf8))
        else {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "this action needs the API token (Authorization: Bearer ...)")
        }
        return "token"
    }
}
