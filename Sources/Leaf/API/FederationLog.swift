import Foundation
import Shared
import Synchronization

/// The leaf's change log of its federated groups: a sequence that moves whenever a federated
/// group differs from how it was last served, and per group the sequence it last changed at.
/// A hub that applied the body of sequence S is sent only the groups changed after S (a delta);
/// the leaf's other work is unchanged, and a hub without a sequence of this log gets every group.
///
/// A group in a delta carries its newest sample and those first served after S: decoding the
/// samples a hub had already stored was most of what a delta cost it.
///
/// Why a delta is exact: a group left out is equal, field for field, to how it was served in a
/// body at or before S, which the hub applied; the hub's counting takes a group's total as a
/// cumulative counter, so reading it again would change nothing. A sample left out was in the
/// group, unchanged, since a body at or before S; the hub keys samples by uuid and keeps the
/// newest few, so storing it again would change nothing either (the newest is sent anyway: the hub
/// takes a group's stack trace from it). The log is in memory and new at every start, so a
/// sequence is only ever compared within one run of one leaf.
struct FederationLog: Sendable {
    let id: String
    private(set) var sequence: UInt64 = 0
    private var served: [GroupID: Served] = [:]

    /// A group as last served, the sequence it last changed at, and per sample (by uuid) the
    /// sequence since which it has been in the group. (A sample without a uuid is always sent: the
    /// hub could not have told it apart.)
    private struct Served {
        var group: FederatedGroup
        var changed: UInt64
        var samples: [String: UInt64]
    }

    init(id: String = UUID().uuidString.lowercased()) {
        self.id = id
    }

    /// Takes the groups as they are now into the log, and returns those a hub that applied the
    /// body named by `since` must be sent, with where the answer stands. The groups must be the
    /// leaf's every group: one missing is forgotten (and sent whole if it comes back).
    mutating func record(_ groups: [(id: GroupID, group: FederatedGroup)], since: (log: String, sequence: UInt64)?) -> (
        send: [(id: GroupID, group: FederatedGroup)], changes: FederationChanges
    ) {
        var next: [GroupID: Served] = [:]
        next.reserveCapacity(groups.count)
        var moved = false
        for (id, group) in groups {
            let old = served[id]
            if let old, old.group == group {
                next[id] = old
                continue
            }
            // A sample gone from the group and back is new again: the hub may have trimmed it meanwhile.
            var samples: [String: UInt64] = [:]
            for sample in group.samples { samples[sample.uuid] = old?.samples[sample.uuid] ?? sequence + 1 }
            next[id] = Served(group: group, changed: sequence + 1, samples: samples)
            moved = true
        }
        if moved { sequence += 1 }
        served = next
        guard let since, since.log == id, since.sequence <= sequence else {
            return (groups, FederationChanges(log: id, sequence: sequence))
        }
        var send: [(id: GroupID, group: FederatedGroup)] = []
        for (id, group) in groups {
            let entry = served[id]!
            guard entry.changed > since.sequence else { continue }
            var trimmed = group
            trimmed.samples = group.samples.enumerated().compactMap { offset, sample in
                offset == 0 || sample.uuid.isEmpty || entry.samples[sample.uuid]! > since.sequence ? sample : nil
            }
            send.append((id, trimmed))
        }
        return (send, FederationChanges(log: id, sequence: sequence, since: since.sequence))
    }
}

/// The leaf's one log, shared by every federation request (each hub asks with its own sequence).
final class FederationChangeLog: Sendable {
    /// With the bodies served whole and as deltas, for `/metrics`.
    private let state = Mutex((log: FederationLog(), full: 0, delta: 0))

    func record(_ groups: [(id: GroupID, group: FederatedGroup)], since: (log: String, sequence: UInt64)?) -> (
        send: [(id: GroupID, group: FederatedGroup)], changes: FederationChanges
    ) {
        state.withLock { state in
            let answer = state.log.record(groups, since: since)
            if answer.changes.since == nil { state.full += 1 } else { state.delta += 1 }
            return answer
        }
    }

    var served: (full: Int, delta: Int) { state.withLock { ($0.full, $0.delta) } }
}
