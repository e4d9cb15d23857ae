import Foundation

/// How bad an exception is. Ordered so that "the most severe seen" is simply `max()`.
public enum Severity: String, Sendable, Codable, Comparable, CaseIterable {
    case info
    case warning
    case error

    private var rank: Int {
        switch self {
        case .info: 0
        case .warning: 1
        case .error: 2
        }
    }

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }

    /// Clients write lower case, but a hand-made exporter may not: matching ignores case so that
    /// only a really unknown level is rejected.
    init?(wireName: some StringProtocol) {
        switch wireName.lowercased() {
        case "info": self = .info
        case "warning": self = .warning
        case "error": self = .error
        default: return nil
        }
    }
}

/// Everything one process serves at its exceptions endpoint.
public struct ExceptionsPayload: Sendable, Equatable {
    /// The process's identity; nil for clients older than mid-2021, which send none, so the scraper
    /// falls back to the scrape URL.
    public var targetUUID: String?
    public var aggregatedErrors: [AggregatedError]

    public init(targetUUID: String? = nil, aggregatedErrors: [AggregatedError]) {
        self.targetUUID = targetUUID
        self.aggregatedErrors = aggregatedErrors
    }
}

/// One aggregation key of one process: its running count and a few recent samples.
public struct AggregatedError: Sendable, Equatable {
    /// Opaque: each client language hashes differently, and users may supply any string.
    public var aggregationKey: String
    /// Grows within one process and starts again from zero when it restarts.
    public var totalCount: Int
    public var severity: Severity
    /// First occurrence in the process; nil where the client does not say.
    public var createdAt: Date?
    /// Recent occurrences, oldest first as clients append them.
    public var latestErrors: [ErrorWithContext]

    public init(
        aggregationKey: String,
        totalCount: Int,
        severity: Severity = .error,
        createdAt: Date? = nil,
        latestErrors: [ErrorWithContext] = []
    ) {
        self.aggregationKey = aggregationKey
        self.totalCount = totalCount
        self.severity = severity
        self.createdAt = createdAt
        self.latestErrors = latestErrors
    }
}

/// One occurrence: the error, when it happened, and the request that caused it.
public struct ErrorWithContext: Sendable, Equatable, Codable {
    public var error: ErrorInstance
    /// Identifies the occurrence across scrapes; "" where the client sent none, so that the
    /// merger can derive one.
    public var uuid: String
    /// Nil where the client sent none (or Go's zero time): such samples sort as the oldest.
    public var timestamp: Date?
    /// The sample's own, or its group's where the client wrote none.
    public var severity: Severity
    /// Nil outside a request.
    public var httpContext: HTTPContext?

    public init(
        error: ErrorInstance,
        uuid: String,
        timestamp: Date? = nil,
        severity: Severity = .error,
        httpContext: HTTPContext? = nil
    ) {
        self.error = error
        self.uuid = uuid
        self.timestamp = timestamp
        self.severity = severity
        self.httpContext = httpContext
    }
}

/// An exception and the chain of exceptions that caused it.
public struct ErrorInstance: Sendable, Equatable, Codable {
    /// The exception type; "" for Scala's message events, which carry only a message.
    public var className: String
    public var message: String
    /// Lines as the client's language prints them; not parsed, because every language differs.
    public var stacktrace: [String]
    // A struct cannot contain itself: the cause lives in an array of zero or one element.
    private var causeStorage: [ErrorInstance]

    /// What caused this error, if the client reports the chain (Scala and Ruby do).
    public var cause: ErrorInstance? {
        get { causeStorage.first }
        set { causeStorage = newValue.map { [$0] } ?? [] }
    }

    public init(className: String, message: String = "", stacktrace: [String] = [], cause: ErrorInstance? = nil) {
        self.className = className
        self.message = message
        self.stacktrace = stacktrace
        self.causeStorage = cause.map { [$0] } ?? []
    }

    /// How many causes hang below this error, so callers can bound what they show.
    public var causeDepth: Int {
        var depth = 0
        var current = cause
        while let next = current {
            depth += 1
            current = next.cause
        }
        return depth
    }
}

/// The HTTP request during which the error happened.
public struct HTTPContext: Sendable, Equatable, Codable {
    public var requestMethod: String
    public var requestURL: String
    /// Flat: clients keep one value per header name.
    public var requestHeaders: [String: String]
    public var requestBody: String?

    public init(requestMethod: String, requestURL: String, requestHeaders: [String: String] = [:], requestBody: String? = nil) {
        self.requestMethod = requestMethod
        self.requestURL = requestURL
        self.requestHeaders = requestHeaders
        self.requestBody = requestBody
    }
}
