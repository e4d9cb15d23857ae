import Foundation
import Periskop

/// A group as the leaf's `GET /api/v1/services/{service}/errors/{key}` answers it: the leaf
/// writes it, and the hub's group page reads it for the instances (per-instance detail stays at
/// the leaf).
public struct GroupSummary: Codable, Sendable {
    public var service: String
    public var aggregationKey: String
    public var className: String
    public var message: String
    public var severity: Severity
    public var total: Int
    public var firstSeen: Date?
    public var lastSeen: Date?
    public var instances: Int
    public var resolved: Bool

    enum CodingKeys: String, CodingKey {
        case service, message, severity, total, instances, resolved
        case aggregationKey = "aggregation_key"
        case className = "class"
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
    }

    public init(service: String, aggregationKey: String, className: String, message: String, severity: Severity, total: Int, firstSeen: Date?, lastSeen: Date?, instances: Int, resolved: Bool) {
        self.service = service
        self.aggregationKey = aggregationKey
        self.className = className
        self.message = message
        self.severity = severity
        self.total = total
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.instances = instances
        self.resolved = resolved
    }
}

public struct InstanceReport: Codable, Sendable {
    public var instance: String
    public var url: String
    public var targetUUID: String?
    public var count: Int
    public var lastSeen: Date
    /// Whether this is the live process of a current target (not one that restarted or went away).
    public var current: Bool

    enum CodingKeys: String, CodingKey {
        case instance, url, count, current
        case targetUUID = "target_uuid"
        case lastSeen = "last_seen"
    }

    public init(instance: String, url: String, targetUUID: String?, count: Int, lastSeen: Date, current: Bool) {
        self.instance = instance
        self.url = url
        self.targetUUID = targetUUID
        self.count = count
        self.lastSeen = lastSeen
        self.current = current
    }
}

public struct LeafGroupDetail: Codable, Sendable {
    public var group: GroupSummary
    public var samples: [ErrorWithContext]
    public var instances: [InstanceReport]

    public init(group: GroupSummary, samples: [ErrorWithContext], instances: [InstanceReport]) {
        self.group = group
        self.samples = samples
        self.instances = instances
    }
}
