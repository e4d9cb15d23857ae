import Foundation
import Periskop

/// What a leaf serves at `/api/v1/federate` and the hub scrapes: the team's aggregates, with
/// per-instance detail left at the leaf (ARCHITECTURE.md, "Leaf to hub"). It holds no time of its
/// own making (the HTTP `Date` header says when it was made): a leaf with nothing new serves the
/// same bytes again, and the hub skips them unread.
public struct FederationPayload: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public var version: Int
    public var leaf: LeafIdentity
    /// Whether the leaf has scraped each of its targets at least once since it started. Until it
    /// has, its totals lack the targets it has not reached yet: a hub that takes a new epoch as a
    /// baseline waits for a complete payload.
    public var complete: Bool
    public var services: [FederatedService]

    public init(leaf: LeafIdentity, complete: Bool = true, services: [FederatedService]) {
        self.version = Self.currentVersion
        self.leaf = leaf
        self.complete = complete
        self.services = services
    }

    enum CodingKeys: String, CodingKey {
        case version, leaf, complete, services
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(Int.self, forKey: .version)
        leaf = try container.decode(LeafIdentity.self, forKey: .leaf)
        complete = try container.decodeIfPresent(Bool.self, forKey: .complete) ?? true
        services = try container.decode([FederatedService].self, forKey: .services)
    }
}

public struct LeafIdentity: Codable, Sendable, Equatable {
    public var name: String
    /// Changes only when the leaf lost its data dir: the hub then knows that the leaf's totals
    /// started again from zero.
    public var epoch: String
    public var startedAt: Date
    public var externalLabels: Labels

    public init(name: String, epoch: String, startedAt: Date, externalLabels: Labels) {
        self.name = name
        self.epoch = epoch
        self.startedAt = startedAt
        self.externalLabels = externalLabels
    }

    public var team: String? { externalLabels[LabelName.team] }

    enum CodingKeys: String, CodingKey {
        case name, epoch
        case startedAt = "started_at"
        case externalLabels = "external_labels"
    }
}

public struct FederatedService: Codable, Sendable, Equatable {
    public var name: String
    public var targetsTotal: Int
    public var targetsUp: Int
    public var groups: [FederatedGroup]

    public init(name: String, targetsTotal: Int, targetsUp: Int, groups: [FederatedGroup]) {
        self.name = name
        self.targetsTotal = targetsTotal
        self.targetsUp = targetsUp
        self.groups = groups
    }

    enum CodingKeys: String, CodingKey {
        case name, groups
        case targetsTotal = "targets_total"
        case targetsUp = "targets_up"
    }
}

public struct FederatedGroup: Codable, Sendable, Equatable {
    public var aggregationKey: String
    public var className: String
    public var message: String
    public var severity: Severity
    /// Occurrences counted by this leaf in this epoch: only grows.
    public var total: Int
    public var firstSeen: Date?
    public var lastSeen: Date?
    /// How many current instances report the group.
    public var instances: Int
    /// Newest first, already scrubbed.
    public var samples: [ErrorWithContext]

    public init(
        aggregationKey: String, className: String, message: String, severity: Severity, total: Int, firstSeen: Date?, lastSeen: Date?,
        instances: Int, samples: [ErrorWithContext]
    ) {
        self.aggregationKey = aggregationKey
        self.className = className
        self.message = message
        self.severity = severity
        self.total = total
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.instances = instances
        self.samples = samples
    }

    enum CodingKeys: String, CodingKey {
        case message, severity, total, instances, samples
        case aggregationKey = "aggregation_key"
        case className = "class"
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
    }
}
