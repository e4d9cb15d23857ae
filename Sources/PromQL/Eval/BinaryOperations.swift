import Foundation

/// Binary operators, as Prometheus's `scalarBinop`, `VectorscalarBinop`, `VectorBinop` and the set
/// operators: signatures are computed once per series and interned as integers, so matching at
/// each step is array lookups, not label hashing.
extension Evaluator {
    func evalBinary(_ node: BinaryExpr) async throws(QueryError) -> StepValue {
        let lhs = try await eval(node.lhs, hint: nil)
        let rhs = try await eval(node.rhs, hint: nil)
        switch (lhs, rhs) {
        case (.scalar(let left), .scalar(let right)):
            return .scalar(zip(left, right).map { scalarBinop(node.op, $0, $1) })
        case (.vector(let left), .scalar(let right)):
            return .vector(try vectorScalarBinop(node, vector: left, scalar: right, scalarOnLeft: false))
        case (.scalar(let left), .vector(let right)):
            return .vector(try vectorScalarBinop(node, vector: right, scalar: left, scalarOnLeft: true))
        case (.vector(let left), .vector(let right)):
            let matching = node.matching ?? VectorMatching(cardinality: node.op.isSetOperator ? .manyToMany : .oneToOne)
            switch node.op {
            case .and, .or, .unless: return .vector(try setOperation(node.op, left, right, matching: matching))
            default: return .vector(try vectorBinop(node, left, right, matching: matching))
            }
        default:
            throw QueryError(.execution, "binary operator \(node.op.rawValue) is not defined between \(node.lhs.type) and \(node.rhs.type)")
        }
    }

    private func vectorScalarBinop(
        _ node: BinaryExpr, vector: [StepSeries], scalar: [Double], scalarOnLeft: Bool
    ) throws(QueryError) -> [StepSeries] {
        let dropName = node.op.dropsMetricName || node.returnBool
        var out: [StepSeries] = []
        out.reserveCapacity(vector.count)
        for item in vector {
            var points: [Sample] = []
            points.reserveCapacity(item.points.count)
            for point in item.points {
                let other = scalar[grid.index(of: point.t)]
                let (left, right) = scalarOnLeft ? (other, point.v) : (point.v, other)
                var (value, keep) = elementBinop(node.op, left, right)
                // A comparison keeps the vector's value, whichever side it is on.
                if node.op.isComparison, scalarOnLeft { value = right }
                if node.returnBool {
                    value = keep ? 1 : 0
                    keep = true
                }
                if keep { points.append(Sample(t: point.t, v: value)) }
            }
            if !points.isEmpty { out.append(StepSeries(labels: dropName ? item.labels.droppingMetricName : item.labels, points: points)) }
        }
        return try mergingEqualLabels(out)
    }

    /// `and`, `or`, `unless`: elements kept whole, matched on their signatures at each step.
    private func setOperation(
        _ op: BinaryOperator, _ lhs: [StepSeries], _ rhs: [StepSeries], matching: VectorMatching
    ) throws(QueryError) -> [StepSeries] {
        var signatures = SignatureTable(matching: matching)
        let leftSignatures = lhs.map { signatures.id(for: $0.labels) }
        let rightSignatures = rhs.map { signatures.id(for: $0.labels) }
        let left = PointsByStep(lhs, grid: grid)
        let right = PointsByStep(rhs, grid: grid)
        // seenAt[signature] == step + 1: the signature is on the other side at this step.
        var seenAt = [Int](repeating: 0, count: signatures.count)
        var builder = SeriesBuilder()
        for step in 0..<grid.count {
            try context.checkCancellation()
            let time = grid.time(step)
            let leftEntries = left.entries(step), rightEntries = right.entries(step)
            switch op {
            case .and:
                if leftEntries.isEmpty || rightEntries.isEmpty { continue }
                for entry in rightEntries { seenAt[rightSignatures[right.series[entry]]] = step + 1 }
                for entry in leftEntries where seenAt[leftSignatures[left.series[entry]]] == step + 1 {
                    let index = left.series[entry]
                    try builder.append(key: index, t: time, v: left.values[entry]) { lhs[index].labels }
                }
            case .or:
                for entry in leftEntries {
                    let index = left.series[entry]
                    seenAt[leftSignatures[index]] = step + 1
                    try builder.append(key: index, t: time, v: left.values[entry]) { lhs[index].labels }
                }
                for entry in rightEntries where seenAt[rightSignatures[right.series[entry]]] != step + 1 {
                    let index = right.series[entry]
                    try builder.append(key: lhs.count + index, t: time, v: right.values[entry]) { rhs[index].labels }
                }
            default:
                for entry in rightEntries { seenAt[rightSignatures[right.series[entry]]] = step + 1 }
                for entry in leftEntries where seenAt[leftSignatures[left.series[entry]]] != step + 1 {
                    let index = left.series[entry]
                    try builder.append(key: index, t: time, v: left.values[entry]) { lhs[index].labels }
                }
            }
        }
        return try builder.finish()
    }

    /// Arithmetic and comparisons between two vectors: each element of the "many" side meets the
    /// element of the "one" side with its signature, at each step.
    private func vectorBinop(
        _ node: BinaryExpr, _ originalLeft: [StepSeries], _ originalRight: [StepSeries], matching: VectorMatching
    ) throws(QueryError) -> [StepSeries] {
        // One-to-many is many-to-one with the sides swapped; values are swapped back below.
        let swapped = matching.cardinality == .oneToMany
        let many = swapped ? originalRight : originalLeft
        let one = swapped ? originalLeft : originalRight
        var signatures = SignatureTable(matching: matching)
        let manySignatures = many.map { signatures.id(for: $0.labels) }
        let oneSignatures = one.map { signatures.id(for: $0.labels) }
        if context.usesFastPaths, let pairs = Self.fixedPairs(
            manySignatures, oneSignatures, signatureCount: signatures.count, oneToOne: matching.cardinality == .oneToOne)
        {
            return try pairwiseBinop(node, many, one, pairs: pairs, swapped: swapped, matching: matching)
        }
        return try vectorBinopByStep(node, many, one, matching: matching, swapped: swapped)
    }

    /// Step by step, as Prometheus's `VectorBinop`: at each step the "one" side's elements by
    /// signature (a second one is the many-to-many error), then each "many" element's match.
    private func vectorBinopByStep(
        _ node: BinaryExpr, _ many: [StepSeries], _ one: [StepSeries], matching: VectorMatching, swapped: Bool
    ) throws(QueryError) -> [StepSeries] {
        var signatures = SignatureTable(matching: matching)
        let manySignatures = many.map { signatures.id(for: $0.labels) }
        let oneSignatures = one.map { signatures.id(for: $0.labels) }
        let manyByStep = PointsByStep(many, grid: grid)
        let oneByStep = PointsByStep(one, grid: grid)

        // Per signature: the "one" side's entry at this step (valid when oneAt == step + 1) and,
        // for one-to-one, whether a "many" element already matched it.
        var oneEntry = [Int](repeating: 0, count: signatures.count)
        var oneAt = [Int](repeating: 0, count: signatures.count)
        var matchedAt = [Int](repeating: 0, count: signatures.count)
        // Many-to-one: the (signature, result) pairs produced at this step.
        var producedThisStep = Set<Int>()
        // The result labels of each (many, one) pair, interned.
        var resultOfPair: [Int: Int] = [:]
        // The last pair each "many" series was in, which is nearly always its pair at the next step.
        var lastOne = [Int](repeating: -1, count: many.count)
        var lastResult = [Int](repeating: 0, count: many.count)
        var results = LabelInterner()
        var builder = SeriesBuilder()
        let op = node.op, returnBool = node.returnBool, oneToOne = matching.cardinality == .oneToOne

        for step in 0..<grid.count {
            try context.checkCancellation()
            let manyEntries = manyByStep.entries(step), oneEntries = oneByStep.entries(step)
            if manyEntries.isEmpty || oneEntries.isEmpty { continue }
            let time = grid.time(step)
            for entry in oneEntries {
                let index = oneByStep.series[entry]
                let signature = oneSignatures[index]
                if oneAt[signature] == step + 1 {
                    let first = one[oneByStep.series[oneEntry[signature]]].labels
                    let labels = one[index].labels
                    throw QueryError(
                        .execution,
                        "found duplicate series for the match group \(signatures.matchedLabels(labels).goDescription) on the \(swapped ? "left" : "right") hand-side of the operation: [\(labels.goDescription), \(first.goDescription)];many-to-many matching not allowed: matching labels must be unique on one side"
                    )
                }
                oneAt[signature] = step + 1
                oneEntry[signature] = entry
            }
            producedThisStep.removeAll(keepingCapacity: true)
            for entry in manyEntries {
                let manyIndex = manyByStep.series[entry]
                let signature = manySignatures[manyIndex]
                guard oneAt[signature] == step + 1 else { continue }
                let otherEntry = oneEntry[signature]
                let oneIndex = oneByStep.series[otherEntry]
                var left = manyByStep.values[entry], right = oneByStep.values[otherEntry]
                if swapped { swap(&left, &right) }
                var (value, keep) = elementBinop(op, left, right)
                if returnBool {
                    value = keep ? 1 : 0
                } else if !keep {
                    continue
                }
                let pair = manyIndex * one.count + oneIndex
                let result: Int
                if lastOne[manyIndex] == oneIndex {
                    result = lastResult[manyIndex]
                } else if let known = resultOfPair[pair] {
                    result = known
                } else {
                    var labels = resultMetric(many[manyIndex].labels, one[oneIndex].labels, node.op, matching)
                    if node.returnBool { labels = labels.droppingMetricName }
                    result = results.id(labels)
                    resultOfPair[pair] = result
                }
                lastOne[manyIndex] = oneIndex
                lastResult[manyIndex] = result
                if oneToOne {
                    if matchedAt[signature] == step + 1 {
                        throw QueryError(
                            .execution, "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
                    }
                    matchedAt[signature] = step + 1
                } else if !producedThisStep.insert(result * signatures.count + signature).inserted {
                    throw QueryError(.execution, "multiple matches for labels: grouping labels must ensure unique matches")
                }
                try builder.append(key: result, t: time, v: value) { results.labels[result] }
            }
        }
        return try builder.finish()
    }

    /// When every signature has at most one series on the "one" side (and, for one-to-one, on
    /// the other side too), each "many" series meets the same series at every step and no step
    /// can have a duplicate match: the operation can run series by series. The pairs (many, one),
    /// or nil when some signature is shared and steps must be matched one by one.
    private static func fixedPairs(_ many: [Int], _ one: [Int], signatureCount: Int, oneToOne: Bool) -> [(Int, Int)]? {
        var oneOf = [Int](repeating: -1, count: signatureCount)
        for (index, signature) in one.enumerated() {
            if oneOf[signature] >= 0 { return nil }
            oneOf[signature] = index
        }
        var taken = [Bool](repeating: false, count: oneToOne ? signatureCount : 0)
        var pairs: [(Int, Int)] = []
        for (index, signature) in many.enumerated() where oneOf[signature] >= 0 {
            if oneToOne {
                if taken[signature] { return nil }
                taken[signature] = true
            }
            pairs.append((index, oneOf[signature]))
        }
        return pairs
    }

    /// The series-by-series form of `vectorBinop` (see `fixedPairs`): each pair's points joined
    /// on time. Pairs whose results would share labels go back to the step-by-step form, which
    /// reports Prometheus's error at the step where they meet.
    private func pairwiseBinop(
        _ node: BinaryExpr, _ many: [StepSeries], _ one: [StepSeries], pairs: [(Int, Int)], swapped: Bool, matching: VectorMatching
    ) throws(QueryError) -> [StepSeries] {
        var out: [StepSeries] = []
        out.reserveCapacity(pairs.count)
        var seen = Set<Labels>()
        let op = node.op, returnBool = node.returnBool
        for (manyIndex, oneIndex) in pairs {
            try context.checkCancellation()
            var labels = resultMetric(many[manyIndex].labels, one[oneIndex].labels, op, matching)
            if returnBool { labels = labels.droppingMetricName }
            if !seen.insert(labels).inserted {
                return try vectorBinopByStep(node, many, one, matching: matching, swapped: swapped)
            }
            let a = many[manyIndex].points, b = one[oneIndex].points
            var points: [Sample] = []
            points.reserveCapacity(min(a.count, b.count))
            var i = 0, j = 0
            while i < a.count, j < b.count {
                let t = a[i].t
                if t < b[j].t { i += 1; continue }
                if t > b[j].t { j += 1; continue }
                var left = a[i].v, right = b[j].v
                if swapped { swap(&left, &right) }
                var (value, keep) = elementBinop(op, left, right)
                if returnBool {
                    value = keep ? 1 : 0
                    keep = true
                }
                if keep { points.append(Sample(t: t, v: value)) }
                i += 1
                j += 1
            }
            if !points.isEmpty { out.append(StepSeries(labels: labels, points: points)) }
        }
        return out
    }

    /// The labels of a result, as Prometheus's `resultMetric`: the "many" side's, without the
    /// name for arithmetic, reduced to (or without) the matching labels for one-to-one, plus the
    /// `group_left`/`group_right` labels from the "one" side.
    private func resultMetric(_ many: Labels, _ one: Labels, _ op: BinaryOperator, _ matching: VectorMatching) -> Labels {
        var labels = op.dropsMetricName ? many.droppingMetricName : many
        if matching.cardinality == .oneToOne {
            labels = matching.on ? labels.keeping(matching.matchingLabels) : labels.removing(matching.matchingLabels)
        }
        for name in matching.include { labels[name] = one[name] }
        return labels
    }
}

/// Signatures of series for vector matching, interned as small integers.
struct SignatureTable {
    let matching: VectorMatching
    private var ids: [Labels: Int] = [:]

    init(matching: VectorMatching) { self.matching = matching }

    var count: Int { ids.count }

    /// `on (…)`: those labels; `ignoring (…)` or none: all but those and the metric name.
    func matchedLabels(_ labels: Labels) -> Labels {
        matching.on ? labels.keeping(matching.matchingLabels) : labels.removing(matching.matchingLabels + [Labels.metricName])
    }

    mutating func id(for labels: Labels) -> Int {
        let key = matchedLabels(labels)
        if let id = ids[key] { return id }
        let id = ids.count
        ids[key] = id
        return id
    }
}

extension BinaryOperator {
    /// Arithmetic drops the metric name; comparisons and `atan2` keep it (as Prometheus 2.42).
    var dropsMetricName: Bool {
        switch self {
        case .add, .sub, .mul, .div, .pow, .mod: return true
        default: return false
        }
    }
}

/// Two scalars: comparisons give 0 or 1.
func scalarBinop(_ op: BinaryOperator, _ lhs: Double, _ rhs: Double) -> Double {
    let (value, keep) = elementBinop(op, lhs, rhs)
    return op.isComparison ? (keep ? 1 : 0) : value
}

/// Two elements: the value and, for comparisons, whether the comparison holds (the value being
/// the left one, as Prometheus's `vectorElemBinop`).
func elementBinop(_ op: BinaryOperator, _ lhs: Double, _ rhs: Double) -> (Double, Bool) {
    switch op {
    case .add: return (lhs + rhs, true)
    case .sub: return (lhs - rhs, true)
    case .mul: return (lhs * rhs, true)
    case .div: return (lhs / rhs, true)
    case .pow: return (pow(lhs, rhs), true)
    case .mod: return (fmod(lhs, rhs), true)
    case .atan2: return (atan2(lhs, rhs), true)
    case .equal: return (lhs, lhs == rhs)
    case .notEqual: return (lhs, lhs != rhs)
    case .greater: return (lhs, lhs > rhs)
    case .less: return (lhs, lhs < rhs)
    case .greaterOrEqual: return (lhs, lhs >= rhs)
    case .lessOrEqual: return (lhs, lhs <= rhs)
    case .and, .or, .unless: return (lhs, true)
    }
}
