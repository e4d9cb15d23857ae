import CanopyTestSupport
import PromQL
import Testing

@testable import Hub

/// The bucket plan against the definition: a counter's value at `t` is its total minus every
/// minute from the first minute after `t`. The SQL is simulated here row by row (hours in their
/// anchor's bucket, corrections moving minutes out of it), so a wrong threshold, anchor or range
/// shows as a wrong value.
@Suite struct CountBucketsTests {
    static let minute = CountBuckets.minute
    static let hour = CountBuckets.hour

    /// Minute counts over `hours` hours from `origin`, some minutes empty.
    static func history(hours: Int, origin: Timestamp, seed: UInt64) -> [Timestamp: Int64] {
        var generator = SplitMix64(seed: seed)
        var counts: [Timestamp: Int64] = [:]
        for index in 0..<(hours * 60) where generator.next() % 3 != 0 {
            counts[origin + Timestamp(index) * minute] = Int64(generator.next() % 5 + 1)
        }
        return counts
    }

    static func expected(_ counts: [Timestamp: Int64], total: Int64, at time: Timestamp) -> Int64 {
        let excluded = CountBuckets.firstExcludedMinute(time)
        return total - counts.filter { $0.key >= excluded }.values.reduce(0, +)
    }

    /// What `SummedShape.bucketedHistory` asks PostgreSQL for, with groups' hourly rollup.
    static func bucketsFromHours(_ counts: [Timestamp: Int64], _ plan: CountBuckets) -> [Int: Int64] {
        var hourly: [Timestamp: Int64] = [:]
        for (minute, count) in counts { hourly[CountBuckets.floorHour(minute), default: 0] += count }
        var sums: [Int: Int64] = [:]
        for (hour, count) in hourly where hour >= plan.firstHour {
            sums[CountBuckets.bucket(of: hour + Timestamp(plan.anchorMinute) * minute, plan.thresholds), default: 0] += count
        }
        for correction in plan.corrections {
            for (minute, count) in counts where minute >= correction.from && minute < correction.to {
                sums[CountBuckets.bucket(of: minute, plan.thresholds), default: 0] += count
                sums[correction.anchorBucket, default: 0] -= count
            }
        }
        sums[0] = nil
        return sums
    }

    /// What series ask for: every minute from the first threshold, in its bucket.
    static func bucketsFromMinutes(_ counts: [Timestamp: Int64], _ plan: CountBuckets) -> [Int: Int64] {
        var sums: [Int: Int64] = [:]
        for (minute, count) in counts where minute >= plan.thresholds[0] {
            sums[CountBuckets.bucket(of: minute, plan.thresholds), default: 0] += count
        }
        return sums
    }

    static func check(times: [Timestamp], counts: [Timestamp: Int64], total: Int64) throws {
        let plan = try #require(CountBuckets(times: times))
        for sums in [plan.readsHours ? bucketsFromHours(counts, plan) : bucketsFromMinutes(counts, plan), bucketsFromMinutes(counts, plan)] {
            let values = plan.values(total: total, buckets: sums)
            let wanted = plan.times.compactMap { time -> Sample? in
                let value = expected(counts, total: total, at: time)
                return value > 0 ? Sample(t: time, v: Double(value)) : nil
            }
            #expect(values == wanted, "times \(times)")
        }
    }

    @Test func valuesAtStepsNotOnTheHourAndOnIt() throws {
        let origin: Timestamp = 1_764_547_200_000  // a UTC midnight
        let counts = Self.history(hours: 12, origin: origin, seed: 7)
        let total = counts.values.reduce(0, +) + 1_000  // history older than the minutes
        // A range at 1 h steps 39 min 28 s past the hour, with the step minus the range (1 h).
        let misaligned = (0..<10).map { origin + 3_600_000 + Timestamp($0) * Self.hour + 39 * Self.minute + 28_000 }
        try Self.check(times: misaligned.flatMap { [$0 - Self.hour, $0] }, counts: counts, total: total)
        // The same on the hour, and 5 minutes past (the other anchor is cheaper there).
        try Self.check(times: (0..<11).map { origin + Timestamp($0) * Self.hour }, counts: counts, total: total)
        try Self.check(times: (0..<11).map { origin + Timestamp($0) * Self.hour + 5 * Self.minute }, counts: counts, total: total)
        // Steps shorter than an hour (several thresholds cut one hour), and a single instant.
        try Self.check(times: (0..<40).map { origin + 3 * Self.hour + Timestamp($0) * 7 * Self.minute + 1 }, counts: counts, total: total)
        try Self.check(times: [origin + 5 * Self.hour + 59 * Self.minute + 59_999], counts: counts, total: total)
        // Before any history: every value is the older total.
        try Self.check(times: [origin - Self.hour, origin - 1], counts: counts, total: total)
    }

    @Test func aCounterThatStartsInsideTheTimesHasNoValueBefore() throws {
        let origin: Timestamp = 1_764_547_200_000
        let counts = Self.history(hours: 6, origin: origin + 2 * Self.hour, seed: 11)
        let total = counts.values.reduce(0, +)
        let times = (0..<8).map { origin + Timestamp($0) * Self.hour + 30 * Self.minute }
        try Self.check(times: times, counts: counts, total: total)
        let plan = try #require(CountBuckets(times: times))
        let values = plan.values(total: total, buckets: Self.bucketsFromHours(counts, plan))
        #expect(values.first?.t == origin + 2 * Self.hour + 30 * Self.minute)
    }

    @Test func anchorsReadTheFewerMinutes() throws {
        let origin: Timestamp = 1_764_547_200_000
        // Cuts 10 minutes past each hour: anchored at the last minute, 10 minutes move per hour.
        let early = try #require(CountBuckets(times: (0..<5).map { origin + Timestamp($0) * Self.hour + 9 * Self.minute }))
        #expect(early.anchorMinute == 59)
        #expect(early.corrections.allSatisfy { $0.to - $0.from == 10 * Self.minute })
        // Cuts 50 minutes past: anchored at the first minute, 10 minutes move per hour.
        let late = try #require(CountBuckets(times: (0..<5).map { origin + Timestamp($0) * Self.hour + 49 * Self.minute }))
        #expect(late.anchorMinute == 0)
        #expect(late.corrections.allSatisfy { $0.to - $0.from == 10 * Self.minute })
        // Whole hours (a step's first excluded minute on the hour): nothing moves.
        let whole = try #require(CountBuckets(times: (0..<5).map { origin + Timestamp($0) * Self.hour - 1 }))
        #expect(whole.corrections.isEmpty && whole.readsHours)
        // Steps of 7 minutes cut every hour many times: every minute is read.
        let fine = try #require(CountBuckets(times: (0..<40).map { origin + Timestamp($0) * 7 * Self.minute + 1 }))
        #expect(!fine.readsHours && fine.corrections.isEmpty)
    }

    @Test func stepTimesOfARequest() {
        let hour = Self.hour
        let increase = SelectRequest(
            matchers: [], start: 0, end: 10 * hour, range: hour, step: hour, function: "increase", evaluatedFrom: hour)
        #expect(increase.stepTimes?.count == 20)
        #expect(Set(increase.stepTimes ?? []) == Set((0...10).map { Timestamp($0) * hour }))
        let plain = SelectRequest(matchers: [], start: hour - 300_000, end: 3 * hour, step: hour, evaluatedFrom: hour)
        #expect(plain.stepTimes == [hour, 2 * hour, 3 * hour])
        // Functions that see each minute, and unknown evaluation times, need every minute.
        let changes = SelectRequest(matchers: [], start: 0, end: hour, range: hour, function: "changes", evaluatedFrom: hour)
        #expect(changes.stepTimes == nil)
        #expect(SelectRequest(matchers: [], start: 0, end: hour).stepTimes == nil)
        // A step shorter than a minute: more times than minutes.
        let fine = SelectRequest(matchers: [], start: 0, end: hour, step: 1_000, evaluatedFrom: 0)
        #expect(fine.stepTimes == nil)
    }
}
