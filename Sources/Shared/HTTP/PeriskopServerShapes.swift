import Foundation
import Periskop

/// The Periskop server's answer shapes, for `GET /services/{name}/errors/` on leaf and hub alike:
/// times are Unix seconds, samples oldest first, and `request_body` is a string, as the server
/// (and the tools built for it) have them.
public struct PeriskopServerAggregate: Encodable, Sendable {
    public var aggregationKey: String
    public var totalCount: Int64
    public var severity: Severity
    public var latestErrors: [PeriskopServerSample]
    public var createdAt: Int64

    /// `samples` newest first, as Canopy keeps them.
    public init(key: String, total: Int64, severity: Severity, firstSeen: Date?, samples: [ErrorWithContext]) {
        aggregationKey = key
        totalCount = total
        self.severity = severity
        latestErrors = samples.reversed().map(PeriskopServerSample.init)
        createdAt = Int64(firstSeen?.timeIntervalSince1970 ?? 0)
    }

    enum CodingKeys: String, CodingKey {
        case severity
        case aggregationKey = "aggregation_key"
        case totalCount = "total_count"
        case latestErrors = "latest_errors"
        case createdAt = "created_at"
    }
}

public struct PeriskopServerSample: Encodable, Sendable {
    public var error: ErrorInstance
    public var uuid: String
    public var timestamp: Int64
    public var severity: Severity
    public var httpContext: HTTPContext?

    public init(_ sample: ErrorWithContext) {
        error = sample.error
        uuid = sample.uuid
        timestamp = Int64(sample.timestamp?.timeIntervalSince1970 ?? 0)
        severity = sample.severity
        httpContext = sample.httpContext
    }

    enum CodingKeys: String, CodingKey {
        case error, uuid, timestamp, severity
        case httpContext = "http_context"
    }

    enum ContextKeys: String, CodingKey {
        case requestMethod = "request_method"
        case requestURL = "request_url"
        case requestHeaders = "request_headers"
        case requestBody = "request_body"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(error, forKey: .error)
        try container.encode(uuid, forKey: .uuid)
        try container.encode(timestamp, forKey: .timestamp)
        try container.encode(severity, forKey: .severity)
        guard let httpContext else {
            try container.encodeNil(forKey: .httpContext)
            return
        }
        var context = container.nestedContainer(keyedBy: ContextKeys.self, forKey: .httpContext)
        try context.encode(httpContext.requestMethod, forKey: .requestMethod)
        try context.encode(httpContext.requestURL, forKey: .requestURL)
        try context.encode(httpContext.requestHeaders, forKey: .requestHeaders)
        try context.encode(httpContext.requestBody ?? "", forKey: .requestBody)
    }
}
