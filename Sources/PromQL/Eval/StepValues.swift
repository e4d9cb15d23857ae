/// The times one evaluation runs at: `start`, `start + interval`, … up to `end`. An instant query
/// is a grid of one step (interval 1 ms, as Prometheus evaluates it); a subquery has a grid of its
/// own. Every intermediate value is known at exactly these times.
struct StepGrid: Sendable, Hashable {
    var start: Timestamp
    var end: Timestamp
    /// Always positive.
    var interval: Timestamp

    /// No steps when `end < start` (a subquery whose range holds no aligned time).
    var count: Int { end < start ? 0 : Int((end - start) / interval) + 1 }

    func time(_ index: Int) -> Timestamp { start + Timestamp(index) * interval }

    /// The index of a time on the grid.
    func index(of time: Timestamp) -> Int { Int((time - start) / interval) }

    var times: StrideThrough<Timestamp> { stride(from: start, through: end, by: Timestamp.Stride(interval)) }

    /// The first multiple of `interval` at or after `time`: where a subquery's steps start, so
    /// that they are the same whatever the outer evaluation time.
    static func alignedUp(_ time: Timestamp, to interval: Timestamp) -> Timestamp {
        let floor = time >= 0 ? time / interval * interval : -((-time + interval - 1) / interval) * interval
        return floor < time ? floor + interval : floor
    }
}

/// One series of an instant vector over a grid: a point at each step where it has a value.
struct StepSeries: Sendable {
    var labels: Labels
    /// At grid times, ascending.
    var points: [Sample]
}

/// What an expression evaluates to over a grid, before it becomes a `QueryValue`.
enum StepValue: Sendable {
    /// One value per step (a scalar has a value at every step).
    case scalar([Double])
    case vector([StepSeries])
    /// A range vector: only an instant query returns one (a range selector or a subquery at
    /// the top); as a function argument it is evaluated by the function's driver instead.
    case matrix([SeriesValues])
    case string(String)

    /// The samples it holds, for `QueryLimits.maxSamples`.
    var sampleCount: Int {
        switch self {
        case .scalar(let values): return values.count
        case .vector(let series): return series.reduce(0) { $0 + $1.points.count }
        case .matrix(let series): return series.reduce(0) { $0 + $1.samples.count }
        case .string: return 0
        }
    }
}

/// A vector's points regrouped by step, so operators that combine the elements present at one
/// time (binary operators, aggregations) visit each step's elements in series order, in O(points).
struct PointsByStep {
    /// Step `s` holds entries `offsets[s]..<offsets[s + 1]`.
    private(set) var offsets: [Int]
    private(set) var series: [Int]
    private(set) var values: [Double]

    init(_ vector: [StepSeries], grid: StepGrid) {
        let steps = grid.count
        var offsets = [Int](repeating: 0, count: steps + 1)
        for index in 0..<vector.count {
            let points = vector[index].points
            for i in 0..<points.count { offsets[Int((points[i].t - grid.start) / grid.interval) + 1] += 1 }
        }
        for step in 0..<steps { offsets[step + 1] += offsets[step] }
        var next = offsets
        var series = [Int](repeating: 0, count: offsets[steps])
        var values = [Double](repeating: 0, count: offsets[steps])
        for index in 0..<vector.count {
            let points = vector[index].points
            for i in 0..<points.count {
                let step = Int((points[i].t - grid.start) / grid.interval)
                series[next[step]] = index
                values[next[step]] = points[i].v
                next[step] += 1
            }
        }
        self.offsets = offsets
        self.series = series
        self.values = values
    }

    func entries(_ step: Int) -> Range<Int> { offsets[step]..<offsets[step + 1] }
}

/// Collects the output of a step-by-step operator into series. Callers name each output series
/// by an integer key they can compute cheaply (an input index, a group, a pair of inputs) and
/// give its labels only when the key is new, so labels are built once per series, not per point.
///
/// Keys are small non-negative integers (indexes of inputs, groups or interned results), so
/// the slot of a key is an array lookup.
struct SeriesBuilder {
    /// `slotOfKey[key]` is the key's series, -1 for none yet.
    private var slotOfKey: [Int] = []
    private var labels: [Labels] = []
    private var lastTime: [Timestamp] = []
    private var pointsOfSlot: [Int] = []
    /// Every point in the order added, with its series: one flat array, regrouped at the end,
    /// costs far less than appending to an array per series.
    private var slots: [Int] = []
    private var times: [Timestamp] = []
    private var values: [Double] = []

    /// Adds a point; two at the same time under one key is Prometheus's duplicate labelset error.
    mutating func append(key: Int, t: Timestamp, v: Double, labels makeLabels: () -> Labels) throws(QueryError) {
        if key >= slotOfKey.count {
            slotOfKey.append(contentsOf: repeatElement(-1, count: max(key + 1 - slotOfKey.count, slotOfKey.count)))
        }
        var slot = slotOfKey[key]
        if slot >= 0 {
            if lastTime[slot] == t { throw QueryError.duplicateLabelset }
            lastTime[slot] = t
            pointsOfSlot[slot] += 1
        } else {
            slot = labels.count
            slotOfKey[key] = slot
            labels.append(makeLabels())
            lastTime.append(t)
            pointsOfSlot.append(1)
        }
        slots.append(slot)
        times.append(t)
        values.append(v)
    }

    /// The series, those with equal labels under different keys merged (as Prometheus keeps one
    /// output series per label set); in order of first appearance.
    func finish() throws(QueryError) -> [StepSeries] {
        // Where each series' points start in one array holding them all, series by series.
        var start = [Int](repeating: 0, count: labels.count + 1)
        for slot in 0..<labels.count { start[slot + 1] = start[slot] + pointsOfSlot[slot] }
        var next = start
        var grouped = [Sample](repeating: Sample(t: 0, v: 0), count: slots.count)
        for index in 0..<slots.count {
            let slot = slots[index]
            grouped[next[slot]] = Sample(t: times[index], v: values[index])
            next[slot] += 1
        }
        var series: [StepSeries] = []
        series.reserveCapacity(labels.count)
        for slot in 0..<labels.count {
            series.append(StepSeries(labels: labels[slot], points: Array(grouped[start[slot]..<start[slot + 1]])))
        }
        return try mergingEqualLabels(series)
    }
}

/// Label sets numbered in order of first appearance, so loops over steps work with small
/// integers (array indexes) instead of hashing labels again.
struct LabelInterner {
    private var ids: [Labels: Int] = [:]
    private(set) var labels: [Labels] = []

    var count: Int { labels.count }

    mutating func id(_ key: Labels) -> Int {
        if let id = ids[key] { return id }
        ids[key] = labels.count
        labels.append(key)
        return labels.count - 1
    }
}

/// Series with equal labels merged into one, in order of first appearance; equal labels at one
/// time are "vector cannot contain metrics with the same labelset", as in Prometheus.
func mergingEqualLabels(_ series: [StepSeries]) throws(QueryError) -> [StepSeries] {
    var firstIndex: [Labels: Int] = [:]
    firstIndex.reserveCapacity(series.count)
    var merged: [StepSeries] = []
    merged.reserveCapacity(series.count)
    for item in series {
        if let index = firstIndex[item.labels] {
            merged[index].points = try mergePoints(merged[index].points, item.points)
        } else {
            firstIndex[item.labels] = merged.count
            merged.append(item)
        }
    }
    return merged
}

private func mergePoints(_ a: [Sample], _ b: [Sample]) throws(QueryError) -> [Sample] {
    var out: [Sample] = []
    out.reserveCapacity(a.count + b.count)
    var i = 0, j = 0
    while i < a.count || j < b.count {
        if j == b.count || (i < a.count && a[i].t < b[j].t) {
            out.append(a[i]); i += 1
        } else if i == a.count || b[j].t < a[i].t {
            out.append(b[j]); j += 1
        } else {
            throw QueryError.duplicateLabelset
        }
    }
    return out
}

/// Prometheus's check on range-function results: label sets must be unique over the whole matrix.
func requireUniqueLabels(_ series: [StepSeries]) throws(QueryError) {
    var seen = Set<Labels>()
    seen.reserveCapacity(series.count)
    for item in series where !seen.insert(item.labels).inserted { throw QueryError.duplicateLabelset }
}

extension QueryError {
    static let duplicateLabelset = QueryError(.execution, "vector cannot contain metrics with the same labelset")
    static let tooManySamples = QueryError(
        .limit, "query processing would load too many samples into memory in query execution")
    static let canceled = QueryError(.canceled, "query was canceled in query execution")

    /// Prometheus's limit on range query resolution, with the limit written as it writes 11,000.
    static func tooManySteps(_ limit: Int) -> QueryError {
        QueryError(
            .limit,
            "exceeded maximum resolution of \(groupedThousands(limit)) points per timeseries. Try decreasing the query resolution (?step=XX)"
        )
    }

    private static func groupedThousands(_ value: Int) -> String {
        let digits = Array(String(value.magnitude))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return (value < 0 ? "-" : "") + out
    }
}

extension Labels {
    /// Go's `labels.Labels.String()`, as Prometheus's messages print series: `{__name__="x", a="b"}`.
    var goDescription: String {
        "{" + pairs.map { "\($0.name)=\(GoText.quote($0.value))" }.joined(separator: ", ") + "}"
    }

    /// Whether `name` is a valid label name (`[a-zA-Z_][a-zA-Z0-9_]*`).
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first else { return false }
        func letter(_ c: Unicode.Scalar) -> Bool { (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c == "_" }
        return letter(first) && name.unicodeScalars.allSatisfy { letter($0) || ($0 >= "0" && $0 <= "9") }
    }
}

/// Prometheus's staleness marker, a NaN with a payload of its own: a sample that ends a series.
let staleNaNBits: UInt64 = 0x7ff0_0000_0000_0002

extension Double {
    /// The value of a sample that ends a series (a recording rule's series that its rule no
    /// longer returns): lookback stops there.
    public static let staleMarker = Double(bitPattern: staleNaNBits)

    public var isStaleMarker: Bool { bitPattern == staleNaNBits }
}
