import Foundation
import Synchronization
import Testing

@testable import Hub

/// `BatchQueue`: what arrives together runs together, conflicting items apart, results to their
/// own submitters.
@Suite struct BatchQueueTests {
    /// A queue whose run records its batches and answers each item with itself, or fails it when
    /// `failing` says so.
    final class Recorder: Sendable {
        final class Log: Sendable {
            let batches = Mutex<[[String]]>([])
        }
        let log = Log()
        let queue: BatchQueue<String, String>
        var batches: [[String]] { log.batches.withLock { $0 } }

        init(wait: Duration = .milliseconds(300), limit: Int = 100, conflict: @escaping @Sendable (String) -> String? = { _ in nil }, failing: Set<String> = []) {
            let log = self.log
            queue = BatchQueue(wait: wait, limit: limit, conflict: conflict) { items in
                log.batches.withLock { $0.append(items) }
                return items.map { failing.contains($0) ? .failure(Refused(item: $0)) : .success("done " + $0) }
            }
        }
    }

    struct Refused: Error, Equatable { let item: String }

    /// Submits every item at about the same time; the answers by item.
    static func submitTogether(_ items: [String], to queue: BatchQueue<String, String>) async -> [String: Result<String, Refused>] {
        await withTaskGroup(of: (String, Result<String, Refused>).self) { group in
            for (index, item) in items.enumerated() {
                group.addTask {
                    // In the order given, all well within the queue's wait.
                    try? await Task.sleep(for: .milliseconds(5 * index))
                    do {
                        return (item, .success(try await queue.submit(item)))
                    } catch {
                        return (item, .failure(error as? Refused ?? Refused(item: "unexpected \(error)")))
                    }
                }
            }
            var answers: [String: Result<String, Refused>] = [:]
            for await (item, answer) in group { answers[item] = answer }
            return answers
        }
    }

    @Test func whatArrivesWithinTheWaitRunsAsOneBatch() async {
        let recorder = Recorder()
        let answers = await Self.submitTogether(["a", "b", "c", "d"], to: recorder.queue)
        #expect(recorder.batches == [["a", "b", "c", "d"]])
        #expect(answers == ["a": .success("done a"), "b": .success("done b"), "c": .success("done c"), "d": .success("done d")])
    }

    @Test func itemsThatConflictAreRunInSeparateBatches() async {
        // The first letter is the team: a1 and a2 never share a batch. (The batches left over
        // start at once, so they may run at the same time: their order is not asserted.)
        let recorder = Recorder(conflict: { String($0.prefix(1)) })
        let answers = await Self.submitTogether(["a1", "b1", "a2", "c1", "a3"], to: recorder.queue)
        #expect(Set(recorder.batches) == [["a1", "b1", "c1"], ["a2"], ["a3"]])
        #expect(answers.values.allSatisfy { (try? $0.get())?.hasPrefix("done") == true })
    }

    @Test func aBatchHoldsAtMostTheLimit() async {
        let recorder = Recorder(limit: 3)
        _ = await Self.submitTogether((1...7).map { "item \($0)" }, to: recorder.queue)
        // Taken in the order submitted.
        #expect(Set(recorder.batches) == [["item 1", "item 2", "item 3"], ["item 4", "item 5", "item 6"], ["item 7"]])
    }

    @Test func eachSubmitterGetsItsOwnItemsResult() async {
        let recorder = Recorder(failing: ["bad"])
        let answers = await Self.submitTogether(["good", "bad", "fine"], to: recorder.queue)
        #expect(recorder.batches.count == 1)
        #expect(answers == ["good": .success("done good"), "bad": .failure(Refused(item: "bad")), "fine": .success("done fine")])
    }

    @Test func aLaterItemStartsABatchOfItsOwn() async throws {
        let recorder = Recorder(wait: .milliseconds(20))
        #expect(try await recorder.queue.submit("first") == "done first")
        #expect(try await recorder.queue.submit("second") == "done second")
        #expect(recorder.batches == [["first"], ["second"]])
    }

    @Test func aRunThatMiscountsItsResultsFailsEveryItem() async {
        let queue = BatchQueue<String, String>(wait: .milliseconds(300), limit: 10) { _ in [.success("only one")] }
        let answers = await Self.submitTogether(["x", "y"], to: queue)
        #expect(answers.count == 2)
        #expect(answers.values.allSatisfy { if case .failure(let refused) = $0 { refused.item.contains("2 items gave 1 results") } else { false } })
    }
}
