import Foundation
import Periskop
import Shared

/// The JSON shapes of the leaf's `/api/v1` (services are `ServiceSummary`, shared with the hub).

struct GroupSummary: Encodable {
    var service: String
    var aggregationKey: String
    var className: String
    var message: String
    var severity: Severity
    var total: Int
    var firstSeen: Date?
    var lastSeen: Date?
    var instances: Int
    var resolved: Bool

    enum CodingKeys: String, CodingKey {
        case service, message, severity, total, instances, resolved
        case aggregationKey = "aggregation_key"
        case className = "class"
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
    }
}

struct InstanceReport: Encodable {
    var instance: String
    var url: String
    var targetUUID: String?
    var count: Int
    var lastSeen: Date
    /// Whether this is the live process of a current target (not one that restarted or went away).
    var current: Bool

    enum CodingKeys: String, CodingKey {
        case instance, url, count, current
        case targetUUID = "target_uuid"
        case lastSeen = "last_seen"
    }
}

struct GroupDetail: Encodable {
    var group: GroupSummary
    var samples: [ErrorWithContext]
    var instances: [InstanceReport]
}

struct TargetReport: Encodable {
    var service: String
    var url: String
    var labels: Labels
    var discoveredLabels: Labels
    var health: TargetHealth.State
    var lastError: String?
    var lastScrape: Date?
    var lastScrapeDurationSeconds: Double
    var lastBodyBytes: Int
    var scrapeInterval: String
    var scrapeTimeout: String

    enum CodingKeys: String, CodingKey {
        case service, url, labels, health
        case discoveredLabels = "discovered_labels"
        case lastError = "last_error"
        case lastScrape = "last_scrape"
        case lastScrapeDurationSeconds = "last_scrape_duration_seconds"
        case lastBodyBytes = "last_body_bytes"
        case scrapeInterval = "scrape_interval"
        case scrapeTimeout = "scrape_timeout"
    }
}

struct DroppedTargetReport: Encodable {
    var service: String
    var discoveredLabels: Labels

    enum CodingKeys: String, CodingKey {
        case service
        case discoveredLabels = "discovered_labels"
    }
}

struct TargetsReport: Encodable {
    var active: [TargetReport]
    var dropped: [DroppedTargetReport]

    enum CodingKeys: String, CodingKey {
        case active = "active_targets"
        case dropped = "dropped_targets"
    }
}
