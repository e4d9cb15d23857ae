import Foundation

/// One process to scrape: where it is, how to scrape it, and the labels it carries.
public struct ScrapeTarget: Hashable, Sendable {
    /// The service (Prometheus's job) the target belongs to.
    public var service: String
    public var url: String
    /// The labels after relabelling, without the internal `__` ones; `instance` is always set.
    public var labels: Labels
    /// The labels discovery gave it, before relabelling, for the targets page.
    public var discoveredLabels: Labels
    public var settings: ScrapeSettings

    public init(service: String, url: String, labels: Labels, discoveredLabels: Labels, settings: ScrapeSettings) {
        self.service = service
        self.url = url
        self.labels = labels
        self.discoveredLabels = discoveredLabels
        self.settings = settings
    }

    /// What identifies a scrape loop: the same URL in two services is two loops.
    public var key: TargetKey { TargetKey(service: service, url: url) }

    public var instance: String { labels[LabelName.instance] ?? url }
}

public struct TargetKey: Hashable, Sendable, Codable, Comparable {
    public var service: String
    public var url: String
    public init(service: String, url: String) {
        self.service = service
        self.url = url
    }
    public static func < (lhs: TargetKey, rhs: TargetKey) -> Bool { (lhs.service, lhs.url) < (rhs.service, rhs.url) }
}

/// How a target is scraped. A change of any of these restarts the target's loop.
public struct ScrapeSettings: Hashable, Sendable {
    public var interval: Duration
    public var timeout: Duration
    public var bodySizeLimit: Int
    public var auth: ScrapeAuth?
    public var tls: TLSSettings?

    public init(interval: Duration, timeout: Duration, bodySizeLimit: Int, auth: ScrapeAuth? = nil, tls: TLSSettings? = nil) {
        self.interval = interval
        self.timeout = timeout
        self.bodySizeLimit = bodySizeLimit
        self.auth = auth
        self.tls = tls
    }
}

/// A credential given inline or read from a file at each scrape, so that a rotated secret is
/// picked up without a reload (as Prometheus does with `*_file` options).
public enum Secret: Hashable, Sendable {
    case inline(String)
    case file(String)

    public func read() throws(ScrapeFailure) -> String {
        switch self {
        case .inline(let value): return value
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path), data.count <= 64 * 1024,
                let text = String(data: data, encoding: .utf8)
            else { throw ScrapeFailure.credentials("cannot read credentials file \(path)") }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}

public enum ScrapeAuth: Hashable, Sendable {
    case basic(username: String, password: Secret)
    /// `authorization: {type: Bearer, credentials: ...}`.
    case authorization(type: String, credentials: Secret)

    public func headerValue() throws(ScrapeFailure) -> String {
        switch self {
        case .basic(let username, let password):
            let pair = "\(username):\(try password.read())"
            return "Basic " + Data(pair.utf8).base64EncodedString()
        case .authorization(let type, let credentials):
            return "\(type) \(try credentials.read())"
        }
    }
}

/// `tls_config`, as in Prometheus.
public struct TLSSettings: Hashable, Sendable {
    public var caFile: String?
    public var certFile: String?
    public var keyFile: String?
    public var serverName: String?
    public var insecureSkipVerify: Bool

    public init(caFile: String? = nil, certFile: String? = nil, keyFile: String? = nil, serverName: String? = nil, insecureSkipVerify: Bool = false) {
        self.caFile = caFile
        self.certFile = certFile
        self.keyFile = keyFile
        self.serverName = serverName
        self.insecureSkipVerify = insecureSkipVerify
    }
}

/// The last known state of a target, as the targets page and `/metrics` show it.
public struct TargetHealth: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable { case unknown, up, down }
    public var state: State = .unknown
    public var lastError: String?
    public var lastScrape: Date?
    public var lastDurationSeconds: Double = 0
    public var lastBodyBytes: Int = 0
    public var scrapes: Int = 0
    public var failures: Int = 0

    public init() {}
}
