import Testing
@testable import PromQL

/// What the evaluator reads off the tree.
@Suite struct ASTTests {
    @Test func selectorsExposeNameMatchersAndTime() throws {
        let expr = try PromQLParser.parse(#"http_requests_total{job="api", code=~"5.."} offset -5m @ 1609746000"#)
        guard case .vectorSelector(let selector) = expr else {
            Issue.record("not a selector: \(expr)")
            return
        }
        #expect(selector.name == "http_requests_total")
        #expect(selector.matchers.map(\.description) == [#"job="api""#, #"code=~"5..""#, #"__name__="http_requests_total""#])
        #expect(selector.labelMatchers.map(\.name) == ["job", "code"])
        #expect(selector.matchers[1].regex?.matches("503") == true)
        #expect(selector.offset == PromDuration(milliseconds: -300_000))
        #expect(selector.at == .timestamp(milliseconds: 1_609_746_000_000))
        #expect(selector.span == SourceSpan(start: 0, end: 67))
        #expect(expr.type == .instantVector)
    }

    @Test func nameOnlyInsideBraces() throws {
        guard case .vectorSelector(let selector) = try PromQLParser.parse(#"{__name__=~"job:.*", env="prod"}"#) else {
            Issue.record("not a selector")
            return
        }
        #expect(selector.name == nil)
        #expect(selector.matchers.count == 2)
        #expect(selector.labelMatchers == selector.matchers)
    }

    @Test func rangesAndSubqueries() throws {
        guard case .call(let call) = try PromQLParser.parse("rate(x[5m] offset 1m)") else {
            Issue.record("not a call")
            return
        }
        #expect(call.function == Function.named("rate"))
        guard case .matrixSelector(let matrix) = call.args[0] else {
            Issue.record("not a range selector")
            return
        }
        #expect(matrix.range == PromDuration(milliseconds: 300_000))
        #expect(matrix.selector.offset == PromDuration(milliseconds: 60_000))

        guard case .subquery(let subquery) = try PromQLParser.parse("max_over_time(rate(x[1m])[1h:])").children[0] else {
            Issue.record("not a subquery")
            return
        }
        #expect(subquery.range == PromDuration(milliseconds: 3_600_000))
        #expect(subquery.step == nil)
        #expect(subquery.expr.type == .instantVector)
    }

    @Test func binaryExpressionsSettleVectorMatching() throws {
        guard case .binary(let scalar) = try PromQLParser.parse("x * 2") else { return }
        #expect(scalar.matching == nil, "no matching unless both sides are vectors")
        guard case .binary(let set) = try PromQLParser.parse("a and b") else { return }
        #expect(set.matching == VectorMatching(cardinality: .manyToMany))
        guard case .binary(let grouped) = try PromQLParser.parse("a / on(job, instance) group_left(version) b") else { return }
        #expect(grouped.matching == VectorMatching(cardinality: .manyToOne, matchingLabels: ["job", "instance"], on: true, include: ["version"]))
        guard case .binary(let comparison) = try PromQLParser.parse("a > bool 1") else { return }
        #expect(comparison.returnBool)
        #expect(comparison.op == .greater)
    }

    @Test func aggregations() throws {
        guard case .aggregate(let topk) = try PromQLParser.parse("topk without (pod) (5, x)") else { return }
        #expect(topk.op == .topk)
        #expect(topk.param == .number(NumberLiteral(5)))
        #expect(topk.grouping == ["pod"])
        #expect(topk.without)
        guard case .aggregate(let values) = try PromQLParser.parse(#"count_values("v", x) by (job)"#) else { return }
        #expect(values.param == .string(StringLiteral("v")))
        #expect(!values.without)
    }

    @Test func vectorSelectorsListsEverythingToFetch() throws {
        let expr = try PromQLParser.parse(#"sum(rate(a{x="1"}[5m])) / on() group_left b + max_over_time((c > 1)[1h:])"#)
        #expect(expr.vectorSelectors.map { $0.name ?? "" } == ["a", "b", "c"])
    }

    @Test func equalityIgnoresSpansMatcherOrderAndSpacing() throws {
        #expect(try PromQLParser.parse("sum by (a) (x{b=\"1\",c=\"2\"})") == PromQLParser.parse("sum(  x{ c='2', b=\"1\" }  ) by (a)"))
        #expect(try PromQLParser.parse("a + b") != PromQLParser.parse("b + a"))
        #expect(try PromQLParser.parse("(a)") != PromQLParser.parse("a"), "parentheses are kept")
        let built = Expr.binary(BinaryExpr(
            op: .add, lhs: .number(NumberLiteral(1)), rhs: .number(NumberLiteral(2))
        ))
        #expect(try PromQLParser.parse("1 + 2") == built)
        #expect(Set([try PromQLParser.parse("x{a=\"1\",b=\"2\"}"), try PromQLParser.parse("x{b=\"2\",a=\"1\"}")]).count == 1)
    }

    @Test func functionTable() throws {
        let required = [
            "rate", "increase", "irate", "delta", "idelta", "resets", "changes", "avg_over_time", "min_over_time",
            "max_over_time", "sum_over_time", "count_over_time", "stddev_over_time", "stdvar_over_time",
            "last_over_time", "quantile_over_time", "present_over_time", "absent", "absent_over_time", "abs", "ceil",
            "floor", "round", "exp", "ln", "log2", "log10", "sqrt", "clamp", "clamp_min", "clamp_max", "sort",
            "sort_desc", "label_replace", "label_join", "time", "timestamp", "vector", "scalar", "day_of_week",
            "day_of_month", "days_in_month", "hour", "minute", "month", "year", "histogram_quantile",
        ]
        for name in required { #expect(Function.named(name) != nil, "\(name)") }
        #expect(Function.all.count == 70, "all of Prometheus 2.42's functions")
        #expect(Function.named("rate")?.argumentTypes == [.rangeVector])
        #expect(Function.named("quantile_over_time")?.argumentTypes == [.scalar, .rangeVector])
        #expect(Function.named("label_join")?.variadic == -1)
        #expect(Function.named("round")?.variadic == 1)
        #expect(Function.named("scalar")?.returnType == .scalar)
        #expect(Function.named("time")?.argumentTypes == [])
        #expect(try PromQLParser.parse("time()").type == .scalar)
        #expect(try PromQLParser.parse("hour()").type == .instantVector)
    }

    @Test func treesCrossConcurrencyDomains() async throws {
        let expr = try PromQLParser.parse("sum by (job) (rate(x[5m]))")
        let printed = await Task.detached { expr.description }.value
        #expect(printed == "sum by (job) (rate(x[5m]))")
    }
}
