import Foundation

/// Aggregation operators, as Prometheus's `aggregation`: groups are computed once per input
/// series; at each step the elements are folded into their group in input order, and groups
/// are emitted in order of first appearance (the order an instant query returns).
extension Evaluator {
    func evalAggregate(_ node: AggregateExpr) async throws(QueryError) -> [StepSeries] {
        var parameter: [Double] = []
        var valueLabel = ""
        if let param = node.param {
            if node.op == .countValues {
                valueLabel = try stringLiteral(param)
            } else {
                parameter = try await evalScalar(param, hint: node.op.rawValue)
            }
        }
        let input: [StepSeries]
        if let pushed = try await pushedDownInput(node) {
            // Each summed series is a group of its own with exactly the grouping labels: its sum is itself.
            return pushed
        } else if let pushed = try await pushedDownTopKInput(node, parameter: parameter) {
            input = pushed
        } else {
            input = try await evalVector(node.expr, hint: node.op.rawValue)
        }
        switch node.op {
        case .countValues:
            return try countValues(node, input, valueLabel: valueLabel)
        case .topk, .bottomk:
            return try selectK(node, input, parameter: parameter)
        default:
            return try fold(node, input, parameter: parameter)
        }
    }

    /// The labels of the group of `labels`: `by` keeps the listed ones, `without` drops them and the name.
    private func groupLabels(_ labels: Labels, _ node: AggregateExpr, extra: [String] = []) -> Labels {
        if node.without { return labels.removing(node.grouping + [Labels.metricName]) }
        let kept = node.grouping + extra
        return kept.isEmpty ? Labels() : labels.keeping(kept)
    }

    /// Each input series' group, as small integers, and each group's labels.
    private func groups(_ input: [StepSeries], _ node: AggregateExpr) -> (of: [Int], labels: [Labels]) {
        var groups = LabelInterner()
        let of = input.map { groups.id(groupLabels($0.labels, node)) }
        return (of, groups.labels)
    }

    /// sum, avg, count, min, max, group, stddev, stdvar, quantile.
    private func fold(_ node: AggregateExpr, _ input: [StepSeries], parameter: [Double]) throws(QueryError) -> [StepSeries] {
        let (groupOf, labels) = groups(input, node)
        if context.usesFastPaths, node.op != .quantile, labels.count * grid.count <= Self.denseCells {
            return try foldDense(node.op, input, groupOf: groupOf, labels: labels)
        }
        let byStep = PointsByStep(input, grid: grid)
        let op = node.op
        var state = Accumulators(op: op, groups: labels.count)
        var seenAt = [Int](repeating: 0, count: labels.count)
        var order: [Int] = []
        var builder = SeriesBuilder()
        for step in 0..<grid.count {
            try context.checkCancellation()
            order.removeAll(keepingCapacity: true)
            for entry in byStep.entries(step) {
                let group = groupOf[byStep.series[entry]]
                let value = byStep.values[entry]
                if seenAt[group] != step + 1 {
                    seenAt[group] = step + 1
                    order.append(group)
                    state.start(group, value)
                } else {
                    state.add(group, value)
                }
            }
            let time = grid.time(step)
            for group in order {
                let value = state.result(group, parameter: op == .quantile ? parameter[step] : 0)
                try builder.append(key: group, t: time, v: value) { labels[group] }
            }
        }
        return try builder.finish()
    }

    /// Up to this many (group, step) cells, `fold` keeps one accumulator per cell (three numbers
    /// each) and visits each input series once, instead of regrouping the points by step.
    static let denseCells = 1_000_000

    /// `fold` with an accumulator per group and step. Series are visited in input order, so each
    /// cell sees its elements in the order Prometheus folds them at that step; groups are numbered
    /// in order of first appearance, which is the order an instant query returns them in.
    private func foldDense(_ op: AggregateOp, _ input: [StepSeries], groupOf: [Int], labels: [Labels]) throws(QueryError) -> [StepSeries] {
        let steps = grid.count
        var state = Accumulators(op: op, groups: labels.count * steps)
        var present = [Bool](repeating: false, count: labels.count * steps)
        for index in 0..<input.count {
            try context.checkCancellation()
            let base = groupOf[index] * steps
            let points = input[index].points
            for i in 0..<points.count {
                let cell = base + Int((points[i].t - grid.start) / grid.interval)
                if present[cell] {
                    state.add(cell, points[i].v)
                } else {
                    present[cell] = true
                    state.start(cell, points[i].v)
                }
            }
        }
        var out: [StepSeries] = []
        for group in 0..<labels.count {
            var points: [Sample] = []
            for step in 0..<steps where present[group * steps + step] {
                points.append(Sample(t: grid.start + Timestamp(step) * grid.interval, v: state.result(group * steps + step, parameter: 0)))
            }
            if !points.isEmpty { out.append(StepSeries(labels: labels[group], points: points)) }
        }
        return out
    }

    /// topk and bottomk: the elements themselves, with all their labels, largest (smallest) first.
    private func selectK(_ node: AggregateExpr, _ input: [StepSeries], parameter: [Double]) throws(QueryError) -> [StepSeries] {
        let (groupOf, labels) = groups(input, node)
        let byStep = PointsByStep(input, grid: grid)
        let top = node.op == .topk
        // A min-heap for topk (the smallest kept on top, to be replaced), a max-heap for bottomk;
        // NaN counts as the worst value either way.
        let less: (HeapEntry, HeapEntry) -> Bool = top
            ? { $0.value.isNaN || $0.value < $1.value }
            : { $0.value.isNaN || $0.value > $1.value }
        var heaps = [GoHeap](repeating: GoHeap(less: less), count: labels.count)
        var seenAt = [Int](repeating: 0, count: labels.count)
        var order: [Int] = []
        var builder = SeriesBuilder()
        for step in 0..<grid.count {
            try context.checkCancellation()
            let requested = parameter[step]
            guard requested <= 9.223372036854775807e18, requested >= -9.223372036854775808e18 else {
                throw QueryError(.execution, "Scalar value \(GoText.formatFloatV(requested)) overflows int64")
            }
            let k = requested >= 9.2e18 ? Int.max : Int(requested)
            if k < 1 { continue }
            order.removeAll(keepingCapacity: true)
            for entry in byStep.entries(step) {
                let group = groupOf[byStep.series[entry]]
                let element = HeapEntry(series: byStep.series[entry], value: byStep.values[entry])
                if seenAt[group] != step + 1 {
                    seenAt[group] = step + 1
                    order.append(group)
                    heaps[group].items = [element]
                    continue
                }
                let worst = heaps[group].items[0].value
                let better = top ? worst < element.value : worst > element.value
                guard heaps[group].items.count < k || better || worst.isNaN else { continue }
                if heaps[group].items.count == k {
                    if k == 1 {
                        heaps[group].items[0] = element
                        continue
                    }
                    _ = heaps[group].pop()
                }
                heaps[group].push(element)
            }
            let time = grid.time(step)
            for group in order {
                // Best first; NaN last. Stable, so ties keep the heap's order.
                let ranked = heaps[group].items.sorted { a, b in
                    if a.value.isNaN { return false }
                    if b.value.isNaN { return true }
                    return top ? a.value > b.value : a.value < b.value
                }
                for element in ranked {
                    try builder.append(key: element.series, t: time, v: element.value) { input[element.series].labels }
                }
            }
        }
        return try builder.finish()
    }

    /// count_values: one group per value (written as Go's `FormatFloat(v, 'f', -1)`) within each group.
    private func countValues(_ node: AggregateExpr, _ input: [StepSeries], valueLabel: String) throws(QueryError) -> [StepSeries] {
        guard Labels.isValidName(valueLabel) else {
            throw QueryError(.execution, "invalid label name \(GoText.quote(valueLabel))")
        }
        let byStep = PointsByStep(input, grid: grid)
        var groups = LabelInterner()
        var counts: [Int: Int] = [:]
        var order: [Int] = []
        var builder = SeriesBuilder()
        for step in 0..<grid.count {
            try context.checkCancellation()
            order.removeAll(keepingCapacity: true)
            counts.removeAll(keepingCapacity: true)
            for entry in byStep.entries(step) {
                var element = input[byStep.series[entry]].labels
                element[valueLabel] = GoText.formatFloatPlain(byStep.values[entry])
                let id = groups.id(groupLabels(element, node, extra: [valueLabel]))
                if let count = counts[id] {
                    counts[id] = count + 1
                } else {
                    counts[id] = 1
                    order.append(id)
                }
            }
            let time = grid.time(step)
            for id in order {
                try builder.append(key: id, t: time, v: Double(counts[id] ?? 0)) { groups.labels[id] }
            }
        }
        return try builder.finish()
    }
}

/// The groups' running aggregates at one step, as Prometheus's `groupedAggregation`, kept as
/// one array per field so that folding an element touches a few numbers, not a struct.
private struct Accumulators {
    let op: AggregateOp
    var value: [Double]
    var mean: [Double]
    var count: [Int]
    /// quantile only: the group's values.
    var values: [[Double]]

    init(op: AggregateOp, groups: Int) {
        self.op = op
        value = [Double](repeating: 0, count: groups)
        mean = value
        count = [Int](repeating: 0, count: groups)
        values = op == .quantile ? [[Double]](repeating: [], count: groups) : []
    }

    /// The group's first element at this step.
    mutating func start(_ group: Int, _ v: Double) {
        value[group] = v
        mean[group] = v
        count[group] = 1
        switch op {
        case .stddev, .stdvar: value[group] = 0
        case .group: value[group] = 1
        case .quantile:
            values[group].removeAll(keepingCapacity: true)
            values[group].append(v)
        default: break
        }
    }

    mutating func add(_ group: Int, _ v: Double) {
        switch op {
        case .sum:
            value[group] += v
        case .avg:
            count[group] += 1
            let current = mean[group]
            if current.isInfinite {
                // Inf plus anything finite (or the same Inf) stays; the formula below would make NaN.
                if v.isInfinite, (current > 0) == (v > 0) { return }
                if !v.isInfinite, !v.isNaN { return }
            }
            let n = Double(count[group])
            mean[group] = current + (v / n - current / n)
        case .max:
            if value[group] < v || value[group].isNaN { value[group] = v }
        case .min:
            if value[group] > v || value[group].isNaN { value[group] = v }
        case .count:
            count[group] += 1
        case .stddev, .stdvar:
            count[group] += 1
            let delta = v - mean[group]
            mean[group] += delta / Double(count[group])
            value[group] += delta * (v - mean[group])
        case .quantile:
            values[group].append(v)
        case .group, .topk, .bottomk, .countValues:
            break
        }
    }

    func result(_ group: Int, parameter: Double) -> Double {
        switch op {
        case .avg: return mean[group]
        case .count: return Double(count[group])
        case .stdvar: return value[group] / Double(count[group])
        case .stddev: return (value[group] / Double(count[group])).squareRoot()
        case .quantile: return quantile(parameter, values[group])
        default: return value[group]
        }
    }
}

/// Prometheus's `quantile`: linear interpolation between the closest ranks; NaN sorts first.
func quantile(_ q: Double, _ input: [Double]) -> Double {
    if input.isEmpty || q.isNaN { return .nan }
    if q < 0 { return -.infinity }
    if q > 1 { return .infinity }
    let values = input.sorted { a, b in a.isNaN ? !b.isNaN : (!b.isNaN && a < b) }
    let n = Double(values.count)
    let rank = q * (n - 1)
    let lower = max(0, rank.rounded(.down))
    let upper = min(n - 1, lower + 1)
    let weight = rank - rank.rounded(.down)
    return values[Int(lower)] * (1 - weight) + values[Int(upper)] * weight
}

struct HeapEntry {
    var series: Int
    var value: Double
}

/// Go's `container/heap` over a slice, ported exactly so that topk/bottomk keep the same
/// elements as Prometheus when values tie.
struct GoHeap {
    var items: [HeapEntry] = []
    let less: (HeapEntry, HeapEntry) -> Bool

    init(less: @escaping (HeapEntry, HeapEntry) -> Bool) { self.less = less }

    mutating func push(_ element: HeapEntry) {
        items.append(element)
        up(items.count - 1)
    }

    mutating func pop() -> HeapEntry {
        let last = items.count - 1
        items.swapAt(0, last)
        down(0, last)
        return items.removeLast()
    }

    private mutating func up(_ start: Int) {
        var j = start
        while true {
            let i = (j - 1) / 2
            if i == j || !less(items[j], items[i]) { break }
            items.swapAt(i, j)
            j = i
        }
    }

    private mutating func down(_ start: Int, _ n: Int) {
        var i = start
        while true {
            let j1 = 2 * i + 1
            if j1 >= n || j1 < 0 { break }
            var j = j1
            let j2 = j1 + 1
            if j2 < n, less(items[j2], items[j1]) { j = j2 }
            if !less(items[j], items[i]) { break }
            items.swapAt(i, j)
            i = j
        }
    }
}
