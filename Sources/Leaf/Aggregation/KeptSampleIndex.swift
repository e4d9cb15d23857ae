import Periskop
import Synchronization

/// What the team keeps of each group's samples, readable from any thread: decoding (which runs
/// outside `TeamState`) asks it which samples merging would drop, so as not to build them.
///
/// `TeamState` publishes a group's entry after merging into it. An entry may be stale by the time
/// its scrape is merged (another target of the service merged first), which costs only speed:
/// `TeamState.apply` checks every skipped sample against the group as it is then.
final class KeptSampleIndex: Sendable {
    // Per group, not per target: at most `sample_limit` uuids each, strings shared with the state.
    private let entries = Mutex<[GroupID: KeptSamples]>([:])

    func kept(_ id: GroupID) -> KeptSamples? {
        entries.withLock { $0[id] }
    }

    func publish(_ kept: KeptSamples, for id: GroupID) {
        entries.withLock { $0[id] = kept }
    }

    /// For a group whose samples did not change: its entry, if any, still holds.
    func publishIfMissing(for id: GroupID, _ make: () -> KeptSamples) {
        entries.withLock { entries in
            if entries[id] == nil { entries[id] = make() }
        }
    }
}
