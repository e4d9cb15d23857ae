import Foundation

/// `static_configs` entry.
public struct StaticConfig: Sendable, Equatable {
    public var targets: [String]
    public var labels: Labels
    public init(targets: [String], labels: Labels = Labels()) {
        self.targets = targets
        self.labels = labels
    }
}

/// `dns_sd_configs` entry. For A and AAAA the port comes from `port`; SRV records carry it.
public struct DNSDiscoveryConfig: Sendable, Equatable {
    public enum RecordType: String, Sendable, Equatable, CaseIterable { case srv = "SRV", a = "A", aaaa = "AAAA" }
    public var names: [String]
    public var type: RecordType
    public var port: Int?
    public var refreshInterval: Duration
    /// Name servers as `host:port`; empty means those of /etc/resolv.conf.
    public var nameservers: [String]
    public init(names: [String], type: RecordType = .srv, port: Int? = nil, refreshInterval: Duration = .seconds(30), nameservers: [String] = []) {
        self.names = names
        self.type = type
        self.port = port
        self.refreshInterval = refreshInterval
        self.nameservers = nameservers
    }
}

/// `file_sd_configs` entry: JSON or YAML files of target groups; a `*` glob is allowed in the
/// last path segment.
public struct FileDiscoveryConfig: Sendable, Equatable {
    public var files: [String]
    public var refreshInterval: Duration
    public init(files: [String], refreshInterval: Duration = .seconds(300)) {
        self.files = files
        self.refreshInterval = refreshInterval
    }
}

/// `http_sd_configs` entry: a URL answering Prometheus's HTTP SD JSON.
public struct HTTPDiscoveryConfig: Sendable, Equatable {
    public var url: String
    public var refreshInterval: Duration
    public init(url: String, refreshInterval: Duration = .seconds(60)) {
        self.url = url
        self.refreshInterval = refreshInterval
    }
}

/// `relabel_configs` entry, with Prometheus's defaults.
public struct RelabelConfig: Sendable, Equatable {
    public enum Action: String, Sendable, Equatable, CaseIterable {
        case replace, keep, drop, labelmap, labeldrop, labelkeep, hashmod
        case lowercase, uppercase, keepequal, dropequal
    }
    public var sourceLabels: [String]
    public var separator: String
    /// The regular expression as written; it is anchored at both ends when applied.
    public var regex: String
    public var modulus: UInt64?
    public var targetLabel: String?
    public var replacement: String
    public var action: Action
    public init(
        sourceLabels: [String] = [], separator: String = ";", regex: String = "(.*)", modulus: UInt64? = nil,
        targetLabel: String? = nil, replacement: String = "$1", action: Action = .replace
    ) {
        self.sourceLabels = sourceLabels
        self.separator = separator
        self.regex = regex
        self.modulus = modulus
        self.targetLabel = targetLabel
        self.replacement = replacement
        self.action = action
    }
}
