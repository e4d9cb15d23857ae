import Foundation

/// What a scraper already keeps of one group's samples: enough to tell, before building a sample,
/// that merging it would change nothing.
///
/// The rule is the merge's own (newest first, by uuid, at most a limit): a sample is dropped when
/// its uuid is kept already, or when the group is full and it is no newer than the oldest kept.
public struct KeptSamples: Sendable, Equatable {
    /// The uuids of the samples kept.
    public var uuids: Set<String>
    /// Set only when the group keeps as many samples as it may: then nothing older gets in.
    public var oldest: Date?

    public init(uuids: Set<String>, oldest: Date?) {
        self.uuids = uuids
        self.oldest = oldest
    }

    /// What `samples` (newest first, as a merger keeps them) covers when at most `limit` are kept.
    public init(newestFirst samples: [ErrorWithContext], limit: Int) {
        uuids = Set(samples.map(\.uuid))
        oldest = samples.count >= limit ? samples.last?.timestamp : nil
    }

    /// Whether a sample with this uuid and time would be dropped by the merge. A sample without a
    /// uuid is known only by its time: a merger derives its uuid from what it is.
    public func covers(uuid: String, timestamp: Date?) -> Bool {
        if let oldest, (timestamp ?? .distantPast) <= oldest { return true }
        return !uuid.isEmpty && uuids.contains(uuid)
    }
}

/// A sample that was checked but not built, because its group's `KeptSamples` covered it: only
/// what merging needs to know of it besides that.
public struct SampleStub: Sendable, Equatable {
    public var uuid: String
    public var timestamp: Date?

    public init(uuid: String, timestamp: Date?) {
        self.uuid = uuid
        self.timestamp = timestamp
    }
}

/// A group as `PayloadDecoder.decode(_:keeping:)` reads it.
public struct SkimmedGroup: Sendable, Equatable {
    /// Its `latestErrors` are the samples built in full, in the payload's order.
    public var group: AggregatedError
    /// The samples that were not built, in the payload's order. With the built ones they are
    /// exactly the samples a full decode keeps (`PayloadLimits.maxSamplesPerGroup` applies to both).
    public var skipped: [SampleStub]

    public init(group: AggregatedError, skipped: [SampleStub] = []) {
        self.group = group
        self.skipped = skipped
    }

    /// The earliest and latest sample time, built or skipped.
    public var sampleTimes: (earliest: Date?, latest: Date?) {
        var earliest: Date?
        var latest: Date?
        func see(_ time: Date?) {
            guard let time else { return }
            if earliest.map({ time < $0 }) ?? true { earliest = time }
            if latest.map({ time > $0 }) ?? true { latest = time }
        }
        for sample in group.latestErrors { see(sample.timestamp) }
        for stub in skipped { see(stub.timestamp) }
        return (earliest, latest)
    }
}

/// A payload in which samples the scraper already keeps were checked but not built.
public struct SkimmedPayload: Sendable, Equatable {
    public var targetUUID: String?
    public var groups: [SkimmedGroup]

    public init(targetUUID: String?, groups: [SkimmedGroup]) {
        self.targetUUID = targetUUID
        self.groups = groups
    }

    /// A fully decoded payload: nothing skipped.
    public init(_ payload: ExceptionsPayload) {
        targetUUID = payload.targetUUID
        groups = payload.aggregatedErrors.map { SkimmedGroup(group: $0) }
    }

    public var skippedCount: Int { groups.reduce(0) { $0 + $1.skipped.count } }
}
