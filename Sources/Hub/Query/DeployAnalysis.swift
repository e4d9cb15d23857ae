import Foundation

/// What a service's deploys changed, from its deploys and its groups' counts: pure, so that it
/// is tested without a database (`DeployQueries` reads the inputs).
/// - A group is **new in a deploy** when it was first seen in [the deploy, the next deploy).
/// - A group's rate **rose** (or **fell**) sharply after a deploy when its occurrences in the
///   window after the deploy are at least `ratio` times (at most 1/`ratio` of) those in the
///   window of the same length before it, with at least `minimumCount` occurrences in the two
///   together (a quiet group's 1 against 3 is noise). The window after ends at the next deploy,
///   at `window` after the deploy, or now, whichever comes first: each deploy is measured alone.
enum DeployAnalysis {
    static let window: TimeInterval = 3600
    static let ratio = 2.0
    static let minimumCount: Int64 = 10
    /// Shorter windows say nothing yet.
    static let shortestWindow: TimeInterval = 60

    /// The windows compared for each deploy (`starts` oldest first), or nil when the window after is too short to say.
    static func windows(starts: [Date], now: Date) -> [(before: DateInterval, after: DateInterval)?] {
        starts.indices.map { index in
            let start = starts[index]
            let next = index + 1 < starts.count ? starts[index + 1] : now
            let end = min(start.addingTimeInterval(window), next, now)
            let length = end.timeIntervalSince(start)
            guard length >= shortestWindow else { return nil }
            return (DateInterval(start: start.addingTimeInterval(-length), duration: length), DateInterval(start: start, duration: length))
        }
    }

    /// The index of the deploy (in `starts`, oldest first) a group first seen at `firstSeen` is new in.
    static func deploy(newIn starts: [Date], firstSeen: Date?) -> Int? {
        guard let firstSeen, let index = starts.lastIndex(where: { $0 <= firstSeen }) else { return nil }
        return index
    }

    enum Change: String, Codable, Sendable { case rose, fell }

    /// Whether a group's count in the window after a deploy against the window before is a sharp change.
    static func change(before: Int64, after: Int64) -> Change? {
        guard before + after >= minimumCount else { return nil }
        if Double(after) >= ratio * Double(before) { return .rose }
        if Double(after) * ratio <= Double(before) { return .fell }
        return nil
    }
}
