import Foundation
import Shared

/// Which target label names a service's version (`deploys.label`), and how close together
/// restarts must come to be one deploy where there is none.
struct DeployRule: Sendable, Equatable {
    static let defaultRestartWindow: Duration = .seconds(300)
    /// Deploys kept per service, the newest.
    static let limit = 20

    /// The configured label, or nil to try `FederatedDeploy.defaultLabels`.
    var label: String?
    var restartWindow = Self.defaultRestartWindow

    /// The deploy label and its value among a target's labels (after relabelling), if it has one.
    func version(in labels: Labels) -> (label: String, value: String)? {
        for name in label.map({ [$0] }) ?? FederatedDeploy.defaultLabels {
            if let value = labels[name], !value.isEmpty { return (name, value) }
        }
        return nil
    }
}

/// One deploy as the leaf keeps it.
struct DeployRecord: Codable, Sendable, Equatable {
    var at: Date
    var version: String?
    var label: String?
    /// The instances seen starting in it, sorted.
    var instances: [String]

    var federated: FederatedDeploy { FederatedDeploy(at: at, version: version, label: label, instances: instances.count) }

    /// Adds an instance; false if it was there.
    mutating func add(_ instance: String) -> Bool {
        let index = instances.partitioningIndex { $0 >= instance }
        guard index == instances.endIndex || instances[index] != instance else { return false }
        instances.insert(instance, at: index)
        return true
    }
}

/// A service's deploys, oldest first, and how a process's first report adds to them. Pure: the
/// team state calls it with what a scrape shows.
struct DeployLog: Codable, Sendable, Equatable {
    var deploys: [DeployRecord] = []

    /// What one scrape of a target shows of deploys.
    struct Sighting: Sendable {
        var instance: String
        /// The deploy label and its value on the target.
        var version: (label: String, value: String)?
        /// The leaf had not seen this process before.
        var newProcess: Bool
        /// The process replaced an earlier one of the same target (a new `target_uuid` at its URL).
        var restart: Bool
        var at: Date
    }

    /// Records what a sighting shows; true if the log changed.
    /// - A version the service never had is a new deploy; a new process of a known version is
    ///   one more instance of its deploy (a rollback to an older version is not a new deploy).
    /// - Without a version, a restart is a deploy, joined by the restarts that follow within
    ///   `restartWindow` of its start. A process seen first without replacing one (the leaf's
    ///   first scrape, a new target) is no deploy.
    mutating func record(_ sighting: Sighting, rule: DeployRule) -> Bool {
        if let version = sighting.version {
            if let index = deploys.lastIndex(where: { $0.version == version.value }) {
                return sighting.newProcess && deploys[index].add(sighting.instance)
            }
            append(DeployRecord(at: sighting.at, version: version.value, label: version.label, instances: [sighting.instance]))
            return true
        }
        guard sighting.restart else { return false }
        if let last = deploys.indices.last, deploys[last].version == nil,
            sighting.at >= deploys[last].at, sighting.at.timeIntervalSince(deploys[last].at) <= rule.restartWindow.seconds
        {
            return deploys[last].add(sighting.instance)
        }
        append(DeployRecord(at: sighting.at, version: nil, label: nil, instances: [sighting.instance]))
        return true
    }

    private mutating func append(_ deploy: DeployRecord) {
        // In time order: a process's oldest occurrence may date its deploy before a later one's.
        let index = deploys.partitioningIndex { $0.at > deploy.at }
        deploys.insert(deploy, at: index)
        if deploys.count > DeployRule.limit { deploys.removeFirst(deploys.count - DeployRule.limit) }
    }
}

extension RandomAccessCollection {
    /// The first index whose element satisfies `predicate`, which is false then true along the collection.
    fileprivate func partitioningIndex(where predicate: (Element) -> Bool) -> Index {
        var low = startIndex
        var count = self.count
        while count > 0 {
            let half = count / 2
            let middle = index(low, offsetBy: half)
            if predicate(self[middle]) {
                count = half
            } else {
                low = index(after: middle)
                count -= half + 1
            }
        }
        return low
    }
}
