/// The `selectSummed` pushdown: `sum by (…) (x)` and `sum by (…) (increase|rate|delta(x[r]))`
/// can be answered from series the source has already summed by the grouping labels, because a
/// sum of step functions is a step function and these functions are linear on step series. The
/// summed series then each form a group of their own, so the ordinary evaluation of the same
/// expression over them gives the same result as over the original series.
extension Evaluator {
    /// What a pushdown applies to: the selector, and the function around its range, if any.
    struct PushdownShape {
        var selector: VectorSelector
        var call: Call?
        var range: Timestamp
    }

    /// The shape, when `node` has one that may be pushed down: `sum` with `by` (or no grouping),
    /// not grouping by the metric name (the summed series have only the grouping labels).
    static func pushdownShape(_ node: AggregateExpr) -> PushdownShape? {
        guard node.op == .sum, !node.without, !node.grouping.contains(Labels.metricName) else { return nil }
        switch unwrappingParens(node.expr) {
        case .vectorSelector(let selector):
            return PushdownShape(selector: selector, call: nil, range: 0)
        case .call(let call) where ["increase", "rate", "delta"].contains(call.function.name) && call.args.count == 1:
            guard case .matrixSelector(let matrix) = unwrappingParens(call.args[0]) else { return nil }
            return PushdownShape(selector: matrix.selector, call: call, range: matrix.range.milliseconds)
        default:
            return nil
        }
    }

    /// The aggregation's input evaluated over the source's summed series, or nil when the shape
    /// does not apply or the source cannot sum (or returns anything but step series).
    func pushedDownInput(_ node: AggregateExpr, topK: Int? = nil) async throws(QueryError) -> [StepSeries]? {
        guard let shape = Self.pushdownShape(node) else { return nil }
        let hint = shape.call?.function.name ?? node.op.rawValue
        var request = selectRequest(shape.selector, range: shape.range, hint: hint)
        request.topK = topK
        guard let summed = try await context.selectSummed(request, by: node.grouping),
            summed.allSatisfy({ if case .steps = $0.data { return true } else { return false } })
        else { return nil }
        // Only the grouping labels, whatever else the source sent.
        let series = summed.map { SourceSeries(labels: $0.labels.keeping(node.grouping), data: $0.data) }
        if let call = shape.call {
            return try await evalRangeCall(call, series: series)
        }
        return try await evalVectorSelector(shape.selector, hint: hint, series: series)
    }
}

extension Evaluator {
    /// The input of `topk(k, sum by (…) (increase|rate|delta(x[r])))` in an instant query, where
    /// the source may send only the k largest sums (and those tied with the k-th): topk keeps
    /// no others, and these functions of a counter are never NaN. Nil when that does not apply.
    func pushedDownTopKInput(_ node: AggregateExpr, parameter: [Double]) async throws(QueryError) -> [StepSeries]? {
        guard node.op == .topk, node.grouping.isEmpty, !node.without, requestStep == 0, grid.count == 1,
            let k = parameter.first, k >= 1, k <= 100_000,
            case .aggregate(let inner) = unwrappingParens(node.expr), Self.pushdownShape(inner)?.call != nil
        else { return nil }
        return try await pushedDownInput(inner, topK: Int(k))
    }
}
