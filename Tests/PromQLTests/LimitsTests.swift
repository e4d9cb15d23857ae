import Testing
@testable import PromQL

/// Hostile input must fail fast with a clear error, never exhaust the stack.
@Suite struct LimitsTests {
    private func nestedParens(_ depth: Int) -> String {
        String(repeating: "(", count: depth) + "1" + String(repeating: ")", count: depth)
    }

    @Test func rejectsQueriesOverTheLengthLimit() {
        let limits = ParseLimits(maximumQueryLength: 10)
        #expect(outcome("up", limits: limits) == "OK up")
        #expect(outcome("sum(rate(x[5m]))", limits: limits)
            == "1:1: parse error: query is 16 bytes long, over the limit of 10 bytes")
        #expect(throws: PromQLError.self) { try PromQLParser.parse(String(repeating: "a", count: 70_000)) }
    }

    @Test func nestingUpToTheLimitParses() throws {
        let limit = ParseLimits.default.maximumDepth
        // The literal is one level, each pair of parentheses another.
        let tree = try PromQLParser.parse(nestedParens(limit - 1))
        #expect(try PromQLParser.parse(tree.description) == tree)
        #expect(outcome(nestedParens(limit)).hasSuffix("expression nests too deeply: more than \(limit) levels"))
    }

    /// Each is far deeper than the limit; parsing must refuse it rather than recurse on.
    @Test func deepInputFailsCleanly() {
        let roomy = ParseLimits(maximumQueryLength: 1_000_000)
        let hostile: [(String, String)] = [
            ("open parentheses", String(repeating: "(", count: 100_000) + "1"),
            ("closed parentheses", String(repeating: "(", count: 20_000) + "1" + String(repeating: ")", count: 20_000)),
            ("signs", String(repeating: "-", count: 100_000) + "1"),
            ("a left-leaning sum", Array(repeating: "a", count: 10_000).joined(separator: " + ")),
            ("a right-leaning power", Array(repeating: "2", count: 10_000).joined(separator: " ^ ")),
            ("nested aggregations", String(repeating: "sum(", count: 20_000) + "x" + String(repeating: ")", count: 20_000)),
            ("stacked subqueries", "x" + String(repeating: "[1m:]", count: 5_000)),
            ("stacked offsets", "x[1m:]" + String(repeating: " offset 1m", count: 5_000)),
        ]
        for (name, query) in hostile {
            let result = outcome(query, limits: roomy)
            #expect(result.contains("nests too deeply") || result.contains("may not be set multiple times"), "\(name): \(result.prefix(120))")
        }
    }

    @Test func longFlatQueriesAreFine() throws {
        // Each operator nests one level: 60 terms fit, 200 do not.
        let sixty = (1...60).map { "a\($0) * b\($0)" }.joined(separator: " or ")
        #expect(try PromQLParser.parse(sixty).vectorSelectors.count == 120)
        let twoHundred = (1...200).map { "a\($0)" }.joined(separator: " or ")
        #expect(throws: PromQLError.self) { try PromQLParser.parse(twoHundred) }
        let wide = "sum by (" + (1...500).map { "l\($0)" }.joined(separator: ", ") + ") (x)"
        guard case .aggregate(let node) = try PromQLParser.parse(wide) else {
            Issue.record("not an aggregation")
            return
        }
        #expect(node.grouping.count == 500)
        let manyMatchers = "x{" + (1...500).map { "l\($0)=\"v\"" }.joined(separator: ",") + "}"
        #expect(try PromQLParser.parse(manyMatchers).vectorSelectors.first?.matchers.count == 501)
    }

    @Test func deepestAllowedQueryWorksOnASwiftConcurrencyThread() async throws {
        let limit = ParseLimits.default.maximumDepth
        let queries = [
            nestedParens(limit - 1),
            String(repeating: "-", count: limit - 1) + "x",
            Array(repeating: "x", count: limit / 2).joined(separator: " + "),
            String(repeating: "abs(", count: limit - 1) + "x" + String(repeating: ")", count: limit - 1),
        ]
        for query in queries {
            let printed = try await Task.detached {
                let tree = try PromQLParser.parse(query)
                let again = try PromQLParser.parse(tree.description)
                return (again == tree, tree.description)
            }.value
            #expect(printed.0)
        }
    }

    @Test func customDepthLimit() {
        let limits = ParseLimits(maximumQueryLength: 1000, maximumDepth: 3)
        #expect(outcome("(1)", limits: limits) == "OK (1)")
        #expect(outcome("a + b + c", limits: limits) == "OK a + b + c")
        #expect(outcome("a + b + c + d", limits: limits) == "1:11: parse error: expression nests too deeply: more than 3 levels")
        #expect(outcome("((1))", limits: limits) == "OK ((1))")
        #expect(outcome("(((1)))", limits: limits).hasSuffix("nests too deeply: more than 3 levels"))
    }
}
