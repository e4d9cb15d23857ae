extension Evaluator {
    /// `expr[range:step] offset o @ t`: `expr` evaluated on a grid of its own, from the first
    /// multiple of the step after `(t or the first step) - o - range` to `(t or the last step) - o`.
    /// Aligning to multiples of the step, as Prometheus does, gives every outer step the same
    /// inner times. Without a step, the inner step is Prometheus's global evaluation interval.
    func evalSubquery(_ node: SubqueryExpr, hint: String?) async throws(QueryError) -> [StepSeries] {
        let interval = node.step.map(\.milliseconds).flatMap { $0 > 0 ? $0 : nil } ?? context.defaultSubqueryStep
        let offset = node.offset?.milliseconds ?? 0
        let pinned = pinnedTime(node.at)
        let first = (pinned ?? grid.start) - offset
        let last = (pinned ?? grid.end) - offset
        let inner = StepGrid(start: StepGrid.alignedUp(first - node.range.milliseconds, to: interval), end: last, interval: interval)
        if inner.end >= inner.start, (inner.end - inner.start) / interval > Timestamp(context.limits.maxSteps) {
            throw QueryError.tooManySteps(context.limits.maxSteps)
        }
        let evaluator = Evaluator(grid: inner, requestStep: interval, context: context)
        switch try await evaluator.eval(node.expr, hint: hint) {
        case .vector(let series):
            return series
        case .scalar(let values):
            let points = zip(inner.times, values).map { Sample(t: $0, v: $1) }
            return points.isEmpty ? [] : [StepSeries(labels: Labels(), points: points)]
        case .matrix, .string:
            throw QueryError(.execution, "subquery is only allowed on instant vector, got \(node.expr.type)")
        }
    }
}
