import Foundation

/// A service as both servers list it: its targets and what it has reported.
public struct ServiceSummary: Encodable, Sendable {
    public var name: String
    public var targetsTotal: Int
    public var targetsUp: Int
    public var groups: Int
    public var occurrences: Int64
    public var lastSeen: Date?

    public init(name: String, targetsTotal: Int, targetsUp: Int, groups: Int, occurrences: Int64, lastSeen: Date? = nil) {
        self.name = name
        self.targetsTotal = targetsTotal
        self.targetsUp = targetsUp
        self.groups = groups
        self.occurrences = occurrences
        self.lastSeen = lastSeen
    }

    enum CodingKeys: String, CodingKey {
        case name, groups, occurrences
        case targetsTotal = "targets_total"
        case targetsUp = "targets_up"
        case lastSeen = "last_seen"
    }
}
