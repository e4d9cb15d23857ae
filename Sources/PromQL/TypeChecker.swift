/// Checks a parsed tree as Prometheus's `checkAST` does: operand types, modifiers that fit their
/// operators, selectors that select something. It visits nodes in Prometheus's order and stops
/// at the first problem, which is the one Prometheus reports.
///
/// It also settles vector matching as Prometheus does: none unless both operands are instant
/// vectors, and many-to-many for `and`, `or` and `unless`.
struct TypeChecker {
    let query: String

    func check(_ expr: Expr) throws(PromQLError) -> Expr {
        switch expr {
        case .number, .string:
            return expr

        case .vectorSelector(let node):
            try checkSelector(node)
            return expr

        case .matrixSelector(let node):
            try checkSelector(node.selector)
            return expr

        case .subquery(var node):
            node.expr = try check(node.expr)
            if node.expr.type != .instantVector {
                throw error("subquery is only allowed on instant vector, got \(node.expr.type.internalName) instead", at: node.span.start)
            }
            return .subquery(node)

        case .paren(var node):
            node.expr = try check(node.expr)
            return .paren(node)

        case .unary(var node):
            node.expr = try check(node.expr)
            let type = node.expr.type
            if type != .scalar, type != .instantVector {
                throw error(
                    "unary expression only allowed on expressions of type scalar or instant vector, got \(GoText.quote(type.description))",
                    at: node.span.start
                )
            }
            return .unary(node)

        case .aggregate(var node):
            node.expr = try expect(node.expr, .instantVector, in: "aggregation expression")
            if let param = node.param, let wanted = node.op.parameterType {
                node.param = try expect(param, wanted, in: "aggregation parameter")
            }
            return .aggregate(node)

        case .call(var node):
            try checkArity(node)
            let types = node.function.argumentTypes
            for (index, arg) in node.args.enumerated() {
                // Extra arguments of a variadic function take the last parameter's type.
                if index >= types.count, node.function.variadic == 0 { break }
                let wanted = types[min(index, types.count - 1)]
                node.args[index] = try expect(arg, wanted, in: "call to function \(GoText.quote(node.function.name))")
            }
            return .call(node)

        case .binary(let node):
            return .binary(try checkBinary(node))
        }
    }

    private func checkBinary(_ input: BinaryExpr) throws(PromQLError) -> BinaryExpr {
        var node = input
        node.lhs = try check(node.lhs)
        node.rhs = try check(node.rhs)
        let lhsType = node.lhs.type
        let rhsType = node.rhs.type
        let op = node.op
        if node.returnBool, !op.isComparison {
            throw error("bool modifier can only be used on comparison operators", at: node.operatorOffset)
        }
        if op.isComparison, !node.returnBool, lhsType == .scalar, rhsType == .scalar {
            throw error("comparisons between scalars must use BOOL modifier", at: node.operatorOffset)
        }
        var matching = node.matching ?? VectorMatching()
        if op.isSetOperator, matching.cardinality == .oneToOne { matching.cardinality = .manyToMany }
        if matching.on, let label = matching.matchingLabels.first(where: matching.include.contains) {
            throw error("label \(GoText.quote(label)) must not occur in ON and GROUP clause at once", at: node.operatorOffset)
        }
        if lhsType != .scalar, lhsType != .instantVector {
            throw error("binary expression must contain only scalar and instant vector types", at: node.lhs.span.start)
        }
        if rhsType != .scalar, rhsType != .instantVector {
            throw error("binary expression must contain only scalar and instant vector types", at: node.rhs.span.start)
        }
        let operatorName = GoText.quote(op.rawValue)
        if lhsType != .instantVector || rhsType != .instantVector {
            if !matching.matchingLabels.isEmpty {
                throw error("vector matching only allowed between instant vectors", at: node.span.start)
            }
            node.matching = nil
        } else {
            if op.isSetOperator {
                if matching.cardinality == .oneToMany || matching.cardinality == .manyToOne {
                    throw error("no grouping allowed for \(operatorName) operation", at: node.span.start)
                }
                if matching.cardinality != .manyToMany {
                    throw error("set operations must always be many-to-many", at: node.span.start)
                }
            }
            node.matching = matching
        }
        if lhsType == .scalar || rhsType == .scalar, op.isSetOperator {
            throw error("set operator \(operatorName) not allowed in binary scalar expression", at: node.span.start)
        }
        return node
    }

    private func checkArity(_ node: Call) throws(PromQLError) {
        let function = node.function
        let declared = function.argumentTypes.count
        let given = node.args.count
        let name = GoText.quote(function.name)
        if function.variadic == 0 {
            if declared != given {
                throw error("expected \(declared) argument(s) in call to \(name), got \(given)", at: node.span.start)
            }
            return
        }
        let required = declared - 1
        if required > given {
            throw error("expected at least \(required) argument(s) in call to \(name), got \(given)", at: node.span.start)
        }
        if function.variadic > 0, required + function.variadic < given {
            throw error("expected at most \(required + function.variadic) argument(s) in call to \(name), got \(given)", at: node.span.start)
        }
    }

    private func checkSelector(_ node: VectorSelector) throws(PromQLError) {
        if let name = node.name {
            // The last matcher is the one the name implies; any other on __name__ repeats it.
            for matcher in node.matchers.dropLast() where matcher.name == "__name__" {
                throw error("metric name must not be set twice: \(GoText.quote(name)) or \(GoText.quote(matcher.value))", at: node.span.start)
            }
            return
        }
        // A selector that every series passes, such as {job=~".*"}, is refused as a likely typo.
        if !node.matchers.contains(where: { !$0.matches("") }) {
            throw error("vector selector must contain at least one non-empty matcher", at: node.span.start)
        }
    }

    private func expect(_ expr: Expr, _ wanted: ValueType, in context: String) throws(PromQLError) -> Expr {
        let checked = try check(expr)
        if checked.type != wanted {
            throw error("expected type \(wanted) in \(context), got \(checked.type)", at: checked.span.start)
        }
        return checked
    }

    private func error(_ message: String, at offset: Int) -> PromQLError {
        PromQLError(kind: .semantic, message: message, offset: offset, query: query)
    }
}
