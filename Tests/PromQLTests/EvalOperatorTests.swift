import Testing
@testable import PromQL

/// Binary operators, vector matching and aggregations on small vectors worked out by hand.
@Suite struct EvalOperatorTests {
    static let source = MemorySeriesSource([
        sampled(#"req{job="api", code="200"}"#, [10]),
        sampled(#"req{job="api", code="500"}"#, [2]),
        sampled(#"req{job="web", code="200"}"#, [30]),
        sampled(#"limit{job="api"}"#, [100]),
        sampled(#"limit{job="web"}"#, [50]),
        sampled(#"info{job="api", version="1.0"}"#, [1]),
        sampled(#"info{job="web", version="2.0"}"#, [1]),
        sampled(#"g{i="a"}"#, [3]),
        sampled(#"g{i="b"}"#, [1]),
        sampled(#"g{i="c"}"#, [2]),
        sampled(#"g{i="d"}"#, [.nan]),
    ])

    func eval(_ query: String) async throws -> [String] { render(try await evalInstant(query, at: 0, Self.source)) }

    @Test func vectorScalar() async throws {
        #expect(try await eval(#"req{code="500"} * 10"#) == [#"{code="500", job="api"} 20"#])
        #expect(try await eval(#"100 - req{code="500"}"#) == [#"{code="500", job="api"} 98"#])
        // Comparisons keep the name and filter; with bool they give 0 or 1 and drop the name.
        #expect(try await eval("req > 5") == [#"req{code="200", job="api"} 10"#, #"req{code="200", job="web"} 30"#])
        #expect(try await eval("5 < req") == [#"req{code="200", job="api"} 10"#, #"req{code="200", job="web"} 30"#])
        #expect(try await eval(#"req{job="api"} > bool 5"#) == [#"{code="200", job="api"} 1"#, #"{code="500", job="api"} 0"#])
    }

    @Test func oneToOneMatching() async throws {
        #expect(try await eval(#"req{code="200"} / on(job) limit"#) == [#"{job="api"} 0.1"#, #"{job="web"} 0.6"#])
        #expect(try await eval(#"req{code="200"} / ignoring(code) limit"#) == [#"{job="api"} 0.1"#, #"{job="web"} 0.6"#])
        // Without on/ignoring, all labels but the name must match: nothing does.
        #expect(try await eval("req / limit") == [])
    }

    @Test func groupLeftAndRight() async throws {
        #expect(try await eval("req / on(job) group_left limit") == [
            #"{code="200", job="api"} 0.1"#, #"{code="200", job="web"} 0.6"#, #"{code="500", job="api"} 0.02"#,
        ])
        #expect(try await eval("req * on(job) group_left(version) info") == [
            #"{code="200", job="api", version="1.0"} 10"#, #"{code="200", job="web", version="2.0"} 30"#,
            #"{code="500", job="api", version="1.0"} 2"#,
        ])
        #expect(try await eval("info * on(job) group_right(version) req") == [
            #"{code="200", job="api", version="1.0"} 10"#, #"{code="200", job="web", version="2.0"} 30"#,
            #"{code="500", job="api", version="1.0"} 2"#,
        ])
    }

    @Test func matchingErrors() async throws {
        #expect(await evalError("req / on(job) limit", at: 0, Self.source)?.message
            == "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
        #expect(await evalError("limit / on(job) group_left req", at: 0, Self.source)?.message
            == #"found duplicate series for the match group {job="api"} on the right hand-side of the operation: [{__name__="req", code="500", job="api"}, {__name__="req", code="200", job="api"}];many-to-many matching not allowed: matching labels must be unique on one side"#)
        #expect(await evalError("req / on(job) group_right limit", at: 0, Self.source)?.message.contains("on the left hand-side") == true)
        #expect(await evalError("req / on(job) group_left(code) (req * 0 + on(job) group_left limit)", at: 0, Self.source) != nil)
    }

    @Test func setOperators() async throws {
        #expect(try await eval("req and on(job) limit > 60") == [#"req{code="200", job="api"} 10"#, #"req{code="500", job="api"} 2"#])
        #expect(try await eval("req unless on(job) limit > 60") == [#"req{code="200", job="web"} 30"#])
        #expect(try await eval(#"limit or on(job) req{code="500"}"#) == [#"limit{job="api"} 100"#, #"limit{job="web"} 50"#])
        #expect(try await eval(#"req{code="500"} or limit"#) == [#"limit{job="api"} 100"#, #"limit{job="web"} 50"#, #"req{code="500", job="api"} 2"#])
    }

    @Test func aggregations() async throws {
        #expect(try await eval("sum by (job) (req)") == [#"{job="api"} 12"#, #"{job="web"} 30"#])
        #expect(try await eval("sum without (code) (req)") == [#"{job="api"} 12"#, #"{job="web"} 30"#])
        #expect(try await eval("avg(req)") == ["{} 14"])
        #expect(try await eval("count by (code) (req)") == [#"{code="200"} 2"#, #"{code="500"} 1"#])
        #expect(try await eval("min(req)") == ["{} 2"])
        #expect(try await eval("max(req)") == ["{} 30"])
        #expect(try await eval("group by (job) (req)") == [#"{job="api"} 1"#, #"{job="web"} 1"#])
        // Population variance of 10, 2, 30: mean 14, deviations 16 + 144 + 256 over 3.
        #expect(try await eval("stdvar(req)") == ["{} \(GoText.formatFloat(416.0 / 3))"])
        #expect(try await eval("stddev(req)") == ["{} \(GoText.formatFloat((416.0 / 3).squareRoot()))"])
        #expect(try await eval("quantile(0.5, req)") == ["{} 10"])
        #expect(try await eval("quantile(0.25, req)") == ["{} 6"])
        #expect(try await eval("sum by (__name__) ({job=\"api\"})") == [#"info 1"#, #"limit 100"#, #"req 12"#])
    }

    @Test func topkBottomkAndSortPutNaNLast() async throws {
        #expect(try await eval("topk(2, g)") == [#"g{i="a"} 3"#, #"g{i="c"} 2"#])
        #expect(try await eval("bottomk(2, g)") == [#"g{i="b"} 1"#, #"g{i="c"} 2"#])
        #expect(try await eval("topk(10, g)") == [#"g{i="a"} 3"#, #"g{i="c"} 2"#, #"g{i="b"} 1"#, #"g{i="d"} NaN"#])
        #expect(try await eval("sort(g)") == [#"g{i="b"} 1"#, #"g{i="c"} 2"#, #"g{i="a"} 3"#, #"g{i="d"} NaN"#])
        #expect(try await eval("sort_desc(g)") == [#"g{i="a"} 3"#, #"g{i="c"} 2"#, #"g{i="b"} 1"#, #"g{i="d"} NaN"#])
        #expect(try await eval("topk(0, g)") == [])
        #expect(await evalError("topk(Inf, g)", at: 0, Self.source)?.message == "Scalar value +Inf overflows int64")
    }

    @Test func countValues() async throws {
        #expect(try await eval(#"count_values("v", req)"#) == [#"{v="10"} 1"#, #"{v="2"} 1"#, #"{v="30"} 1"#])
        #expect(try await eval(#"count_values by (job) ("v", info)"#) == [#"{job="api", v="1"} 1"#, #"{job="web", v="1"} 1"#])
        #expect(try await eval(#"count_values("v", g * 1e21)"#).contains(#"{v="3000000000000000000000"} 1"#))
        #expect(await evalError(#"count_values("1x", req)"#, at: 0, Self.source)?.message == #"invalid label name "1x""#)
    }
}
