import Testing
@testable import PromQL

/// Functions on small inputs worked out by hand.
@Suite struct EvalFunctionTests {
    /// A counter scraped every 15 s from 0 to 2m: 0, 10, …, 80, reset to 5 at 90 s, then 15, 25, 35.
    static let source = MemorySeriesSource([
        sampled(#"c{job="a"}"#, [0, 10, 20, 30, 40, 50, 5, 15, 25]),
        sampled(#"x{host="h1:80"}"#, [-2.5]),
        sampled(#"x{host="h2:90"}"#, [1.5]),
        sampled(#"le_bucket{le="1"}"#, [2]),
        sampled(#"le_bucket{le="2"}"#, [6]),
        sampled(#"le_bucket{le="+Inf"}"#, [10]),
    ])

    func eval(_ query: String, at time: Timestamp = 120_000) async throws -> [String] {
        render(try await evalInstant(query, at: time, Self.source))
    }

    @Test func counters() async throws {
        // Over [0, 2m]: 9 samples from 0 s to 120 s, increase 25 + 50 (the reset adds the value before it).
        // The first sample is at the window's start and the last at its end: no extrapolation.
        #expect(try await eval("increase(c[2m])") == [#"{job="a"} 75"#])
        #expect(try await eval("rate(c[2m])") == [#"{job="a"} 0.625"#])
        #expect(try await eval("resets(c[2m])") == [#"{job="a"} 1"#])
        #expect(try await eval("changes(c[2m])") == [#"{job="a"} 8"#])
        #expect(try await eval("irate(c[1m])") == [#"{job="a"} \#(GoText.formatFloat(10.0 / 15))"#])
        #expect(try await eval("idelta(c[1m])") == [#"{job="a"} 10"#])
        // delta does not know resets: 25 - 0.
        #expect(try await eval("delta(c[2m])") == [#"{job="a"} 25"#])
        // A window of one sample has no rate.
        #expect(try await eval("rate(c[10s])") == [])
    }

    @Test func extrapolation() async throws {
        // A 100 s window at 120 s holds 20@30 s … 25@120 s: 25 - 20, plus 50 at the reset, is 55
        // over 90 s. The first sample is 10 s from the window's start (less than 1.1 × the 15 s
        // spacing), so the increase is extrapolated over those 10 s too: 55 × 100 / 90.
        #expect(try await eval("increase(c[100s])") == [#"{job="a"} \#(GoText.formatFloat(55 * 100 / 90.0))"#])
    }

    @Test func overTime() async throws {
        #expect(try await eval("sum_over_time(c[30s])") == [#"{job="a"} 45"#])
        #expect(try await eval("avg_over_time(c[30s])") == [#"{job="a"} 15"#])
        #expect(try await eval("max_over_time(c[2m])") == [#"{job="a"} 50"#])
        #expect(try await eval("min_over_time(c[1m])") == [#"{job="a"} 5"#])
        #expect(try await eval("count_over_time(c[2m])") == [#"{job="a"} 9"#])
        #expect(try await eval("last_over_time(c[2m])") == [#"c{job="a"} 25"#])
        #expect(try await eval("quantile_over_time(0.5, c[2m])") == [#"{job="a"} 20"#])
        #expect(try await eval("present_over_time(c[2m])") == [#"{job="a"} 1"#])
        #expect(try await eval("stdvar_over_time(c[30s])") == [#"{job="a"} \#(GoText.formatFloat(200.0 / 3))"#])
        #expect(try await eval(#"absent_over_time(c{job="b", x=~"y"}[1m])"#) == [#"{job="b"} 1"#])
        #expect(try await eval("absent_over_time(c[1m])") == [])
    }

    @Test func regressions() async throws {
        // Perfectly linear over [0, 75 s]: 10 per 15 s.
        #expect(try await eval("deriv(c[75s])", at: 75_000) == [#"{job="a"} \#(GoText.formatFloat(10.0 / 15))"#])
        #expect(try await eval("predict_linear(c[75s], 30)", at: 75_000) == [#"{job="a"} 70"#])
        #expect(await evalError("holt_winters(c[1m], 0, 0.5)", at: 120_000, Self.source)?.message
            == "invalid smoothing factor. Expected: 0 < sf < 1, got: 0.000000")
    }

    @Test func elementFunctions() async throws {
        #expect(try await eval("abs(x)") == [#"{host="h1:80"} 2.5"#, #"{host="h2:90"} 1.5"#])
        #expect(try await eval("ceil(x)") == [#"{host="h1:80"} -2"#, #"{host="h2:90"} 2"#])
        #expect(try await eval("floor(x)") == [#"{host="h1:80"} -3"#, #"{host="h2:90"} 1"#])
        // Ties round up.
        #expect(try await eval("round(x)") == [#"{host="h1:80"} -2"#, #"{host="h2:90"} 2"#])
        #expect(try await eval("round(x, 2)") == [#"{host="h1:80"} -2"#, #"{host="h2:90"} 2"#])
        #expect(try await eval("sgn(x)") == [#"{host="h1:80"} -1"#, #"{host="h2:90"} 1"#])
        #expect(try await eval("clamp(x, -1, 1)") == [#"{host="h1:80"} -1"#, #"{host="h2:90"} 1"#])
        #expect(try await eval("clamp(x, 1, -1)") == [])
        #expect(try await eval("clamp_min(x, 0)") == [#"{host="h1:80"} 0"#, #"{host="h2:90"} 1.5"#])
        #expect(try await eval("clamp_max(x, 0)") == [#"{host="h1:80"} -2.5"#, #"{host="h2:90"} 0"#])
        #expect(try await eval("scalar(x)") == ["scalar NaN"])
        #expect(try await eval(#"scalar(x{host="h2:90"})"#) == ["scalar 1.5"])
        #expect(try await eval("vector(pi())") == ["{} \(GoText.formatFloat(Double.pi))"])
        #expect(try await eval("timestamp(c)") == [#"{job="a"} 120"#])
        #expect(try await eval("timestamp(c)", at: 125_000) == [#"{job="a"} 120"#])
        #expect(try await eval("timestamp(c + 0)", at: 125_000) == [#"{job="a"} 125"#])
    }

    @Test func calendar() async throws {
        // 2024-02-29T13:45:00Z is 1709214300.
        let leapDay = "vector(1709214300)"
        #expect(try await eval("year(\(leapDay))") == ["{} 2024"])
        #expect(try await eval("month(\(leapDay))") == ["{} 2"])
        #expect(try await eval("day_of_month(\(leapDay))") == ["{} 29"])
        #expect(try await eval("day_of_week(\(leapDay))") == ["{} 4"])
        #expect(try await eval("day_of_year(\(leapDay))") == ["{} 60"])
        #expect(try await eval("days_in_month(\(leapDay))") == ["{} 29"])
        #expect(try await eval("hour(\(leapDay))") == ["{} 13"])
        #expect(try await eval("minute(\(leapDay))") == ["{} 45"])
        // Without an argument: of the evaluation time (1970-01-01T00:02:00Z, a Thursday).
        #expect(try await eval("minute()") == ["{} 2"])
        #expect(try await eval("day_of_week()") == ["{} 4"])
        #expect(try await eval("year(vector(-1))") == ["{} 1969"])
    }

    @Test func labelFunctions() async throws {
        #expect(try await eval(#"label_replace(x, "port", "$2", "host", "(.*):(.*)")"#) == [
            #"x{host="h1:80", port="80"} -2.5"#, #"x{host="h2:90", port="90"} 1.5"#,
        ])
        #expect(try await eval(#"label_replace(x, "h", "${name}-$$-$9", "host", "(?P<name>h.):.*")"#) == [
            #"x{h="h1-$-", host="h1:80"} -2.5"#, #"x{h="h2-$-", host="h2:90"} 1.5"#,
        ])
        // No match: unchanged; an empty result removes the label.
        #expect(try await eval(#"label_replace(x, "host", "", "host", "h1.*")"#) == [#"x -2.5"#, #"x{host="h2:90"} 1.5"#])
        #expect(try await eval(#"label_join(x, "j", "+", "host", "__name__")"#) == [
            #"x{host="h1:80", j="h1:80+x"} -2.5"#, #"x{host="h2:90", j="h2:90+x"} 1.5"#,
        ])
        #expect(await evalError(#"label_replace(x, "host", "a", "host", ".*")"#, at: 0, Self.source)?.message
            == "vector cannot contain metrics with the same labelset")
        #expect(await evalError(#"label_replace(x, "a-b", "a", "host", ".*")"#, at: 0, Self.source)?.message
            == "invalid destination label name in label_replace(): a-b")
    }

    @Test func absent() async throws {
        #expect(try await eval(#"absent(nope{job="a", env=~"p.*", code="1", code="2"})"#) == [#"{job="a"} 1"#])
        #expect(try await eval("absent(c)") == [])
        #expect(try await eval("absent(sum(nope))") == ["{} 1"])
    }

    @Test func histogramQuantile() async throws {
        // 10 observations: 2 ≤ 1, 4 in (1, 2], 4 above. The median is rank 5: 3 of 4 into (1, 2].
        #expect(try await eval("histogram_quantile(0.5, le_bucket)") == ["{} 1.75"])
        // Above the last finite bound: that bound.
        #expect(try await eval("histogram_quantile(0.9, le_bucket)") == ["{} 2"])
        #expect(try await eval("histogram_quantile(0.1, le_bucket)") == ["{} 0.5"])
        #expect(try await eval("histogram_count(le_bucket)") == [])
    }
}
