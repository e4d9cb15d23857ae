/// Canonical PromQL text for a tree, as Prometheus's `String()` methods write it: one space
/// around binary operators, `by (…)` before the aggregation's body, matchers sorted, durations
/// and numbers in their canonical forms. Parentheses come only from `ParenExpr` nodes, which
/// the parser keeps, so printing a parsed tree and parsing the text gives an equal tree.
extension Expr: CustomStringConvertible {
    public var description: String {
        switch self {
        case .number(let node): return GoText.formatFloat(node.value)
        case .string(let node): return GoText.queryLiteral(node.value)
        case .vectorSelector(let node): return node.description
        case .matrixSelector(let node): return node.description
        case .subquery(let node): return node.description
        case .paren(let node): return "(\(node.expr))"
        case .unary(let node): return node.op.rawValue + node.expr.description
        case .binary(let node): return node.description
        case .aggregate(let node): return node.description
        case .call(let node): return "\(node.function.name)(\(node.args.map(\.description).joined(separator: ", ")))"
        }
    }
}

extension VectorSelector: CustomStringConvertible {
    public var description: String {
        selectorText + Self.timeSuffix(offset: offset, at: at)
    }

    /// The name and matchers, without `offset` and `@`.
    var selectorText: String {
        let written = matchers
            .filter { matcher in !(name.map(matcher.isMetricNameEquality) ?? false) }
            .map(\.description)
            // Go sorts bytewise.
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        return (name ?? "") + (written.isEmpty ? "" : "{" + written.joined(separator: ",") + "}")
    }

    /// ` @ 10.000 offset 5m`: `@` first, as Prometheus prints it.
    static func timeSuffix(offset: PromDuration?, at: AtModifier?) -> String {
        var out = ""
        switch at {
        case .timestamp(let milliseconds)?:
            let magnitude = milliseconds.magnitude
            let fraction = String(magnitude % 1000)
            out += " @ " + (milliseconds < 0 ? "-" : "") + "\(magnitude / 1000)."
                + String(repeating: "0", count: 3 - fraction.count) + fraction
        case .start?: out += " @ start()"
        case .end?: out += " @ end()"
        case nil: break
        }
        if let offset { out += " offset \(offset)" }
        return out
    }
}

extension MatrixSelector: CustomStringConvertible {
    public var description: String {
        "\(selector.selectorText)[\(range)]" + VectorSelector.timeSuffix(offset: selector.offset, at: selector.at)
    }
}

extension SubqueryExpr: CustomStringConvertible {
    public var description: String {
        "\(expr)[\(range):\(step.map(\.description) ?? "")]" + VectorSelector.timeSuffix(offset: offset, at: at)
    }
}

extension BinaryExpr: CustomStringConvertible {
    public var description: String {
        "\(lhs) \(op.rawValue)\(returnBool ? " bool" : "")\(matchingText) \(rhs)"
    }

    private var matchingText: String {
        guard let matching else { return "" }
        let grouped = matching.cardinality == .manyToOne || matching.cardinality == .oneToMany
        // Prometheus also drops an empty `ignoring ()` followed by `group_left`, which changes
        // the query; we keep the clause whenever there is a group modifier.
        guard matching.on || !matching.matchingLabels.isEmpty || grouped else { return "" }
        var out = " \(matching.on ? "on" : "ignoring") (\(matching.matchingLabels.joined(separator: ", ")))"
        if grouped {
            let side = matching.cardinality == .manyToOne ? "left" : "right"
            out += " group_\(side) (\(matching.include.joined(separator: ", ")))"
        }
        return out
    }
}

extension AggregateExpr: CustomStringConvertible {
    public var description: String {
        var out = op.rawValue
        if without {
            out += " without (\(grouping.joined(separator: ", "))) "
        } else if !grouping.isEmpty {
            out += " by (\(grouping.joined(separator: ", "))) "
        }
        out += "("
        if let param { out += "\(param), " }
        return out + "\(expr))"
    }
}
