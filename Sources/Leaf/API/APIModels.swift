import Foundation
import Periskop
import Shared

/// The JSON shapes of the leaf's `/api/v1` (services are `ServiceSummary` and groups `LeafGroupDetail`, shared with the hub).

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
