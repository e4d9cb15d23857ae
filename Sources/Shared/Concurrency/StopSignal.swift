import NIOCore
import NIOPosix
import Synchronization

/// Tells one loop to stop. The loop sleeps on it between iterations, so that a target that goes
/// away stops at once instead of at its next tick.
///
/// A sleep is one continuation and one timer on a SwiftNIO event loop, with no child tasks: a
/// leaf sleeps like this for each of its targets between scrapes, 10,000 at a time.
public final class StopSignal: Sendable {
    private struct Sleeper {
        var continuation: CheckedContinuation<Bool, Never>
        var timer: Scheduled<Void>?
    }
    private struct State {
        var stopped = false
        var nextID = 0
        var sleepers: [Int: Sleeper] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    public var isStopped: Bool { state.withLock { $0.stopped } }

    public func stop() {
        let sleepers = state.withLock { state in
            state.stopped = true
            defer { state.sleepers = [:] }
            return state.sleepers.values
        }
        for sleeper in sleepers {
            sleeper.timer?.cancel()
            sleeper.continuation.resume(returning: false)
        }
    }

    /// Sleeps until `deadline`, on a timer of `eventLoop` (a scrape loop passes its own, so that
    /// waking it wakes no other thread). Returns false if the signal was given or the task
    /// cancelled first.
    public nonisolated(nonsending) func sleep(until deadline: ContinuousClock.Instant, on eventLoop: (any EventLoop)? = nil) async -> Bool {
        let slept = await suspend(until: deadline, on: eventLoop)
        return slept && !isStopped && !Task.isCancelled
    }

    /// Returns when the signal is given or the task is cancelled.
    public func wait() async {
        _ = await suspend(until: nil, on: nil)
    }

    /// True when woken by the timer, false by the signal or cancellation.
    // An isolated parameter rather than nonisolated(nonsending), and closures that capture it:
    // only so do they run on the caller's executor (they would hop to the global one).
    private func suspend(
        until deadline: ContinuousClock.Instant?, on eventLoop: (any EventLoop)?, isolation: isolated (any Actor)? = #isolation
    ) async -> Bool {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation(isolation: isolation) { (continuation: CheckedContinuation<Bool, Never>) in
                let registered = state.withLock { state in
                    if state.stopped || Task.isCancelled { return false }
                    state.sleepers[id] = Sleeper(continuation: continuation)
                    return true
                }
                guard registered else { return continuation.resume(returning: false) }
                guard let deadline else { return }
                let delay = TimeAmount(ContinuousClock.now.duration(to: deadline))
                let timer = (eventLoop ?? MultiThreadedEventLoopGroup.singleton.next()).scheduleTask(in: delay) { [self] () -> Void in
                    let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
                    sleeper?.continuation.resume(returning: true)
                }
                // Kept so that a stop cancels it: 10,000 stopped loops leave no timers behind.
                let stillWaiting = state.withLock { state in
                    guard state.sleepers[id] != nil else { return false }
                    state.sleepers[id]?.timer = timer
                    return true
                }
                if !stillWaiting { timer.cancel() }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.timer?.cancel()
            sleeper?.continuation.resume(returning: false)
        }
    }
}

/// Bounds how many scrapes run at once, so that a thousand targets don't open a thousand
/// connections at the same instant. Waiters are served in order.
public final class ConcurrencyLimiter: Sendable {
    private struct State {
        var available: Int
        var queue: [(id: Int, continuation: CheckedContinuation<Bool, Never>)] = []
        var nextID = 0
    }
    private let state: Mutex<State>

    public init(limit: Int) {
        state = Mutex(State(available: max(1, limit)))
    }

    /// Runs `body` holding a permit. Returns nil without running it if cancelled while waiting.
    public func withPermit<T: Sendable>(_ body: () async throws -> T) async rethrows -> T? {
        guard await acquire() else { return nil }
        defer { release() }
        return try await body()
    }

    /// Waits for a permit, on the caller's executor; false if cancelled first. Each true must be
    /// followed by one `release()`.
    public func acquire(isolation: isolated (any Actor)? = #isolation) async -> Bool {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation(isolation: isolation) { (continuation: CheckedContinuation<Bool, Never>) in
                let granted = state.withLock { state -> Bool? in
                    if Task.isCancelled { return false }
                    if state.available > 0 {
                        state.available -= 1
                        return true
                    }
                    state.queue.append((id, continuation))
                    return nil
                }
                if let granted { continuation.resume(returning: granted) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                guard let index = state.queue.firstIndex(where: { $0.id == id }) else { return nil }
                return state.queue.remove(at: index).continuation
            }
            waiter?.resume(returning: false)
        }
    }

    public func release() {
        let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            if state.queue.isEmpty {
                state.available += 1
                return nil
            }
            return state.queue.removeFirst().continuation
        }
        next?.resume(returning: true)
    }
}
