/// The counting rule shared by leaf and hub (ARCHITECTURE.md, "Identity and counting").
///
/// A source (a process at the leaf, a leaf epoch at the hub) reports a count that only grows
/// while the source lives. What it adds to a total is the growth since its last report; a source
/// that restarted (a new identity, or a count that fell) adds its whole new count, because
/// everything it counted before was added already.
public enum CounterRule {
    public static func increase(previous: Int?, current: Int) -> Int {
        guard let previous, current >= previous else { return current }
        return current - previous
    }
}

/// The last counts one source reported, per key: what the next report is measured against.
public struct SourceCursor: Codable, Sendable, Equatable {
    /// The source's identity: a process's `target_uuid`, or a leaf's epoch.
    public var identity: String?
    public var counts: [String: Int]

    public init(identity: String?, counts: [String: Int] = [:]) {
        self.identity = identity
        self.counts = counts
    }

    /// Applies a new report and returns what each key adds. A changed identity, or any count
    /// that fell, means the source restarted: then every key adds its whole count, and keys
    /// missing from the report are forgotten.
    public mutating func advance(identity newIdentity: String?, counts newCounts: [String: Int]) -> [String: Int] {
        let restarted = identity != newIdentity || newCounts.contains { key, count in (counts[key] ?? 0) > count }
        var increases: [String: Int] = [:]
        increases.reserveCapacity(newCounts.count)
        for (key, count) in newCounts {
            let increase = CounterRule.increase(previous: restarted ? nil : counts[key], current: count)
            if increase > 0 { increases[key] = increase }
        }
        if restarted {
            identity = newIdentity
            counts = newCounts
        } else {
            counts.merge(newCounts) { _, new in new }
        }
        return increases
    }
}
