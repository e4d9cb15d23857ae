import Foundation
import Synchronization

/// Keeps a process's exceptions aggregated in memory, for a scraper to read in the Periskop
/// format (`payload()`, `exportJSON()`, the PeriskopHummingbird route) or for a short-lived job
/// to push (`push(to:)`). What periskop-go's `ErrorCollector` and periskop-python's
/// `ExceptionCollector` give their services.
///
/// Callable from any thread or task without `await`: reporting is synchronous and the state sits
/// behind a `Mutex`, held only to update counts and samples (the stack, message and sample are
/// built before taking it), so reporting from a synchronous `catch` or a `deinit` just works.
///
/// Per aggregation key it keeps the exact number of reports (`total_count`), the newest
/// `samplesPerKey` samples (oldest dropped first, as every Periskop client keeps 10), the most
/// severe severity reported, and the time of the first report. Keys are made by
/// `AggregationKey` unless the caller gives one.
///
/// At most `maxKeys` distinct keys are kept, so that an error whose message embeds an id cannot
/// grow the process's memory without end. Once that many exist, reports with a new key are
/// counted under the single key `ExceptionCollector.overflowKey` (their samples keep their own
/// class and message, so the overflow group shows what overflowed); nothing reported is lost
/// from the totals, and the overflow group shows up in the leaf like any other.
public final class ExceptionCollector: Sendable {
    /// The key that reports with a new key are counted under once `maxKeys` keys exist.
    public static let overflowKey = "periskop.overflow"

    /// This collector's identity as a target (`target_uuid`): one per instance, for its whole
    /// life, so a scraper sees a new process (and counts from zero) exactly when the service
    /// restarts and creates a new collector. Use one collector per process.
    public let targetUUID: String
    /// Distinct keys kept before new ones go to `overflowKey`.
    public let maxKeys: Int
    /// Newest samples kept per key.
    public let samplesPerKey: Int
    /// Frames of the reporting stack that go into a derived key (periskop-go hashes 4).
    public let keyFrames: Int
    /// Frames of the reporting stack kept in a sample's `stacktrace`, one line each
    /// (`<function> in <image> at <file>:<line>`; see `AggregationKey` for the other forms).
    public let stackFrames: Int

    private struct Group {
        var key: String
        var totalCount: Int
        var severity: Severity
        var createdAt: Date
        /// Oldest first, as the wire format lists them.
        var samples: [ErrorWithContext]
    }

    private struct State {
        /// In order of first report, so that an unchanged collector always encodes to the same
        /// bytes (scrapers skip unchanged bodies by their hash).
        var groups: [Group] = []
        var index: [String: Int] = [:]
    }

    private let state = Mutex(State())

    /// The defaults are what periskop-go does (10 samples, 4 frames in the key) and a key bound
    /// that no healthy service reaches; negative values count as 0.
    public init(maxKeys: Int = 1_000, samplesPerKey: Int = 10, keyFrames: Int = 4, stackFrames: Int = 64) {
        self.targetUUID = UUID().uuidString.lowercased()
        self.maxKeys = max(maxKeys, 0)
        self.samplesPerKey = max(samplesPerKey, 0)
        self.keyFrames = max(keyFrames, 0)
        self.stackFrames = max(stackFrames, 0)
        AggregationKey.prepare()
    }

    // MARK: - Reporting

    /// Reports `error` under the key derived from its class, its message and the top `keyFrames`
    /// frames of the caller's stack (see `AggregationKey`).
    ///
    /// `@inline(never)`, here and in the other `report`, so that the caller's frame is always the
    /// same number of frames up the stack.
    @inline(never)
    public func report(_ error: any Error, severity: Severity = .error, httpContext: HTTPContext? = nil) {
        let stack = AggregationKey.callStack(skipping: 1, limit: max(stackFrames, keyFrames))
        let instance = ErrorDescription.instance(of: error, stacktrace: Array(stack.lines.prefix(stackFrames)))
        let key = AggregationKey.make(className: instance.className, message: instance.message, frames: stack.keyFrames.prefix(keyFrames))
        record(instance, key: key, severity: severity, httpContext: httpContext)
    }

    /// Reports `error` under a key of the caller's choosing: for errors whose message varies
    /// (ids, times) but that are one bug, or to group by something the stack does not show.
    @inline(never)
    public func report(_ error: any Error, key: String, severity: Severity = .error, httpContext: HTTPContext? = nil) {
        let stack = AggregationKey.callStack(skipping: 1, limit: stackFrames)
        record(ErrorDescription.instance(of: error, stacktrace: stack.lines), key: key, severity: severity, httpContext: httpContext)
    }

    private func record(_ instance: ErrorInstance, key: String, severity: Severity, httpContext: HTTPContext?) {
        let uuid = UUID().uuidString.lowercased()
        let maxKeys = self.maxKeys
        let samplesPerKey = self.samplesPerKey
        state.withLock { state in
            // Read under the lock, so that a group's samples, kept in arrival order, are in time order too.
            let now = Date()
            let sample = ErrorWithContext(error: instance, uuid: uuid, timestamp: now, severity: severity, httpContext: httpContext)
            var key = key
            if state.index[key] == nil {
                let keys = state.groups.count - (state.index[Self.overflowKey] == nil ? 0 : 1)
                if keys >= maxKeys { key = Self.overflowKey }
            }
            let position: Int
            if let existing = state.index[key] {
                position = existing
            } else {
                position = state.groups.count
                state.groups.append(Group(key: key, totalCount: 0, severity: severity, createdAt: now, samples: []))
                state.index[key] = position
            }
            state.groups[position].totalCount += 1
            state.groups[position].severity = max(state.groups[position].severity, severity)
            guard samplesPerKey > 0 else { return }
            if state.groups[position].samples.count >= samplesPerKey {
                state.groups[position].samples.removeFirst(state.groups[position].samples.count - samplesPerKey + 1)
            }
            state.groups[position].samples.append(sample)
        }
    }

    // MARK: - Reading

    /// Everything reported so far, as a scraper reads it: one group per key in order of first
    /// report, samples oldest first.
    public func payload() -> ExceptionsPayload {
        let groups = state.withLock { $0.groups }
        return ExceptionsPayload(
            targetUUID: targetUUID,
            aggregatedErrors: groups.map { group in
                AggregatedError(
                    aggregationKey: group.key, totalCount: group.totalCount, severity: group.severity,
                    createdAt: group.createdAt, latestErrors: group.samples)
            })
    }

    /// `payload()` in the wire format, written by `PayloadEncoder`: exactly the bytes a leaf
    /// decodes, and the same bytes as long as nothing new is reported.
    public func exportJSON() -> Data {
        PayloadEncoder().encodeData(payload())
    }
}
