/// Evaluates an expression at every step of a grid, as Prometheus's `evaluator` does: each node
/// is evaluated once for all steps, so a selector is fetched once and a range query costs one
/// pass per node. Subqueries run a nested evaluator on a grid of their own.
struct Evaluator {
    let grid: StepGrid
    /// The step a `SelectRequest` reports: the range query's or subquery's, 0 for an instant query.
    let requestStep: Timestamp
    let context: QueryContext

    /// The value of `expr` at every step. `hint` is the function or aggregation the expression is
    /// directly an argument of (through parentheses and subqueries, not binary operators), for
    /// `SelectRequest.function`, as Prometheus's `extractFuncFromPath` finds it.
    ///
    /// Samples held by the children are released once the node's value exists; the value's own
    /// count stays held until its consumer is done with it.
    func eval(_ expr: Expr, hint: String?) async throws(QueryError) -> StepValue {
        // A node's loops do not suspend; between nodes, other tasks on the cooperative pool get a turn.
        await Task.yield()
        try context.checkCancellation()
        let heldBefore = context.heldSamples
        let value = try await evalNode(expr, hint: hint)
        context.release(context.heldSamples - heldBefore)
        try context.hold(value.sampleCount)
        return value
    }

    private func evalNode(_ expr: Expr, hint: String?) async throws(QueryError) -> StepValue {
        switch expr {
        case .number(let node):
            return .scalar([Double](repeating: node.value, count: grid.count))
        case .string(let node):
            return .string(node.value)
        case .paren(let node):
            return try await evalNode(node.expr, hint: hint)
        case .unary(let node):
            let value = try await eval(node.expr, hint: hint)
            guard node.op == .minus else { return value }
            return try negated(value)
        case .binary(let node):
            return try await evalBinary(node)
        case .aggregate(let node):
            return .vector(try await evalAggregate(node))
        case .call(let node):
            return try await evalCall(node)
        case .vectorSelector(let node):
            return .vector(try await evalVectorSelector(node, hint: hint))
        case .matrixSelector(let node):
            return .matrix(try await evalMatrixSelector(node, hint: hint))
        case .subquery(let node):
            let series = try await evalSubquery(node, hint: hint)
            return .matrix(series.map { SeriesValues(labels: $0.labels, samples: $0.points) })
        }
    }

    /// Unary minus: values negated and, for vectors, the metric name dropped.
    private func negated(_ value: StepValue) throws(QueryError) -> StepValue {
        switch value {
        case .scalar(let values):
            return .scalar(values.map { -$0 })
        case .vector(let series):
            let out = series.map { item in
                StepSeries(labels: item.labels.droppingMetricName, points: item.points.map { Sample(t: $0.t, v: -$0.v) })
            }
            return .vector(try mergingEqualLabels(out))
        case .matrix, .string:
            // The parser allows unary operators on scalars and instant vectors only.
            throw QueryError(.execution, "unary minus is only defined on scalars and instant vectors")
        }
    }

    /// An argument the type checker guarantees to be a scalar, one value per step.
    func evalScalar(_ expr: Expr, hint: String?) async throws(QueryError) -> [Double] {
        guard case .scalar(let values) = try await eval(expr, hint: hint) else {
            throw QueryError(.execution, "expected a scalar, got \(expr.type)")
        }
        return values
    }

    /// An argument the type checker guarantees to be an instant vector.
    func evalVector(_ expr: Expr, hint: String?) async throws(QueryError) -> [StepSeries] {
        guard case .vector(let series) = try await eval(expr, hint: hint) else {
            throw QueryError(.execution, "expected an instant vector, got \(expr.type)")
        }
        return series
    }

    /// The time `@` pins to, if any: `@ start()` and `@ end()` are the query's own.
    func pinnedTime(_ at: AtModifier?) -> Timestamp? {
        switch at {
        case nil: return nil
        case .timestamp(let milliseconds): return milliseconds
        case .start: return context.queryStart
        case .end: return context.queryEnd
        }
    }
}

/// The expression inside any number of parentheses.
func unwrappingParens(_ expr: Expr) -> Expr {
    var expr = expr
    while case .paren(let node) = expr { expr = node.expr }
    return expr
}

/// A string argument: the type checker allows only a literal, maybe in parentheses.
func stringLiteral(_ expr: Expr) throws(QueryError) -> String {
    guard case .string(let literal) = unwrappingParens(expr) else {
        throw QueryError(.execution, "expected a string literal, got \(expr)")
    }
    return literal.value
}
