/// `histogram_quantile` over classic histograms: float series with an `le` label, grouped by
/// all their other labels, as Prometheus's `funcHistogramQuantile` and `bucketQuantile`.
extension Evaluator {
    func histogramQuantile(_ q: [Double], _ vector: [StepSeries]) throws(QueryError) -> [StepSeries] {
        // Per series: its upper bound, and its histogram (the labels without `le`), interned.
        var histograms = LabelInterner()
        let bounds = vector.map { $0.labels["le"].flatMap(parseGoFloat) }
        let histogramOf = vector.map { histograms.id($0.labels.removing(["le"])) }
        let outputLabels = histograms.labels.map(\.droppingMetricName)
        let byStep = PointsByStep(vector, grid: grid)
        var buckets = [[Bucket]](repeating: [], count: outputLabels.count)
        var order: [Int] = []
        var builder = SeriesBuilder()
        for step in 0..<grid.count {
            try context.checkCancellation()
            order.removeAll(keepingCapacity: true)
            for entry in byStep.entries(step) {
                let series = byStep.series[entry]
                guard let bound = bounds[series] else { continue }
                let histogram = histogramOf[series]
                if buckets[histogram].isEmpty { order.append(histogram) }
                buckets[histogram].append(Bucket(upperBound: bound, count: byStep.values[entry]))
            }
            let time = grid.time(step)
            for histogram in order {
                let value = bucketQuantile(q[step], buckets[histogram])
                buckets[histogram].removeAll(keepingCapacity: true)
                try builder.append(key: histogram, t: time, v: value) { outputLabels[histogram] }
            }
        }
        return try builder.finish()
    }
}

struct Bucket {
    var upperBound: Double
    var count: Double
}

/// Linear interpolation inside the bucket the rank falls in; needs a `+Inf` bucket.
func bucketQuantile(_ q: Double, _ input: [Bucket]) -> Double {
    if q.isNaN { return .nan }
    if q < 0 { return -.infinity }
    if q > 1 { return .infinity }
    var buckets = input.sorted { $0.upperBound < $1.upperBound }
    guard let last = buckets.last, last.upperBound == .infinity else { return .nan }
    // Buckets with the same bound are one bucket; counts must not decrease.
    var merged: [Bucket] = []
    for bucket in buckets {
        if let previous = merged.last, previous.upperBound == bucket.upperBound {
            merged[merged.count - 1].count += bucket.count
        } else {
            merged.append(bucket)
        }
    }
    buckets = merged
    var maximum = buckets[0].count
    for index in 1..<buckets.count {
        if buckets[index].count > maximum {
            maximum = buckets[index].count
        } else if buckets[index].count < maximum {
            buckets[index].count = maximum
        }
    }
    if buckets.count < 2 { return .nan }
    let observations = buckets[buckets.count - 1].count
    if observations == 0 { return .nan }
    var rank = q * observations
    // The first bucket (of all but the last) whose count reaches the rank.
    var b = 0
    while b < buckets.count - 1, !(buckets[b].count >= rank) { b += 1 }
    if b == buckets.count - 1 { return buckets[buckets.count - 2].upperBound }
    if b == 0, buckets[0].upperBound <= 0 { return buckets[0].upperBound }
    var bucketStart = 0.0
    let bucketEnd = buckets[b].upperBound
    var count = buckets[b].count
    if b > 0 {
        bucketStart = buckets[b - 1].upperBound
        count -= buckets[b - 1].count
        rank -= buckets[b - 1].count
    }
    return bucketStart + (bucketEnd - bucketStart) * (rank / count)
}

/// Go's `strconv.ParseFloat` for the texts an `le` label holds.
func parseGoFloat(_ text: String) -> Double? {
    switch text.lowercased() {
    case "inf", "+inf", "infinity", "+infinity": return .infinity
    case "-inf", "-infinity": return -.infinity
    case "nan": return .nan
    default:
        guard !text.isEmpty, text.allSatisfy({ "0123456789.eE+-xXpPabcdefABCDEF_".contains($0) }) else { return nil }
        return Double(text.replacingOccurrences(of: "_", with: ""))
    }
}
