import Foundation

/// Functions of a range vector (`rate(x[5m])`, `max_over_time(y[1h:1m])`): for each series and
/// each step, the samples in the window `[t - range, t]` (after offset and `@`) reduced to one
/// value, as Prometheus's engine does for a call with a matrix argument.
enum RangeFunction: String, CaseIterable {
    case rate, increase, delta, irate, idelta, deriv, resets, changes
    case absentOverTime = "absent_over_time"
    case avgOverTime = "avg_over_time"
    case countOverTime = "count_over_time"
    case lastOverTime = "last_over_time"
    case maxOverTime = "max_over_time"
    case minOverTime = "min_over_time"
    case presentOverTime = "present_over_time"
    case stddevOverTime = "stddev_over_time"
    case stdvarOverTime = "stdvar_over_time"
    case sumOverTime = "sum_over_time"
    case quantileOverTime = "quantile_over_time"
    case holtWinters = "holt_winters"
    case predictLinear = "predict_linear"

    /// Which argument is the range vector.
    var rangeArgument: Int { self == .quantileOverTime ? 1 : 0 }

    /// Exact on step series: `value(t) - value(t - r)`.
    var isExactOnSteps: Bool { self == .rate || self == .increase || self == .delta }
}

/// What a range function needs besides the window.
struct RangeWindowContext {
    /// The evaluation time (not shifted by offset: `predict_linear` predicts from it).
    var time: Timestamp
    /// The window's bounds after offset and `@`.
    var start: Timestamp
    var end: Timestamp
    var range: Timestamp
    /// The scalar arguments at this step, by argument position.
    var scalars: [Double]
}

extension Evaluator {
    /// A call with a range-vector argument. `series` are the source's, when already fetched.
    func evalRangeCall(_ call: Call, series fetched: [SourceSeries]? = nil) async throws(QueryError) -> [StepSeries] {
        guard let function = RangeFunction(rawValue: call.function.name) else {
            throw QueryError(.execution, "\(call.function.name) does not take a range vector")
        }
        let name = call.function.name
        let matrixIndex = function.rangeArgument
        // The range vector: a selector's series, or a subquery evaluated on its own grid.
        let input: [RangeSeries]
        let range: Timestamp, offset: Timestamp, pinned: Timestamp?
        var absentLabels = Labels()
        switch unwrappingParens(call.args[matrixIndex]) {
        case .matrixSelector(let matrix):
            range = matrix.range.milliseconds
            offset = matrix.selector.offset?.milliseconds ?? 0
            pinned = pinnedTime(matrix.selector.at)
            let series: [SourceSeries]
            if let fetched {
                series = fetched
            } else {
                series = try await context.select(selectRequest(matrix.selector, range: range, hint: name))
            }
            input = series.map(RangeSeries.init)
            absentLabels = labelsForAbsent(matrix.selector)
        case .subquery(let subquery):
            range = subquery.range.milliseconds
            offset = subquery.offset?.milliseconds ?? 0
            pinned = pinnedTime(subquery.at)
            let series = try await evalSubquery(subquery, hint: name)
            input = series.map { RangeSeries(labels: $0.labels, data: .samples($0.points)) }
        default:
            throw QueryError(.execution, "expected a range vector argument to \(name)")
        }
        var scalarArguments: [[Double]] = Array(repeating: [], count: call.args.count)
        for (index, argument) in call.args.enumerated() where index != matrixIndex {
            scalarArguments[index] = try await evalScalar(argument, hint: name)
        }

        let plan = RangePlan(
            function: function, grid: grid, range: range, offset: offset, pinned: pinned, matrixIndex: matrixIndex,
            scalarArguments: scalarArguments, context: context)
        var out: [StepSeries] = []
        for item in input {
            try context.checkCancellation()
            let points: [Sample]
            switch item.data {
            case .samples(let samples):
                points = try samples.withUnsafeBufferPointer { (buffer) throws(QueryError) in try plan.values(sampled: buffer) }
            case .steps(let steps):
                points = try plan.values(steps: steps)
            }
            if !points.isEmpty {
                try context.hold(points.count)
                let labels = function == .lastOverTime ? item.labels : item.labels.droppingMetricName
                out.append(StepSeries(labels: labels, points: points))
            }
        }

        if function == .absentOverTime {
            // 1 at the steps where no series had a sample in its window.
            var found = [Bool](repeating: false, count: grid.count)
            for item in out { for point in item.points { found[grid.index(of: point.t)] = true } }
            let points = (0..<grid.count).filter { !found[$0] }.map { Sample(t: grid.time($0), v: 1) }
            return points.isEmpty ? [] : [StepSeries(labels: absentLabels, points: points)]
        }
        try requireUniqueLabels(out)
        return out
    }

}

/// One range function over one series at every step of a grid.
struct RangePlan {
    let function: RangeFunction
    let grid: StepGrid
    let range: Timestamp
    let offset: Timestamp
    let pinned: Timestamp?
    let matrixIndex: Int
    let scalarArguments: [[Double]]
    let context: QueryContext

    /// The window's context at a step: its bounds and the scalar arguments then.
    private func window(_ step: Int, _ scratch: inout RangeWindowContext) {
        let time = grid.start + Timestamp(step) * grid.interval
        var end = time - offset
        if let pinned { end = pinned - offset }
        scratch.time = time
        scratch.start = end - range
        scratch.end = end
        if scalarArguments.count > 1 {
            for index in 0..<scalarArguments.count where index != matrixIndex { scratch.scalars[index] = scalarArguments[index][step] }
        }
    }

    private func scratchWindow() -> RangeWindowContext {
        RangeWindowContext(time: 0, start: 0, end: 0, range: range, scalars: [Double](repeating: 0, count: scalarArguments.count))
    }

    /// A sampled series: the samples in `[end - range, end]` at each step.
    func values(sampled samples: UnsafeBufferPointer<Sample>) throws(QueryError) -> [Sample] {
        var points: [Sample] = []
        var scratch = scratchWindow()
        // Both window edges only move forward, so two indexes walk the samples once.
        var low = 0, high = 0
        for step in 0..<grid.count {
            window(step, &scratch)
            while high < samples.count, samples[high].t <= scratch.end { high += 1 }
            while low < high, samples[low].t < scratch.start { low += 1 }
            if low == high { continue }
            try context.ensureRoom(high - low)
            if let value = try apply(function, Window(samples, low, high), scratch) { points.append(Sample(t: scratch.time, v: value)) }
        }
        return points
    }

    /// A step series: exact for rate, increase and delta, else per-minute samples.
    func values(steps: StepFunction) throws(QueryError) -> [Sample] {
        var points: [Sample] = []
        var scratch = scratchWindow()
        var buffer: [Sample] = []
        var cursors = (start: 0, end: 0)
        for step in 0..<grid.count {
            window(step, &scratch)
            let value: Double?
            if function.isExactOnSteps {
                guard let increase = steps.exactIncrease(from: scratch.start, to: scratch.end, cursors: &cursors) else { continue }
                try context.ensureRoom(2)
                value = function == .rate ? increase / (Double(range) / 1000) : increase
            } else {
                steps.minuteSamples(endingAt: scratch.end, range: range, into: &buffer)
                if buffer.isEmpty { continue }
                try context.ensureRoom(buffer.count)
                value = try buffer.withUnsafeBufferPointer { (minutes) throws(QueryError) in
                    try apply(function, Window(minutes, 0, minutes.count), scratch)
                }
            }
            if let value { points.append(Sample(t: scratch.time, v: value)) }
        }
        return points
    }

    /// One window's value; nil drops the element (too few samples).
    private func apply(_ function: RangeFunction, _ samples: Window, _ window: RangeWindowContext) throws(QueryError) -> Double? {
        switch function {
        case .rate: return extrapolatedRate(samples, window, isCounter: true, isRate: true)
        case .increase: return extrapolatedRate(samples, window, isCounter: true, isRate: false)
        case .delta: return extrapolatedRate(samples, window, isCounter: false, isRate: false)
        case .irate: return instantValue(samples, isRate: true)
        case .idelta: return instantValue(samples, isRate: false)
        case .deriv:
            guard samples.count >= 2 else { return nil }
            return linearRegression(samples, interceptTime: samples[0].t).slope
        case .predictLinear:
            guard samples.count >= 2 else { return nil }
            let (slope, intercept) = linearRegression(samples, interceptTime: window.time)
            return slope * window.scalars[1] + intercept
        case .resets:
            var resets = 0
            for i in 1..<max(1, samples.count) where samples[i].v < samples[i - 1].v { resets += 1 }
            return Double(resets)
        case .changes:
            var changes = 0
            for i in 1..<max(1, samples.count) {
                let current = samples[i].v, previous = samples[i - 1].v
                if current != previous, !(current.isNaN && previous.isNaN) { changes += 1 }
            }
            return Double(changes)
        case .absentOverTime, .presentOverTime: return 1
        case .countOverTime: return Double(samples.count)
        case .lastOverTime: return samples[samples.count - 1].v
        case .sumOverTime:
            var sum = KahanSum()
            for i in 0..<samples.count { sum.add(samples[i].v) }
            return sum.value
        case .avgOverTime: return averageOverTime(samples)
        case .maxOverTime:
            var result = samples[0].v
            for i in 0..<samples.count where samples[i].v > result || result.isNaN { result = samples[i].v }
            return result
        case .minOverTime:
            var result = samples[0].v
            for i in 0..<samples.count where samples[i].v < result || result.isNaN { result = samples[i].v }
            return result
        case .stddevOverTime: return varianceOverTime(samples).squareRoot()
        case .stdvarOverTime: return varianceOverTime(samples)
        case .quantileOverTime: return quantile(window.scalars[0], (0..<samples.count).map { samples[$0].v })
        case .holtWinters: return try holtWinters(samples, smoothing: window.scalars[1], trend: window.scalars[2])
        }
    }
}

/// `rate`, `increase` and `delta` of sampled series, as Prometheus's `extrapolatedRate`: the
/// change between the first and last sample (counter resets added back), extrapolated towards
/// the window's edges when the samples come close to them.
private func extrapolatedRate(_ samples: Window, _ window: RangeWindowContext, isCounter: Bool, isRate: Bool) -> Double? {
    let count = samples.count
    guard count >= 2 else { return nil }
    let first = samples[0], last = samples[count - 1]
    var result = last.v - first.v
    if isCounter {
        for i in 1..<count where samples[i].v < samples[i - 1].v { result += samples[i - 1].v }
    }
    var durationToStart = Double(first.t - window.start) / 1000
    let durationToEnd = Double(window.end - last.t) / 1000
    let sampledInterval = Double(last.t - first.t) / 1000
    let averageInterval = sampledInterval / Double(samples.count - 1)
    if isCounter, result > 0, first.v >= 0 {
        // A counter does not go below zero: extrapolate no further back than where it was 0.
        let durationToZero = sampledInterval * (first.v / result)
        if durationToZero < durationToStart { durationToStart = durationToZero }
    }
    let threshold = averageInterval * 1.1
    var extrapolated = sampledInterval
    extrapolated += durationToStart < threshold ? durationToStart : averageInterval / 2
    extrapolated += durationToEnd < threshold ? durationToEnd : averageInterval / 2
    var factor = extrapolated / sampledInterval
    if isRate { factor /= Double(window.range) / 1000 }
    return result * factor
}

/// `irate` and `idelta`: from the last two samples.
private func instantValue(_ samples: Window, isRate: Bool) -> Double? {
    guard samples.count >= 2 else { return nil }
    let last = samples[samples.count - 1], previous = samples[samples.count - 2]
    var result = isRate && last.v < previous.v ? last.v : last.v - previous.v
    let interval = last.t - previous.t
    if interval == 0 { return nil }
    if isRate { result /= Double(interval) / 1000 }
    return result
}

/// Least squares over (time in seconds since `interceptTime`, value), as Prometheus's
/// `linearRegression`, Kahan-summed; a constant series has slope 0.
private func linearRegression(_ samples: Window, interceptTime: Timestamp) -> (slope: Double, intercept: Double) {
    var n = 0.0
    var sumX = KahanSum(), sumY = KahanSum(), sumXY = KahanSum(), sumX2 = KahanSum()
    let initial = samples[0].v
    var constant = true
    for i in 0..<samples.count {
        let sample = samples[i]
        if constant, sample.v != initial { constant = false }
        n += 1
        let x = Double(sample.t - interceptTime) / 1e3
        sumX.add(x)
        sumY.add(sample.v)
        sumXY.add(x * sample.v)
        sumX2.add(x * x)
    }
    if constant {
        return initial.isInfinite ? (.nan, .nan) : (0, initial)
    }
    let x = sumX.plain, y = sumY.plain, xy = sumXY.plain, x2 = sumX2.plain
    let covariance = xy - x * y / n
    let variance = x2 - x * x / n
    let slope = covariance / variance
    return (slope, y / n - slope * x / n)
}

private func averageOverTime(_ samples: Window) -> Double {
    var mean = 0.0, compensation = 0.0, count = 0.0
    for i in 0..<samples.count {
        let sample = samples[i]
        count += 1
        if mean.isInfinite {
            if sample.v.isInfinite, (mean > 0) == (sample.v > 0) { continue }
            if !sample.v.isInfinite, !sample.v.isNaN { continue }
        }
        (mean, compensation) = kahanSumInc(sample.v / count - mean / count, mean, compensation)
    }
    return mean.isInfinite ? mean : mean + compensation
}

private func varianceOverTime(_ samples: Window) -> Double {
    var count = 0.0
    var mean = 0.0, meanCompensation = 0.0
    var aux = 0.0, auxCompensation = 0.0
    for i in 0..<samples.count {
        let sample = samples[i]
        count += 1
        let delta = sample.v - (mean + meanCompensation)
        (mean, meanCompensation) = kahanSumInc(delta / count, mean, meanCompensation)
        (aux, auxCompensation) = kahanSumInc(delta * (sample.v - (mean + meanCompensation)), aux, auxCompensation)
    }
    return (aux + auxCompensation) / count
}

/// Double exponential smoothing, as Prometheus's `funcHoltWinters`.
private func holtWinters(_ samples: Window, smoothing: Double, trend: Double) throws(QueryError) -> Double? {
    guard smoothing > 0, smoothing < 1 else {
        throw QueryError(.execution, "invalid smoothing factor. Expected: 0 < sf < 1, got: \(GoText.formatFixed6(smoothing))")
    }
    guard trend > 0, trend < 1 else {
        throw QueryError(.execution, "invalid trend factor. Expected: 0 < tf < 1, got: \(GoText.formatFixed6(trend))")
    }
    guard samples.count >= 2 else { return nil }
    let values = (0..<samples.count).map { samples[$0].v }
    var s0 = 0.0, s1 = values[0]
    var b = values[1] - values[0]
    for i in 1..<values.count {
        let x = smoothing * values[i]
        if i > 1 { b = trend * (s1 - s0) + (1 - trend) * b }
        let y = (1 - smoothing) * (s1 + b)
        s0 = s1
        s1 = x + y
    }
    return s1
}

/// The samples of one window: `samples[low..<high]`, without the cost of a generic slice
/// (range functions run once per series and step).
/// Valid only inside the `withUnsafeBufferPointer` call that made it.
struct Window {
    private let buffer: UnsafeBufferPointer<Sample>
    private let low: Int
    let count: Int

    init(_ buffer: UnsafeBufferPointer<Sample>, _ low: Int, _ high: Int) {
        self.buffer = buffer
        self.low = low
        count = high - low
    }

    /// Bounds-checked by the buffer (in debug builds) as well as here.
    subscript(index: Int) -> Sample {
        precondition(index < count, "window index out of range")
        return buffer[low + index]
    }
}

/// Neumaier's improvement of Kahan summation, as Prometheus's `kahanSumInc`.
func kahanSumInc(_ increment: Double, _ sum: Double, _ compensation: Double) -> (Double, Double) {
    let t = sum + increment
    var c = compensation
    if abs(sum) >= abs(increment) {
        c += (sum - t) + increment
    } else {
        c += (increment - t) + sum
    }
    return (t, c)
}

struct KahanSum {
    var sum = 0.0
    var compensation = 0.0

    mutating func add(_ value: Double) { (sum, compensation) = kahanSumInc(value, sum, compensation) }

    /// As `sum_over_time` returns it: an infinite sum stays infinite.
    var value: Double { sum.isInfinite ? sum : sum + compensation }
    /// As `linearRegression` uses it.
    var plain: Double { sum + compensation }
}
