import Testing
@testable import PromQL

/// `SeriesData.steps`: exact step functions, worked out by hand.
@Suite struct StepSeriesTests {
    /// a: 10 from 0, 13 from 1m, 20 from 3m (a point at 5m repeats 20). b: 4 from 2m, 6 from 4m.
    let source = MemorySeriesSource([
        stepped(#"c{job="a"}"#, [(0, 10), (60_000, 13), (180_000, 20), (300_000, 20)]),
        stepped(#"c{job="b"}"#, [(120_000, 4), (240_000, 6)]),
    ])

    @Test func instantValueIsNeverStaleAndAbsentBeforeTheFirstPoint() async throws {
        #expect(render(try await evalInstant("c", at: 250_000, source)) == [#"c{job="a"} 20"#, #"c{job="b"} 6"#])
        #expect(render(try await evalInstant("c", at: 100_000, source)) == [#"c{job="a"} 13"#])
        #expect(render(try await evalInstant("c", at: 86_400_000, source)) == [#"c{job="a"} 20"#, #"c{job="b"} 6"#])
        #expect(render(try await evalInstant("c", at: -1, source)) == [])
        #expect(render(try await evalInstant("c offset 3m", at: 250_000, source)) == [#"c{job="a"} 13"#])
    }

    @Test func increaseIsExact() async throws {
        // a: 20 - 13; b did not exist at 80 s, so its start value is 0.
        #expect(render(try await evalInstant("increase(c[2m])", at: 200_000, source)) == [#"{job="a"} 7"#, #"{job="b"} 4"#])
        #expect(render(try await evalInstant("delta(c[2m])", at: 200_000, source)) == [#"{job="a"} 7"#, #"{job="b"} 4"#])
        #expect(
            render(try await evalInstant("rate(c[2m])", at: 200_000, source))
                == [#"{job="a"} \#(GoText.formatFloat(7.0 / 120))"#, #"{job="b"} \#(GoText.formatFloat(4.0 / 120))"#])
        // b does not exist yet at 100 s: no element.
        #expect(render(try await evalInstant("increase(c[2m])", at: 100_000, source)) == [#"{job="a"} 13"#])
        #expect(
            render(try await evalRange("increase(c[1m])", start: 0, end: 300_000, step: 60_000, source)) == [
                #"{job="a"} 10@0 3@60 0@120 7@180 0@240 0@300"#, #"{job="b"} 4@120 0@180 2@240 0@300"#,
            ])
    }

    @Test func otherRangeFunctionsSeeOneSamplePerMinute() async throws {
        // At 200 s over 3m: samples at 200, 140, 80 s (b only from 120 s on).
        #expect(render(try await evalInstant("count_over_time(c[3m])", at: 200_000, source)) == [#"{job="a"} 3"#, #"{job="b"} 2"#])
        #expect(render(try await evalInstant("max_over_time(c[3m])", at: 200_000, source)) == [#"{job="a"} 20"#, #"{job="b"} 4"#])
        #expect(render(try await evalInstant("min_over_time(c[3m])", at: 200_000, source)) == [#"{job="a"} 13"#, #"{job="b"} 4"#])
        #expect(
            render(try await evalInstant("irate(c[3m])", at: 200_000, source))
                == [#"{job="a"} \#(GoText.formatFloat(7.0 / 60))"#, #"{job="b"} 0"#])
        // (t - r, t] is open on the left: at 300 s over 5m, 300 … 60 s, not 0 s.
        #expect(render(try await evalInstant("changes(c[5m])", at: 300_000, source)) == [#"{job="a"} 1"#, #"{job="b"} 1"#])
        #expect(render(try await evalInstant(#"c{job="a"}[3m]"#, at: 200_000, source)) == [#"c{job="a"} 13@80 13@140 20@200"#])
        #expect(render(try await evalInstant("last_over_time(c[30s])", at: 200_000, source)) == [#"c{job="a"} 20"#, #"c{job="b"} 4"#])
        #expect(render(try await evalInstant("absent_over_time(c[1m])", at: -1, source)) == ["{} 1"])
    }

    @Test func timestampIsTheEvaluationTime() async throws {
        #expect(render(try await evalInstant("timestamp(c)", at: 250_000, source)) == [#"{job="a"} 250"#, #"{job="b"} 250"#])
        #expect(render(try await evalInstant("timestamp(c offset 1m)", at: 250_000, source)) == [#"{job="a"} 190"#, #"{job="b"} 190"#])
        #expect(render(try await evalInstant("timestamp(c @ 100)", at: 250_000, source)) == [#"{job="a"} 100"#])
    }

    @Test func subqueriesAndAggregations() async throws {
        // Inner steps at 120 and 180 s (aligned to the minute).
        #expect(render(try await evalInstant("max_over_time(c[2m:1m])", at: 200_000, source)) == [#"{job="a"} 20"#, #"{job="b"} 4"#])
        #expect(render(try await evalInstant("sum(c)", at: 250_000, source)) == ["{} 26"])
        #expect(
            render(try await evalRange("sum(increase(c[2m]))", start: 60_000, end: 240_000, step: 60_000, source))
                == ["{} 13@60 7@120 11@180 9@240"])
    }

    @Test func mixedWithSampledSeries() async throws {
        let mixed = MemorySeriesSource(source.series + [sampled(#"c{job="s"}"#, every: 60_000, [1, 2, 3, 4, 5, 6])])
        // The sampled series goes stale 5m after its last sample (5m); the step series never.
        #expect(render(try await evalInstant("count(c)", at: minutes(10), mixed)) == ["{} 3"])
        #expect(render(try await evalInstant("count(c)", at: minutes(10) + 1, mixed)) == ["{} 2"])
    }
}
