import CanopyTestSupport
import Foundation
import Testing
@testable import PromQL

/// Precedence and associativity checked against the real engine: for random scalar arithmetic,
/// Prometheus must find `(query) == bool (our tree, fully parenthesized)` true. If our tree
/// grouped anything differently the two sides would compute different numbers. Both sides run
/// in Prometheus, so its float functions (`^`, `%`, `atan2`) cannot cause false alarms.
@Suite struct PromtoolEvaluationTests {
    @Test func prometheusEvaluatesOurTreesAsItsOwn() throws {
        var random = SplitMix64(seed: 42)
        var queries = [
            "-2 ^ 2", "2 ^ 3 ^ 2", "-2 ^ -2", "2 ^ -1 ^ 2", "1 - 2 - 3", "8 / 4 / 2", "7 % 4 % 2", "2 * 3 % 4",
            "1 + 2 * 3 ^ 2", "-3 * -2 ^ 2", "1 atan2 1 * 4", "2 * 1 atan2 1", "1 + 1 atan2 2 ^ 2",
            "1 < bool 2 == bool 1", "1 + 1 > bool 1", "2 > bool 1 + 1", "- - 2 ^ 2", "+-2 ^ 2 * 3", "(1 + 2) * 3",
        ]
        while queries.count < 400 { queries.append(Self.randomArithmetic(&random, depth: 0)) }

        var checks: [(query: String, check: String)] = []
        for query in queries {
            let tree = try PromQLParser.parse(query)
            // NaN equals nothing, not even itself; such queries prove nothing.
            guard let value = Self.evaluate(tree), !value.isNaN else { continue }
            checks.append((query, "(\(query)) == bool (\(Self.fullyParenthesized(tree)))"))
        }
        #expect(checks.count > 300)

        var yaml = """
        rule_files: []
        evaluation_interval: 1m
        tests:
          - interval: 1m
            input_series: []
            promql_expr_test:

        """
        for check in checks {
            yaml += "      - expr: \(yamlQuoted(check.check))\n        eval_time: 0\n        exp_samples:\n          - labels: '{}'\n            value: 1\n"
        }
        let (status, output) = try runPromtool(["test", "rules"], onFile: yaml)
        #expect(status == 0, "Prometheus groups some of these differently:\n\(output)")
    }

    /// `term (op term)*`, terms being numbers, signed terms or parenthesized expressions.
    static func randomArithmetic(_ random: inout SplitMix64, depth: Int) -> String {
        let numbers = ["0", "1", "2", "3", "4", "0.5", "10", "1e3", "0x10"]
        let operators = ["+", "-", "*", "/", "%", "^", "atan2", "== bool", "!= bool", "> bool", "< bool", ">= bool", "<= bool"]
        func term() -> String {
            var text = ""
            for _ in 0..<random.next(below: 3) where random.next(below: 3) == 0 { text += random.next(below: 2) == 0 ? "-" : "+" }
            if depth < 3, random.next(below: 5) == 0 { return text + "(" + randomArithmetic(&random, depth: depth + 1) + ")" }
            return text + numbers[random.next(below: numbers.count)]
        }
        var text = term()
        for _ in 0..<(1 + random.next(below: 4)) {
            text += " " + operators[random.next(below: operators.count)] + " " + term()
        }
        return text
    }

    /// The tree as PromQL with every operation in parentheses; negative literals too, since
    /// `-2 ^ 2` would read as `-(2 ^ 2)`.
    static func fullyParenthesized(_ expr: Expr) -> String {
        switch expr {
        case .number(let node): return node.value.sign == .minus ? "(\(expr))" : expr.description
        case .paren(let node): return "(\(fullyParenthesized(node.expr)))"
        case .unary(let node): return "(\(node.op.rawValue)\(fullyParenthesized(node.expr)))"
        case .binary(let node):
            return "(\(fullyParenthesized(node.lhs)) \(node.op.rawValue)\(node.returnBool ? " bool" : "") \(fullyParenthesized(node.rhs)))"
        default: return expr.description
        }
    }

    /// Scalar arithmetic as PromQL defines it, to skip queries whose value is NaN.
    static func evaluate(_ expr: Expr) -> Double? {
        switch expr {
        case .number(let node): return node.value
        case .paren(let node): return evaluate(node.expr)
        case .unary(let node): return evaluate(node.expr).map { node.op == .minus ? -$0 : $0 }
        case .binary(let node):
            guard let l = evaluate(node.lhs), let r = evaluate(node.rhs) else { return nil }
            switch node.op {
            case .add: return l + r
            case .sub: return l - r
            case .mul: return l * r
            case .div: return l / r
            case .mod: return fmod(l, r)
            case .pow: return pow(l, r)
            case .atan2: return atan2(l, r)
            case .equal: return l == r ? 1 : 0
            case .notEqual: return l != r ? 1 : 0
            case .greater: return l > r ? 1 : 0
            case .less: return l < r ? 1 : 0
            case .greaterOrEqual: return l >= r ? 1 : 0
            case .lessOrEqual: return l <= r ? 1 : 0
            case .and, .or, .unless: return nil
            }
        default: return nil
        }
    }
}
