import Foundation

// Codable is for samples embedded in other JSON (the federation payload, the leaf's state file,
// the hub's API and stored samples), in the wire format's shape. Whole payloads are read by
// `PayloadDecoder` and written by `PayloadEncoder` alone: on the benchmark's 200 KB bodies they
// are 5.6x and 8.2x faster than JSONDecoder and JSONEncoder, bound what they keep while parsing,
// repair invalid UTF-8, and write keys in a fixed order (an unchanged body hashes the same).
// Dates are RFC 3339 strings chosen here, not by the coder's date strategy, whose `.iso8601`
// drops milliseconds.

extension Severity {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let severity = Severity(wireName: text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "unknown severity \(JSONText.quoted(text)), expected info, warning or error"
            )
        }
        self = severity
    }
}

extension ErrorWithContext {
    private enum CodingKeys: String, CodingKey {
        case error
        case uuid
        case timestamp
        case severity
        case httpContext = "http_context"
    }

    public init(from decoder: any Decoder) throws {
        self = try Self.decode(from: decoder).sample
    }

    /// The sample, and its own severity if it names one (else the sample says `.error`).
    fileprivate static func decode(from decoder: any Decoder) throws -> (sample: ErrorWithContext, severity: Severity?) {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let severity = try container.decodeSeverity(forKey: .severity)
        let sample = ErrorWithContext(
            error: try container.decode(ErrorInstance.self, forKey: .error),
            uuid: try container.decodeIfPresent(String.self, forKey: .uuid) ?? "",
            timestamp: try container.decodeTimestamp(forKey: .timestamp),
            severity: severity ?? .error,
            httpContext: try container.decodeIfPresent(HTTPContext.self, forKey: .httpContext)
        )
        return (sample, severity)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(error, forKey: .error)
        try container.encode(uuid, forKey: .uuid)
        if let timestamp { try container.encode(RFC3339.string(from: timestamp), forKey: .timestamp) }
        try container.encode(severity, forKey: .severity)
        try container.encode(httpContext, forKey: .httpContext)
    }
}

extension ErrorInstance {
    private enum CodingKeys: String, CodingKey {
        case className = "class"
        case message
        case stacktrace
        case cause
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let depth = decoder.codingPath.reduce(0) { $0 + ($1.stringValue == CodingKeys.cause.stringValue ? 1 : 0) }
        let cause = depth < PayloadLimits().maxCauseDepth ? try container.decodeIfPresent(ErrorInstance.self, forKey: .cause) : nil
        self.init(
            className: try container.decodeIfPresent(String.self, forKey: .className) ?? "",
            message: try container.decodeIfPresent(String.self, forKey: .message) ?? "",
            stacktrace: try container.decodeIfPresent([String].self, forKey: .stacktrace) ?? [],
            cause: cause
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(className, forKey: .className)
        try container.encode(message, forKey: .message)
        try container.encode(stacktrace, forKey: .stacktrace)
        try container.encode(cause, forKey: .cause)
    }
}

extension HTTPContext {
    private enum CodingKeys: String, CodingKey {
        case requestMethod = "request_method"
        case requestURL = "request_url"
        case requestHeaders = "request_headers"
        case requestBody = "request_body"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let headers = try container.decodeIfPresent([String: String?].self, forKey: .requestHeaders) ?? [:]
        self.init(
            requestMethod: try container.decodeIfPresent(String.self, forKey: .requestMethod) ?? "",
            requestURL: try container.decodeIfPresent(String.self, forKey: .requestURL) ?? "",
            requestHeaders: headers.mapValues { $0 ?? "" },
            requestBody: try container.decodeIfPresent(String.self, forKey: .requestBody)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(requestMethod, forKey: .requestMethod)
        try container.encode(requestURL, forKey: .requestURL)
        try container.encode(requestHeaders, forKey: .requestHeaders)
        try container.encode(requestBody, forKey: .requestBody)
    }
}

extension KeyedDecodingContainer {
    /// RFC 3339 text or Unix seconds; nil for absent, null, "" and Go's zero time.
    fileprivate func decodeTimestamp(forKey key: Key) throws -> Date? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        if let text = try? decode(String.self, forKey: key) {
            if text.isEmpty { return nil }
            var utf8 = text
            guard let instant = utf8.withUTF8({ RFC3339.instant(of: $0) }) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "not a timestamp: \(JSONText.quoted(text))")
            }
            return instant == .goZero ? nil : instant.date
        }
        let seconds = try decode(Double.self, forKey: key)
        guard let instant = RFC3339.Instant(unixSeconds: seconds) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "not a timestamp: \(seconds)")
        }
        return instant == .goZero ? nil : instant.date
    }

    /// Nil for absent, null and "", which each reader replaces with its own default.
    fileprivate func decodeSeverity(forKey key: Key) throws -> Severity? {
        guard let text = try decodeIfPresent(String.self, forKey: key), !text.isEmpty else { return nil }
        guard let severity = Severity(wireName: text) else {
            throw DecodingError.dataCorruptedError(
                forKey: key,
                in: self,
                debugDescription: "unknown severity \(JSONText.quoted(text)), expected info, warning or error"
            )
        }
        return severity
    }
}
