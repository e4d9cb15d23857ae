import Foundation
import Periskop
import Shared

/// The JSON shapes of the hub's `/api/v1`.
struct TeamSummary: Encodable, Sendable {
    var name: String
    var leaves: Int
    var services: Int
    var groups: Int
    var occurrences: Int64
    /// Groups by status (`ignored` whose time is up counts as unresolved).
    var unresolved: Int
    var regressed: Int
    var resolved: Int
    var ignored: Int
    /// Occurrences in the last hour and day, from the window counts refreshed every minute.
    var lastHour: Int64
    var lastDay: Int64
}

struct HubGroup: Encodable, Sendable {
    var id: Int64
    var team: String
    var service: String
    var aggregationKey: String
    var className: String
    var message: String
    var severity: Severity
    var firstSeen: Date?
    var lastSeen: Date?
    var total: Int64
    var status: String
    var occurrencesInWindow: Int64

    enum CodingKeys: String, CodingKey {
        case id, team, service, message, severity, total, status
        case aggregationKey = "aggregation_key"
        case className = "class"
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
        case occurrencesInWindow = "occurrences_in_window"
    }
}

struct GroupPage: Encodable, Sendable {
    var groups: [HubGroup]
    var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case groups
        case nextCursor = "next_cursor"
    }
}

struct StatusChange: Encodable, Sendable {
    var at: Date
    var actor: String
    var from: String
    var to: String
    var ignoredUntil: Date?
    var ignoredUntilTotal: Int64?
    var comment: String?

    enum CodingKeys: String, CodingKey {
        case at, actor, from, to, comment
        case ignoredUntil = "ignored_until"
        case ignoredUntilTotal = "ignored_until_total"
    }
}

/// A leaf that reports a group, with the total it last reported for it.
struct GroupLeaf: Encodable, Sendable {
    var leaf: String
    var url: String
    var total: Int64
}

struct HubGroupDetail: Encodable, Sendable {
    var group: HubGroup
    var statusChangedAt: Date?
    var statusChangedBy: String?
    var ignoredUntil: Date?
    var ignoredUntilTotal: Int64?
    var samples: [ErrorWithContext]
    var statusChanges: [StatusChange]
    var leaves: [GroupLeaf]
    /// `BugFingerprint` of its class and stack trace, and the other groups (any team) that have it.
    var fingerprint: String
    var siblings: [BugGroup]

    enum CodingKeys: String, CodingKey {
        case group, samples, leaves, fingerprint, siblings
        case statusChangedAt = "status_changed_at"
        case statusChangedBy = "status_changed_by"
        case ignoredUntil = "ignored_until"
        case ignoredUntilTotal = "ignored_until_total"
        case statusChanges = "status_changes"
    }
}

/// One bug (a `BugFingerprint`) seen in two or more teams or services, and its groups.
struct Bug: Encodable, Sendable {
    var fingerprint: String
    /// The class and message of the group that saw it last.
    var className: String
    var message: String
    /// The earliest first seen of its groups, anywhere.
    var firstSeen: Date
    var groups: [BugGroup]

    enum CodingKeys: String, CodingKey {
        case fingerprint, message, groups
        case className = "class"
        case firstSeen = "first_seen"
    }
}

struct BugList: Encodable, Sendable {
    var bugs: [Bug]
}

/// `POST /api/v1/bugs/{fingerprint}/status`: the groups of the bug, as they are now.
struct BugStatusChange: Encodable, Sendable {
    var fingerprint: String
    var groups: [BugGroup]
}

/// A group of a bug, in its team and service, with its own total and status.
struct BugGroup: Encodable, Sendable {
    var id: Int64
    var team: String
    var service: String
    var aggregationKey: String
    var total: Int64
    var lastSeen: Date
    var status: String

    enum CodingKeys: String, CodingKey {
        case id, team, service, total, status
        case aggregationKey = "aggregation_key"
        case lastSeen = "last_seen"
    }
}

struct OccurrencePoint: Encodable, Sendable, Equatable {
    var time: Date
    var count: Int64
}

struct LeafRow: Sendable {
    var id: Int64
    var job: String
    var url: String
    var name: String
    var team: String
    var epoch: String
    var startedAt: Date?
    var lastApplied: Date?
}

struct LeafReport: Encodable, Sendable {
    var leaf: String
    var url: String
    var team: String
    var name: String
    var epoch: String
    var health: TargetHealth.State
    var lastError: String?
    var lastScrape: Date?
    var lastScrapeDurationSeconds: Double
    var lastApplied: Date?
    /// The leaf is down, so what the hub shows of it is what it last sent.
    var stale: Bool

    enum CodingKeys: String, CodingKey {
        case leaf, url, team, name, epoch, health, stale
        case lastError = "last_error"
        case lastScrape = "last_scrape"
        case lastScrapeDurationSeconds = "last_scrape_duration_seconds"
        case lastApplied = "last_applied"
    }
}

struct ScrapeLogEntry: Encodable, Sendable {
    var id: Int64
    var leaf: String
    var url: String
    var time: Date
    var durationSeconds: Double
    var outcome: String
    var error: String?
    var epoch: String?
    var groupsChanged: Int
    var occurrencesAdded: Int64
    /// Groups and samples left out because they could not be stored, and the first few of them.
    var skipped: Int
    var skippedDetail: String?

    enum CodingKeys: String, CodingKey {
        case id, leaf, url, time, outcome, error, epoch, skipped
        case durationSeconds = "duration_seconds"
        case groupsChanged = "groups_changed"
        case occurrencesAdded = "occurrences_added"
        case skippedDetail = "skipped_detail"
    }
}
