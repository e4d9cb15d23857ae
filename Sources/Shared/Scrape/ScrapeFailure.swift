/// Why a scrape failed, in words that point at the fix. Shown on the targets page and in logs.
public enum ScrapeFailure: Error, Sendable, Equatable, CustomStringConvertible {
    case connection(String)
    case timeout(Duration)
    case status(Int)
    case contentType(String)
    case bodyTooLarge(limit: Int)
    case credentials(String)
    case tls(String)
    /// The body was not a valid payload; the text says which field is wrong.
    case invalidPayload(String)
    /// The payload was valid but breaks a configured limit, or could not be stored.
    case rejected(String)

    public var description: String {
        switch self {
        case .connection(let reason): "connection failed: \(reason)"
        case .timeout(let timeout): "scrape timed out after \(DurationParser.format(timeout))"
        case .status(let code) where code == 401 || code == 403:
            "server returned HTTP status \(code): check the job's basic_auth or authorization"
        case .status(let code): "server returned HTTP status \(code)"
        case .contentType(let type): "unexpected content type \"\(type)\" (expected application/json)"
        case .bodyTooLarge(let limit): "body exceeds body_size_limit of \(limit) bytes"
        case .credentials(let reason): reason
        case .tls(let reason): "TLS: \(reason)"
        case .invalidPayload(let reason): "invalid payload: \(reason)"
        case .rejected(let reason): reason
        }
    }
}
