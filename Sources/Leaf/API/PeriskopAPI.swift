import Foundation
import Hummingbird
import Periskop
import Shared

/// The Periskop server's API, with its response shapes, so that tools built for Periskop work
/// against a leaf: times are Unix seconds and `request_body` is a string, as the server sends them.
struct PeriskopAPI<Context: RequestContext> {
    let views: TeamViews
    let state: TeamState

    func addRoutes(to router: Router<Context>) {
        router.get("services/") { _, _ in try JSONResponse.make(await views.services().map(\.name)) }
        router.get("services/:service/errors/") { _, context in
            let service = try context.parameters.require("service")
            guard await views.hasService(service) else { throw HTTPError(.notFound, message: "service not found") }
            let groups = await views.groups(of: service, filter: .init(sort: .lastSeen))
            var aggregates: [PeriskopAggregate] = []
            for summary in groups {
                guard let group = await state.group(GroupID(service: service, key: summary.aggregationKey)) else { continue }
                aggregates.append(PeriskopAggregate(key: summary.aggregationKey, group: group))
            }
            return try JSONResponse.make(aggregates)
        }
        router.delete("services/:service/errors/**") { request, _ in
            let segments = RawPath.segments(of: request)
            guard segments.count > 3, let key = RawPath.tail(of: request, from: 3) else { throw HTTPError(.notFound) }
            guard await state.resolve(GroupID(service: segments[1], key: key)) else { throw HTTPError(.notFound, message: "error not found") }
            return Response(status: .noContent)
        }
        router.get("targets/") { _, _ in
            var targets: [String: [PeriskopTarget]] = [:]
            for target in views.targets().active { targets[target.service, default: []].append(PeriskopTarget(endpoint: target.url)) }
            return try JSONResponse.make(targets)
        }
    }
}

struct PeriskopTarget: Encodable {
    var endpoint: String
}

struct PeriskopAggregate: Encodable {
    var aggregationKey: String
    var totalCount: Int
    var severity: Severity
    var latestErrors: [PeriskopSample]
    var createdAt: Int64

    init(key: String, group: GroupState) {
        aggregationKey = key
        totalCount = group.total
        severity = group.severity
        // Periskop lists samples oldest first.
        latestErrors = group.samples.reversed().map(PeriskopSample.init)
        createdAt = Int64(group.firstSeen?.timeIntervalSince1970 ?? 0)
    }

    enum CodingKeys: String, CodingKey {
        case severity
        case aggregationKey = "aggregation_key"
        case totalCount = "total_count"
        case latestErrors = "latest_errors"
        case createdAt = "created_at"
    }
}

struct PeriskopSample: Encodable {
    var error: ErrorInstance
    var uuid: String
    var timestamp: Int64
    var severity: Severity
    var httpContext: PeriskopHTTPContext?

    init(_ sample: ErrorWithContext) {
        error = sample.error
        uuid = sample.uuid
        timestamp = Int64(sample.timestamp?.timeIntervalSince1970 ?? 0)
        severity = sample.severity
        httpContext = sample.httpContext.map {
            PeriskopHTTPContext(requestMethod: $0.requestMethod, requestURL: $0.requestURL, requestHeaders: $0.requestHeaders, requestBody: $0.requestBody ?? "")
        }
    }

    enum CodingKeys: String, CodingKey {
        case error, uuid, timestamp, severity
        case httpContext = "http_context"
    }
}

struct PeriskopHTTPContext: Encodable {
    var requestMethod: String
    var requestURL: String
    var requestHeaders: [String: String]
    var requestBody: String

    enum CodingKeys: String, CodingKey {
        case requestMethod = "request_method"
        case requestURL = "request_url"
        case requestHeaders = "request_headers"
        case requestBody = "request_body"
    }
}
