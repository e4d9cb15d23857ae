import Foundation

/// Writes a payload in the canonical wire format: snake_case keys in the Go client's order, RFC 3339
/// UTC timestamps with milliseconds, `cause` and `http_context` null where absent, and headers in
/// sorted order, so that the same payload always gives the same bytes (scrapers skip unchanged
/// bodies by their hash).
public struct PayloadEncoder: Sendable {
    public init() {}

    /// Bytes, ready for a response body; encoding cannot fail, since every value has a JSON form.
    public func encode(_ payload: ExceptionsPayload) -> [UInt8] {
        var writer = Writer()
        writer.payload(payload)
        return writer.out
    }

    /// One sample, as `ErrorWithContext`'s `Codable` form writes it: the same keys and values
    /// (`null` for an absent cause, context or body, no `timestamp` when there is none), keys in
    /// this writer's order and escapes its own. For JSON stored as values (the hub's jsonb
    /// samples), where neither order nor escapes count.
    public func encode(_ sample: ErrorWithContext) -> [UInt8] {
        var writer = Writer()
        writer.sample(sample)
        return writer.out
    }

    /// The same bytes as `encode(_:)`, for APIs that take `Data`.
    public func encodeData(_ payload: ExceptionsPayload) -> Data {
        Data(encode(payload))
    }
}

private struct Writer {
    var out: [UInt8] = []

    init() {
        out.reserveCapacity(4096)
    }

    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { out.append(contentsOf: $0) }
    }

    mutating func string(_ text: String) {
        JSONText.appendQuoted(text, to: &out)
    }

    mutating func optionalString(_ text: String?) {
        if let text { string(text) } else { raw("null") }
    }

    mutating func date(_ date: Date) {
        out.append(UInt8(ascii: "\""))
        RFC3339.append(date, to: &out)
        out.append(UInt8(ascii: "\""))
    }

    mutating func payload(_ payload: ExceptionsPayload) {
        raw("{")
        if let uuid = payload.targetUUID {
            raw("\"target_uuid\":")
            string(uuid)
            raw(",")
        }
        raw("\"aggregated_errors\":[")
        for (index, group) in payload.aggregatedErrors.enumerated() {
            if index > 0 { raw(",") }
            self.group(group)
        }
        raw("]}")
    }

    mutating func group(_ group: AggregatedError) {
        raw("{\"aggregation_key\":")
        string(group.aggregationKey)
        raw(",\"total_count\":")
        out.append(contentsOf: String(group.totalCount).utf8)
        raw(",\"severity\":")
        string(group.severity.rawValue)
        if let createdAt = group.createdAt {
            raw(",\"created_at\":")
            date(createdAt)
        }
        raw(",\"latest_errors\":[")
        for (index, sample) in group.latestErrors.enumerated() {
            if index > 0 { raw(",") }
            self.sample(sample)
        }
        raw("]}")
    }

    mutating func sample(_ sample: ErrorWithContext) {
        raw("{\"error\":")
        error(sample.error)
        raw(",\"uuid\":")
        string(sample.uuid)
        if let timestamp = sample.timestamp {
            raw(",\"timestamp\":")
            date(timestamp)
        }
        raw(",\"severity\":")
        string(sample.severity.rawValue)
        raw(",\"http_context\":")
        if let context = sample.httpContext {
            raw("{\"request_method\":")
            string(context.requestMethod)
            raw(",\"request_url\":")
            string(context.requestURL)
            raw(",\"request_headers\":{")
            for (index, name) in context.requestHeaders.keys.sorted().enumerated() {
                if index > 0 { raw(",") }
                string(name)
                raw(":")
                string(context.requestHeaders[name] ?? "")
            }
            raw("},\"request_body\":")
            optionalString(context.requestBody)
            raw("}")
        } else {
            raw("null")
        }
        raw("}")
    }

    mutating func error(_ error: ErrorInstance) {
        raw("{\"class\":")
        string(error.className)
        raw(",\"message\":")
        string(error.message)
        raw(",\"stacktrace\":[")
        for (index, line) in error.stacktrace.enumerated() {
            if index > 0 { raw(",") }
            string(line)
        }
        raw("],\"cause\":")
        if let cause = error.cause { self.error(cause) } else { raw("null") }
        raw("}")
    }
}
