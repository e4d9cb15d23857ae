import Periskop
import Synchronization

/// What the team keeps of each group's samples, readable from any thread: decoding (which runs
/// outside `TeamState`) asks it which samples merging would drop, so as not to build them.
///
/// `TeamState` publishes a group's entry after merging into it. An entry may be stale by the time
/// its scrape is merged (another target of the service merged first), which costs only speed:
/// `TeamState.apply` checks every skipped sample against the group as it is then.
final class KeptSampleIndex: Sendable {
    private struct Entry {
        var kept: KeptSamples
        /// The `sample_limit` it was made with: what it covers depends on it.
        var limit: Int
    }
    // Per group, not per target: at most `sample_limit` uuids each, strings shared with the state.
    private let entries = Mutex<[GroupID: Entry]>([:])

    func kept(_ id: GroupID) -> KeptSamples? {
        entries.withLock { $0[id]?.kept }
    }

    /// The entry, when it was made with `limit`: for `TeamState`, which publishes every entry from
    /// the group's samples as it merges, so that such an entry is what its samples cover now.
    func kept(_ id: GroupID, limit: Int) -> KeptSamples? {
        entries.withLock { entries in entries[id].flatMap { $0.limit == limit ? $0.kept : nil } }
    }

    func publish(_ kept: KeptSamples, limit: Int, for id: GroupID) {
        entries.withLock { $0[id] = Entry(kept: kept, limit: limit) }
    }
}
