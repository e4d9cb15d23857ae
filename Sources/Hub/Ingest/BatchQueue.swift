import Synchronization

/// Work that costs less done together: what is submitted within `wait` of the first item is
/// handed to `run` as one batch of at most `limit` items. The hub's ingest applies many leaves'
/// scrapes in one transaction this way, paying its fixed cost (round trips, statement start-up,
/// the commit) once. Items whose `conflict` keys are equal never share a batch. Each submitter
/// waits for its own item's result; the first submitter of a batch runs it, so the queue needs no
/// task of its own.
final class BatchQueue<Item: Sendable, Output: Sendable>: Sendable {
    typealias Run = @Sendable ([Item]) async -> [Result<Output, any Error>]

    private let wait: Duration
    private let limit: Int
    private let conflict: @Sendable (Item) -> String?
    private let run: Run
    private let state = Mutex(State())

    /// - Parameters:
    ///   - conflict: a key no two items of a batch share (nil: conflicts with nothing).
    ///   - run: one result per item, in order.
    init(wait: Duration, limit: Int, conflict: @escaping @Sendable (Item) -> String? = { _ in nil }, run: @escaping Run) {
        precondition(limit >= 1)
        self.wait = wait
        self.limit = limit
        self.conflict = conflict
        self.run = run
    }

    private enum Turn: Sendable {
        case done(Result<Output, any Error>)
        /// The submitter runs the next batch, after `wait` when it is the first to arrive.
        case lead(gather: Bool)
    }

    private struct Waiter: Sendable {
        var item: Item
        var continuation: CheckedContinuation<Turn, Never>
    }

    private struct State: Sendable {
        var pending: [Waiter] = []
        /// A submitter is gathering a batch: others wait to be taken into it.
        var leading = false
    }

    /// Runs `item` in a batch and returns its result. Not cancellable: once submitted, an item is
    /// run (its batch may be a transaction other submitters wait for).
    func submit(_ item: Item) async throws -> Output {
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let leads = state.withLock { state in
                guard state.leading else {
                    state.leading = true
                    return true
                }
                state.pending.append(Waiter(item: item, continuation: continuation))
                return false
            }
            if leads { continuation.resume(returning: .lead(gather: true)) }
        }
        switch turn {
        case .done(let result):
            return try result.get()
        case .lead(let gather):
            if gather {
                // A cancelled submitter's batch starts at once: the items that joined meanwhile wait on it.
                try? await Task.sleep(for: wait)
            }
            return try await lead(item)
        }
    }

    /// Takes a batch with `own` first, hands the lead to the first item left over (it has waited
    /// already, so its batch starts at once), runs the batch, and gives the others their results.
    private func lead(_ own: Item) async throws -> Output {
        let (taken, next) = state.withLock { state -> ([Waiter], Waiter?) in
            var keys: Set<String> = []
            if let key = conflict(own) { keys.insert(key) }
            var taken: [Waiter] = []
            var left: [Waiter] = []
            for waiter in state.pending {
                let key = conflict(waiter.item)
                if taken.count + 1 < limit, key.map({ keys.insert($0).inserted }) ?? true {
                    taken.append(waiter)
                } else {
                    left.append(waiter)
                }
            }
            guard !left.isEmpty else {
                state.pending = []
                state.leading = false
                return (taken, nil)
            }
            state.pending = Array(left.dropFirst())
            return (taken, left[0])
        }
        next?.continuation.resume(returning: .lead(gather: false))
        var results = await run([own] + taken.map(\.item))
        if results.count != taken.count + 1 {
            results = Array(repeating: .failure(BatchQueueError(items: taken.count + 1, results: results.count)), count: taken.count + 1)
        }
        for (waiter, result) in zip(taken, results.dropFirst()) { waiter.continuation.resume(returning: .done(result)) }
        return try results[0].get()
    }
}

/// A batch's run returned a result count other than its item count: a bug, reported to every item.
struct BatchQueueError: Error, CustomStringConvertible {
    let items: Int
    let results: Int
    var description: String { "a batch of \(items) items gave \(results) results" }
}
