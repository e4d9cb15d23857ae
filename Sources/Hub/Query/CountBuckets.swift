import PromQL

/// Counters' values at a few times, read as sums of buckets instead of minute by minute.
///
/// A counter's value at `t` is its total minus its occurrences in the minutes from the first
/// minute after `t` on. Those first excluded minutes, sorted, are the buckets' thresholds (as
/// PostgreSQL's `width_bucket(x, thresholds)`: bucket `k` holds `[thresholds[k-1], thresholds[k])`,
/// the last bucket everything after, bucket 0 what comes before), so each value is the total minus
/// the buckets from its threshold's on, and SQL returns one sum per counter and bucket.
///
/// Where the hourly rollup exists, each whole hour is counted at once in the bucket of one of its
/// minutes (its first, or its last: the `anchor`), and only the minutes of the hours that
/// thresholds cut whose bucket differs from their hour's are read again, to move their counts to
/// their own bucket (`corrections`). For a range at a 1-hour step not aligned to the hour, that is
/// at most half of each hour's minutes, and none when the steps are whole hours. Where thresholds
/// cut most hours in several places (steps of minutes), every minute is read instead (`readsHours`
/// false), which is then no dearer.
struct CountBuckets: Sendable, Equatable {
    /// The times whose values are wanted, ascending.
    let times: [Timestamp]
    /// The first minute excluded from each distinct time's value, ascending.
    let thresholds: [Timestamp]
    /// Each time's bucket: its value excludes this bucket and every later one (1-based).
    let bucketOfTime: [Int]
    /// The start of the first hour with minutes in a bucket: no earlier row matters.
    let firstHour: Timestamp
    /// Minutes past the hour at which each hour's count is placed: 0 or 59.
    let anchorMinute: Int
    /// Minute ranges `[from, to)` of cut hours whose minutes are not in their hour's bucket
    /// (`anchorBucket`).
    let corrections: [Correction]
    /// Whether whole hours are read from the rollup (with `corrections`), or every minute.
    let readsHours: Bool

    struct Correction: Sendable, Equatable {
        var from: Timestamp
        var to: Timestamp
        var anchorBucket: Int
    }

    static let minute: Timestamp = 60_000
    static let hour: Timestamp = 3_600_000

    /// Nil without times.
    init?(times unsorted: [Timestamp]) {
        let times = Array(Set(unsorted)).sorted()
        guard !times.isEmpty else { return nil }
        let excluded = times.map(Self.firstExcludedMinute)
        let thresholds = Array(Set(excluded)).sorted()
        self.times = times
        self.thresholds = thresholds
        self.bucketOfTime = excluded.map { Self.bucket(of: $0, thresholds) }
        self.firstHour = Self.floorHour(thresholds[0])

        // The thresholds inside each hour they cut (a threshold on the hour cuts nothing).
        var cuts: [Timestamp: (first: Timestamp, last: Timestamp)] = [:]
        for threshold in thresholds where threshold % Self.hour != 0 {
            let hour = Self.floorHour(threshold)
            let known = cuts[hour]
            cuts[hour] = (min(known?.first ?? threshold, threshold), max(known?.last ?? threshold, threshold))
        }
        // Anchored at the first minute, an hour's minutes from its first cut on move; anchored at
        // the last, those before its last cut. Whichever reads fewer.
        let movedFromFirst = cuts.reduce(0) { $0 + ($1.key + Self.hour - $1.value.first) }
        let movedFromLast = cuts.reduce(0) { $0 + ($1.value.last - $1.key) }
        anchorMinute = movedFromFirst <= movedFromLast ? 0 : 59
        // An hour's row stands for about 4 minute rows of a busy group: past three quarters of
        // the minutes moved, reading them all is cheaper.
        let spanned = Self.floorHour(thresholds[thresholds.count - 1]) + Self.hour - firstHour
        readsHours = min(movedFromFirst, movedFromLast) * 4 <= spanned * 3
        corrections = !readsHours ? [] : cuts.keys.sorted().map { [anchorMinute] hour in
            let cut = cuts[hour]!
            let anchor = Self.bucket(of: hour + Timestamp(anchorMinute) * Self.minute, thresholds)
            return anchorMinute == 0
                ? Correction(from: cut.first, to: hour + Self.hour, anchorBucket: anchor)
                : Correction(from: hour, to: cut.last, anchorBucket: anchor)
        }
    }

    /// `times` for a selector's request, or nil where a step series' every minute may matter.
    init?(_ request: SelectRequest) {
        guard let times = request.stepTimes else { return nil }
        self.init(times: times)
    }

    /// The counter's value at each time where it exists, from its total and its sums per
    /// bucket (`buckets[k]`, bucket 0 unused; missing buckets are empty).
    func values(total: Int64, buckets: [Int: Int64]) -> [Sample] {
        var after = [Int64](repeating: 0, count: thresholds.count + 2)
        for bucket in stride(from: thresholds.count, through: 1, by: -1) {
            after[bucket] = after[bucket + 1] + (buckets[bucket] ?? 0)
        }
        var points: [Sample] = []
        for (index, time) in times.enumerated() {
            let value = total - after[bucketOfTime[index]]
            if value > 0 { points.append(Sample(t: time, v: Double(value))) }
        }
        return points
    }

    /// PostgreSQL's `width_bucket(time, thresholds)`: how many thresholds are at or before `time`.
    static func bucket(of time: Timestamp, _ thresholds: [Timestamp]) -> Int {
        var low = 0, high = thresholds.count
        while low < high {
            let middle = (low + high) / 2
            if thresholds[middle] <= time { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The start of the first minute after `time`: a minute counts in the values from its start.
    static func firstExcludedMinute(_ time: Timestamp) -> Timestamp { floor(time, Self.minute) + Self.minute }

    static func floorHour(_ time: Timestamp) -> Timestamp { floor(time, Self.hour) }

    private static func floor(_ time: Timestamp, _ unit: Timestamp) -> Timestamp {
        time >= 0 ? time / unit * unit : -((-time + unit - 1) / unit) * unit
    }
}
