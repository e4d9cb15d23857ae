import Foundation
import Synchronization

/// How saving the state to the data dir goes, for `/metrics` and the log: a full or read-only
/// disk must be visible without stopping the leaf.
final class SaveHealth: Sendable {
    struct Reading: Sendable {
        var saves = 0
        var failures = 0
        var lastSuccess: Date?
        /// Set while saves fail: the first failure of the streak and the latest error.
        var failingSince: Date?
        var lastError: String?
        fileprivate var lastLogged: Date?
    }

    /// What the log should say about a failed save.
    enum Report: Equatable {
        /// The first failure after saves worked.
        case began
        /// Still failing, `repeatEvery` after the last time it was logged.
        case persists(since: Date)
        case quiet
    }

    private let reading = Mutex(Reading())

    var current: Reading { reading.withLock { $0 } }

    /// Records a save; returns when the failing streak it ends began, if it ends one.
    @discardableResult
    func succeeded(at time: Date) -> Date? {
        reading.withLock { reading in
            let since = reading.failingSince
            reading.saves += 1
            reading.lastSuccess = time
            reading.failingSince = nil
            reading.lastError = nil
            return since
        }
    }

    /// Records a failed save and says whether to log it: once when saves begin to fail, then
    /// every `repeatEvery` while they go on failing, rather than on every tick.
    @discardableResult
    func failed(at time: Date, error: String, repeatEvery: TimeInterval = 60) -> Report {
        reading.withLock { reading in
            reading.failures += 1
            reading.lastError = error
            guard let since = reading.failingSince else {
                reading.failingSince = time
                reading.lastLogged = time
                return .began
            }
            guard time.timeIntervalSince(reading.lastLogged ?? since) >= repeatEvery else { return .quiet }
            reading.lastLogged = time
            return .persists(since: since)
        }
    }
}
