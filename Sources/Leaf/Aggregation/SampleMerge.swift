import Foundation
import Periskop

/// How samples and group facts are merged, at the leaf and at the hub alike.
public enum GroupMerge {
    /// Merges `incoming` samples into `existing` by uuid, newest first, keeping at most `limit`.
    /// A sample seen again keeps its first copy: the same uuid is the same occurrence.
    public static func samples(_ existing: [ErrorWithContext], adding incoming: [ErrorWithContext], limit: Int) -> [ErrorWithContext] {
        guard !incoming.isEmpty else { return existing }
        var seen = Set(existing.map(\.uuid))
        var merged = existing
        for sample in incoming where seen.insert(sample.uuid).inserted {
            merged.append(sample)
        }
        merged.sort { ($0.timestamp ?? .distantPast) > ($1.timestamp ?? .distantPast) }
        if merged.count > limit { merged.removeLast(merged.count - limit) }
        return merged
    }

    /// A sample without a uuid gets one derived from what it is, so that the same occurrence
    /// scraped twice is still recognised.
    public static func withUUID(_ sample: ErrorWithContext, source: String) -> ErrorWithContext {
        guard sample.uuid.isEmpty else { return sample }
        var sample = sample
        let hash = FNV1a64("\(source)|\(sample.timestamp?.timeIntervalSince1970 ?? 0)|\(sample.error.className)|\(sample.error.message)")
        sample.uuid = "derived-" + String(hash.value, radix: 16)
        return sample
    }

    public static func earliest(_ a: Date?, _ b: Date?) -> Date? {
        guard let a else { return b }
        guard let b else { return a }
        return min(a, b)
    }

    public static func latest(_ a: Date?, _ b: Date?) -> Date? {
        guard let a else { return b }
        guard let b else { return a }
        return max(a, b)
    }
}
