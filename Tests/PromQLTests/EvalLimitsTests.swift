import Foundation
import Testing
@testable import PromQL

/// `QueryLimits`, cancellation and source errors.
@Suite struct EvalLimitsTests {
    /// 20 series sampled each minute for 2 hours.
    static let source = MemorySeriesSource((0..<20).map { i in
        sampled(#"m{i="\#(i)"}"#, every: 60_000, (0...120).map { Double($0 + i) })
    })

    @Test func tooManySamples() async throws {
        let limits = QueryLimits(maxSamples: 1_000)
        // 20 series × 61 steps = 1,220 points.
        do {
            _ = try await evalRange("m", start: 0, end: minutes(60), step: 60_000, Self.source, limits: limits)
            Issue.record("expected the sample limit")
        } catch let error as QueryError {
            #expect(error.kind == .limit)
            #expect(error.message == "query processing would load too many samples into memory in query execution")
        }
        // 20 × 31 = 620 points fit; so do 20 windows of 31 samples at one step.
        _ = try await evalRange("m", start: 0, end: minutes(30), step: 60_000, Self.source, limits: limits)
        _ = try await evalInstant("rate(m[30m])", at: minutes(60), Self.source, limits: limits)
        // A window of 61 samples per series, 20 series, one step: fine one at a time; but all of them held at once is not.
        _ = try await evalInstant("rate(m[1h])", at: minutes(60), Self.source, limits: limits)
        #expect(await evalError("m[1h]", at: minutes(60), Self.source, limits: limits)?.kind == .limit)
        #expect(await evalError("max_over_time(m[2h:1m])", at: minutes(120), Self.source, limits: limits)?.kind == .limit)
    }

    @Test func heldSamplesAreReleased() async throws {
        // Each operand fits alone, and each step's output replaces its inputs.
        let limits = QueryLimits(maxSamples: 3_000)
        let value = try await evalRange("sum(m) + sum(m) + sum(m)", start: 0, end: minutes(60), step: 60_000, Self.source, limits: limits)
        #expect(render(value).count == 1)
    }

    @Test func tooManySeries() async throws {
        let error = await evalError("m", at: 0, Self.source, limits: QueryLimits(maxSeriesPerSelector: 10))
        #expect(error?.kind == .limit)
        #expect(error?.message == #"the selector {__name__="m"} matches 20 series, over the limit of 10"#)
    }

    @Test func tooManySubquerySteps() async throws {
        let error = await evalError("max_over_time(m[4h:1s])", at: minutes(120), Self.source)
        #expect(error?.kind == .limit)
        #expect(error?.message.hasPrefix("exceeded maximum resolution of 11,000 points per timeseries") == true)
        let limited = await evalError("max_over_time(m[10m:1m])", at: minutes(120), Self.source, limits: QueryLimits(maxSteps: 5))
        #expect(limited?.message.hasPrefix("exceeded maximum resolution of 5 points") == true)
        _ = try await evalInstant("max_over_time(m[5m:1m])", at: minutes(120), Self.source, limits: QueryLimits(maxSteps: 5))
    }

    @Test func sourceErrorsAreReported() async throws {
        let error = await evalError("sum(rate(m[5m]))", at: 0, FailingSource())
        #expect(error?.kind == .source)
        #expect(error?.message == "database unreachable")
    }

    /// A source that cancels the query's task while it is being asked: the evaluator notices.
    @Test func cancellationDuringTheSourceCall() async throws {
        let task = Task { () -> QueryError? in
            await evalError("sum(m) + sum(m)", at: minutes(10), CancellingSource(inner: Self.source))
        }
        let error = await task.value
        #expect(error?.kind == .canceled)
        #expect(error?.message == "query was canceled in query execution")
    }

    /// A query cancelled while it runs stops at the next node, series or step.
    @Test func cancellationDuringEvaluation() async throws {
        let big = MemorySeriesSource((0..<200).map { i in sampled(#"m{i="\#(i)"}"#, every: 60_000, (0...1440).map { Double($0 * i) }) })
        let task = Task { () -> QueryError? in
            do {
                _ = try await evalRange(
                    "sum by (i) (rate(m[5m])) * on(i) group_left sum by (i) (m)", start: 0, end: minutes(1440), step: 15_000, big)
                return nil
            } catch let error as QueryError {
                return error
            } catch {
                return QueryError(.execution, "\(error)")
            }
        }
        // Cancelled from outside the cooperative pool: the query keeps a pool thread busy, and a
        // sleeping test task might not get the other one back in time.
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { task.cancel() }
        let error = await task.value
        #expect(error?.kind == .canceled)
    }

    /// 720 steps over 1,000 series, in a debug build: under a second each, in CPU time of the
    /// evaluating thread (other tests run beside this one and would distort wall-clock time).
    @Test func rangeQueryOverManySeriesIsFast() async throws {
        let sampledSeries = (0..<1_000).map { i in
            sampled(#"requests_total{job="j\#(i % 10)", instance="\#(i)"}"#, every: 60_000, (0...730).map { Double($0 * (i % 7 + 1)) })
        }
        let stepSeries = (0..<1_000).map { i in
            stepped(#"events_total{team="t\#(i % 10)", instance="\#(i)"}"#, (0...730).map { (Timestamp($0) * 60_000, Double($0 * (i % 5))) })
        }
        let source = MemorySeriesSource(sampledSeries + stepSeries)
        for query in [
            "sum by (job) (rate(requests_total[5m]))", "sum by (team) (increase(events_total[1h]))",
            "requests_total / on(job, instance) group_left requests_total offset 1m",
            "topk(5, requests_total)",
        ] {
            let thread = pthread_self()
            let started = threadCPUSeconds()
            let value = try await evalRange(query, start: minutes(10), end: minutes(10 + 719), step: 60_000, source)
            let elapsed = threadCPUSeconds() - started
            #expect(!render(value).isEmpty)
            // The evaluation does not suspend on a memory source, so it stays on its thread.
            if pthread_equal(thread, pthread_self()) != 0 {
                #expect(elapsed < 1, "\(query) took \(elapsed) s")
            }
        }
    }
}

struct FailingSource: SeriesSource {
    struct Unreachable: Error, CustomStringConvertible {
        var description: String { "database unreachable" }
    }

    func select(_ request: SelectRequest) async throws -> [SourceSeries] { throw Unreachable() }
}

/// Cancels the task it is called from, then answers.
struct CancellingSource: SeriesSource {
    let inner: MemorySeriesSource

    func select(_ request: SelectRequest) async throws -> [SourceSeries] {
        withUnsafeCurrentTask { $0?.cancel() }
        return try await inner.select(request)
    }
}

/// CPU time of the calling thread.
func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}
