import Foundation
import Shared
import Synchronization

/// The leaf's change log of its federated groups: a sequence that moves whenever a federated
/// group differs from how it was last served, and per group the sequence it last changed at.
/// A hub that applied the body of sequence S is sent only the groups changed after S (a delta);
/// the leaf's other work is unchanged, and a hub without a sequence of this log gets every group.
///
/// Why a delta is exact: a group left out is equal, field for field, to how it was served in a
/// body at or before S, which the hub applied; the hub's counting takes a group's total as a
/// cumulative counter, so reading it again would change nothing. The log is in memory and new at
/// every start, so a sequence is only ever compared within one run of one leaf.
struct FederationLog: Sendable {
    let id: String
    private(set) var sequence: UInt64 = 0
    private var served: [GroupID: (group: FederatedGroup, changed: UInt64)] = [:]

    init(id: String = UUID().uuidString.lowercased()) {
        self.id = id
    }

    /// Takes the groups as they are now into the log, and returns those a hub that applied the
    /// body named by `since` must be sent, with where the answer stands. The groups must be the
    /// leaf's every group: one missing is forgotten (and sent whole if it comes back).
    mutating func record(_ groups: [(id: GroupID, group: FederatedGroup)], since: (log: String, sequence: UInt64)?) -> (
        send: [(id: GroupID, group: FederatedGroup)], changes: FederationChanges
    ) {
        var next: [GroupID: (group: FederatedGroup, changed: UInt64)] = [:]
        next.reserveCapacity(groups.count)
        var moved = false
        for (id, group) in groups {
            if let old = served[id], old.group == group {
                next[id] = old
            } else {
                next[id] = (group, sequence + 1)
                moved = true
            }
        }
        if moved { sequence += 1 }
        served = next
        guard let since, since.log == id, since.sequence <= sequence else {
            return (groups, FederationChanges(log: id, sequence: sequence))
        }
        let send = groups.filter { served[$0.id]!.changed > since.sequence }
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
