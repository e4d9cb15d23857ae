/// The semantics of `SeriesData.steps`: an exact step function, known at any time, never stale.
///
/// - instant value at `t`: the last point at or before `t`; none before the first point;
/// - `increase`/`delta` over `r` at `t`: `value(t) - value(t - r)`, the latter 0 before the first
///   point; `rate` that per second; none while the series does not exist at `t`;
/// - every other range function: one sample per minute at `t`, `t - 1m`, … inside `(t - r, t]`,
///   none before the first point, as if the series had been scraped each minute.
struct StepFunction {
    let points: [Sample]

    init(_ points: [Sample]) { self.points = points }

    /// How many points are at or before `time`: the index after the one in force at `time`.
    func countThrough(_ time: Timestamp) -> Int {
        var low = 0, high = points.count
        while low < high {
            let middle = (low + high) / 2
            if points[middle].t <= time { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// How many points are at or before `time`, walking forward from `cursor` (the answer for
    /// an earlier time): evaluation times mostly grow, so this is usually a step or two.
    func countThrough(_ time: Timestamp, from cursor: inout Int) -> Int {
        if cursor > 0, points[cursor - 1].t > time { cursor = countThrough(time) }
        while cursor < points.count, points[cursor].t <= time { cursor += 1 }
        return cursor
    }

    /// `exactIncrease` with a cursor for each end (see `countThrough(_:from:)`).
    func exactIncrease(from start: Timestamp, to end: Timestamp, cursors: inout (start: Int, end: Int)) -> Double? {
        let last = countThrough(end, from: &cursors.end)
        if last == 0 { return nil }
        let first = countThrough(start, from: &cursors.start)
        return points[last - 1].v - (first == 0 ? 0 : points[first - 1].v)
    }

    /// The value at `time`, nil before the first point.
    func value(at time: Timestamp) -> Double? {
        let count = countThrough(time)
        return count == 0 ? nil : points[count - 1].v
    }

    /// `value(end) - value(start)`, the start value 0 before the series existed; nil when it does
    /// not exist at `end`.
    func exactIncrease(from start: Timestamp, to end: Timestamp) -> Double? {
        guard let last = value(at: end) else { return nil }
        return last - (value(at: start) ?? 0)
    }

    /// One sample per minute at `end`, `end - 1m`, … after `end - range`, not before the first
    /// point, in time order, into `buffer` (replacing its contents).
    func minuteSamples(endingAt end: Timestamp, range: Timestamp, into buffer: inout [Sample]) {
        buffer.removeAll(keepingCapacity: true)
        guard let first = points.first, end >= first.t else { return }
        var index = countThrough(end) - 1
        var time = end
        while time > end - range, time >= first.t {
            while points[index].t > time { index -= 1 }
            buffer.append(Sample(t: time, v: points[index].v))
            time -= 60_000
        }
        buffer.reverse()
    }
}
