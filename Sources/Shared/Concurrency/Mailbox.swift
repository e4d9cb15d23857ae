import Synchronization

/// Hands the latest value from senders to one waiting loop. A value sent while the loop is busy
/// replaces any older one not taken yet: a loop that applies configs or target lists only needs
/// the newest.
public final class Mailbox<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    public init() {}

    public func send(_ value: Value) {
        let waiter = state.withLock { state in
            state.value = value
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Waits for a value and takes it. Returns nil if the task is cancelled first.
    public func take() async -> Value? {
        await waitForValue()
        return state.withLock { state in
            defer { state.value = nil }
            return state.value
        }
    }

    /// Returns when a value is waiting (without taking it), or the task is cancelled.
    public func waitForValue() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let ready = state.withLock { state in
                    if state.value != nil || Task.isCancelled { return true }
                    state.waiter = continuation
                    return false
                }
                if ready { continuation.resume() }
            }
        } onCancel: {
            state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }?.resume()
        }
    }
}
