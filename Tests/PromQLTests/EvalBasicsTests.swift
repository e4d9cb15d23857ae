import Testing
@testable import PromQL

/// Selectors, literals, offsets, `@`, lookback and staleness on sampled series, with results
/// worked out by hand.
@Suite struct EvalBasicsTests {
    /// Two gauges sampled each minute from t = 0 to 10m; `b` stops after 3m.
    let source = MemorySeriesSource([
        sampled(#"g{job="a"}"#, every: 60_000, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        sampled(#"g{job="b"}"#, every: 60_000, [10, 20, 30, 40]),
    ])

    @Test func literals() async throws {
        #expect(render(try await evalInstant("1 + 2 * 3", at: 0, source)) == ["scalar 7"])
        #expect(render(try await evalInstant(#""text""#, at: 0, source)) == ["string text"])
        #expect(render(try await evalInstant("-(2 ^ 2)", at: 0, source)) == ["scalar -4"])
        #expect(render(try await evalInstant("time()", at: 90_000, source)) == ["scalar 90"])
        #expect(render(try await evalRange("time()", start: 0, end: 120_000, step: 60_000, source)) == ["{} 0@0 60@60 120@120"])
    }

    @Test func instantSelectorLooksBackFiveMinutes() async throws {
        #expect(render(try await evalInstant("g", at: minutes(2.5), source)) == [#"g{job="a"} 2"#, #"g{job="b"} 30"#])
        // b's last sample (3m) is 5m old at 8m, gone after.
        #expect(render(try await evalInstant("g", at: minutes(8), source)) == [#"g{job="a"} 8"#, #"g{job="b"} 40"#])
        #expect(render(try await evalInstant("g", at: minutes(8) + 1, source)) == [#"g{job="a"} 8"#])
        #expect(render(try await evalInstant("g", at: -1, source)) == [])
    }

    @Test func offsetAndAt() async throws {
        #expect(render(try await evalInstant(#"g{job="a"} offset 2m"#, at: minutes(5), source)) == [#"g{job="a"} 3"#])
        #expect(render(try await evalInstant(#"g{job="a"} offset -2m"#, at: minutes(5), source)) == [#"g{job="a"} 7"#])
        #expect(render(try await evalInstant(#"g{job="a"} @ 120"#, at: minutes(9), source)) == [#"g{job="a"} 2"#])
        #expect(render(try await evalInstant(#"g{job="a"} @ 180 offset 1m"#, at: minutes(9), source)) == [#"g{job="a"} 2"#])
        #expect(
            render(try await evalRange(#"g{job="a"} @ start()"#, start: minutes(4), end: minutes(6), step: 60_000, source))
                == [#"g{job="a"} 4@240 4@300 4@360"#])
        #expect(
            render(try await evalRange(#"g{job="a"} @ end()"#, start: minutes(4), end: minutes(6), step: 60_000, source))
                == [#"g{job="a"} 6@240 6@300 6@360"#])
    }

    @Test func staleMarkerEndsASeries() async throws {
        let stale = Double(bitPattern: staleNaNBits)
        let source = MemorySeriesSource([sampled("s", every: 60_000, [1, 2, stale, 4])])
        #expect(render(try await evalInstant("s", at: minutes(1.5), source)) == ["s 2"])
        #expect(render(try await evalInstant("s", at: minutes(2.5), source)) == [])
        #expect(render(try await evalInstant("s", at: minutes(3), source)) == ["s 4"])
        // Range functions skip the marker.
        #expect(render(try await evalInstant("count_over_time(s[5m])", at: minutes(3), source)) == ["{} 3"])
    }

    @Test func rangeSelectorInAnInstantQuery() async throws {
        // [2m, 4m] closed at both ends, as Prometheus 2.42.
        #expect(render(try await evalInstant(#"g{job="a"}[2m]"#, at: minutes(4), source)) == [#"g{job="a"} 2@120 3@180 4@240"#])
    }

    @Test func rangeQueryDropsMissingStepsAndSortsSeries() async throws {
        let value = try await evalRange("g", start: minutes(6), end: minutes(9), step: 60_000, source)
        #expect(render(value) == [#"g{job="a"} 6@360 7@420 8@480 9@540"#, #"g{job="b"} 40@360 40@420 40@480"#])
    }

    @Test func unaryMinusDropsTheName() async throws {
        #expect(render(try await evalInstant(#"-g{job="a"}"#, at: minutes(3), source)) == [#"{job="a"} -3"#])
    }

    @Test func rangeQueryArgumentErrors() async throws {
        let expr = try PromQLParser.parse("g[5m]")
        await #expect(throws: QueryError.self) {
            try await QueryEngine().range(expr, start: 0, end: 60_000, step: 15_000, source: source)
        }
        do {
            _ = try await evalRange("g", start: 0, end: 11_001 * 1000, step: 1000, source)
            Issue.record("expected the resolution limit")
        } catch let error as QueryError {
            #expect(error.kind == .limit)
            #expect(error.message == "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
        }
        // 11,000 intervals are 11,001 points: allowed, as in Prometheus.
        _ = try await evalRange("g", start: 0, end: 11_000 * 1000, step: 1000, source)
    }
}
