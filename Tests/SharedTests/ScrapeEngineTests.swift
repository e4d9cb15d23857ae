import Foundation
import NIOCore
import Synchronization
import Testing

@testable import Shared

/// The pieces the scrape engine is built from: bounded concurrency, prompt stopping, spreading
/// targets over the interval, and the counting rule.
@Suite struct ScrapeEngineTests {
    @Test func limiterNeverRunsMoreThanItsLimit() async {
        let limiter = ConcurrencyLimiter(limit: 3)
        let counts = Box((running: 0, peak: 0, done: 0))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    _ = await limiter.withPermit {
                        counts.value.withLock { $0.running += 1; $0.peak = max($0.peak, $0.running) }
                        try? await Task.sleep(for: .milliseconds(10))
                        counts.value.withLock { $0.running -= 1; $0.done += 1 }
                    }
                }
            }
        }
        #expect(counts.value.withLock { $0.peak } == 3)
        #expect(counts.value.withLock { $0.done } == 20)
    }

    @Test func cancelledWaiterGivesUpItsPlace() async {
        let limiter = ConcurrencyLimiter(limit: 1)
        let stop = StopSignal()
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await limiter.withPermit { await stop.wait() } != nil }
            try? await Task.sleep(for: .milliseconds(20))
            let waiter = Task { await limiter.withPermit { true } }
            waiter.cancel()
            #expect(await waiter.value == nil)
            stop.stop()
            #expect(await group.next() == true)
        }
        #expect(await limiter.withPermit { 1 } == 1)
    }

    @Test func stopEndsASleepAtOnce() async {
        let stop = StopSignal()
        let started = ContinuousClock.now
        async let slept = stop.sleep(until: .now + .seconds(30))
        try? await Task.sleep(for: .milliseconds(20))
        stop.stop()
        #expect(await slept == false)
        // Well before the 30 s it was asked to sleep, even on a busy machine.
        #expect(ContinuousClock.now - started < .seconds(20))
        #expect(await stop.sleep(until: .now + .seconds(30)) == false)
    }

    @Test func mailboxKeepsOnlyTheNewestValue() async {
        let mailbox = Mailbox<Int>()
        mailbox.send(1)
        mailbox.send(2)
        #expect(await mailbox.take() == 2)
        async let next = mailbox.take()
        try? await Task.sleep(for: .milliseconds(10))
        mailbox.send(3)
        #expect(await next == 3)
    }

    @Test func targetsAreSpreadOverTheIntervalAtStableOffsets() {
        let interval = Duration.seconds(15)
        let offsets = (0..<200).map { ScrapeManager<NoConsumer>.offset(of: TargetKey(service: "api", url: "http://10.0.0.\($0):8080/-/exceptions"), interval: interval) }
        #expect(offsets.allSatisfy { $0 >= .zero && $0 < interval })
        // Spread: every third of the interval gets a fair share of 200 targets.
        for third in 0..<3 {
            let low = interval * third / 3
            let high = interval * (third + 1) / 3
            #expect(offsets.filter { $0 >= low && $0 < high }.count > 40)
        }
        let again = ScrapeManager<NoConsumer>.offset(of: TargetKey(service: "api", url: "http://10.0.0.7:8080/-/exceptions"), interval: interval)
        #expect(again == offsets[7])
    }

    @Test func durationsAndSizesParseAsPrometheusWritesThem() throws {
        #expect(try DurationParser.parse("1m30s") == .seconds(90))
        #expect(try DurationParser.parse("500ms") == .milliseconds(500))
        #expect(try DurationParser.parse("1.5s") == .milliseconds(1500))
        #expect(try DurationParser.parse("2d") == .seconds(172_800))
        #expect(throws: DurationParser.Failure.self) { try DurationParser.parse("soon") }
        #expect(throws: DurationParser.Failure.self) { try DurationParser.parse("10") }
        #expect(DurationParser.format(.milliseconds(90_250)) == "1m30s250ms")
        #expect(try ByteSizeParser.parse("10MB") == 10 << 20)
        #expect(try ByteSizeParser.parse("512KiB") == 512 << 10)
        #expect(try ByteSizeParser.parse("1048576") == 1 << 20)
        #expect(throws: ByteSizeParser.Failure.self) { try ByteSizeParser.parse("lots") }
    }
}

final class Box<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
}

struct NoConsumer: ScrapeConsumer {
    func decode(_ body: ByteBuffer, from target: ScrapeTarget) throws(ScrapeFailure) -> Int { body.readableBytes }
    func consume(_ payload: Int, from target: ScrapeTarget, at time: Date) async throws(ScrapeFailure) {}
}
