import CanopyTestSupport
import Foundation
import Periskop
import Synchronization
import Testing

/// The samples' stack traces name functions (Swift's `Runtime` module), and the keys made from
/// them hash no address, so they are the same in every run of one build.
@Suite struct StackTraceTests {
    /// The first sample names the functions at once; file and line come a little later (from
    /// DWARF, on `StackLocator`'s thread), and do not change the key.
    @Test func sampleStackNamesTheReportingFunctionThenItsLine() throws {
        let collector = ExceptionCollector()
        let line = #line + 5
        var stacks: [[String]] = []
        // Reading DWARF line tables takes a while in a binary as large as the test runner's.
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            collector.report(DiskFull())
            stacks.append(try #require(collector.payload().aggregatedErrors.first?.latestErrors.last?.error.stacktrace))
            if stacks.last?.first?.contains(" at ") == true { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let first = try #require(stacks.first?.first)
        #expect(first.wholeMatch(of: /(specialized )?StackTraceTests\.sampleStackNamesTheReportingFunctionThenItsLine\(\) in [^ ]+/) != nil, "\(first)")
        let located = try #require(stacks.last?.first)
        #expect(located.hasPrefix(first + " at /") && located.hasSuffix("/StackTraceTests.swift:\(line)"), "\(located)")
        #expect(collector.payload().aggregatedErrors.count == 1, "one key before and after the lines arrive")
        for stack in [stacks[0], stacks[stacks.count - 1]] {
            // The collector's frames are skipped; no frame shows an absolute address (ASLR).
            #expect(!stack.contains { $0.contains("ExceptionCollector") || $0.contains("AggregationKey") || $0.contains("Backtrace") })
            #expect(!stack.contains { $0.contains(/0x[0-9a-f]{9,}/) }, "\(stack)")
        }
    }

    /// An `async` function's caller is the function awaiting it, not the executor running it.
    @Test func asyncCallersAreFrames() async throws {
        let collector = ExceptionCollector()
        await awaitingCaller(collector)
        let stack = try #require(collector.payload().aggregatedErrors.first?.latestErrors.first?.error.stacktrace)
        #expect(stack.count >= 3, "\(stack)")
        #expect(stack.first?.hasPrefix("asyncReporter(_:) in ") == true, "\(stack)")
        #expect(stack.dropFirst().first?.hasPrefix("awaitingCaller(_:) in ") == true, "\(stack)")
        #expect(stack.dropFirst(2).first?.contains("StackTraceTests.asyncCallersAreFrames() in ") == true, "\(stack)")
    }

    /// The key hashes each frame's line without ` at <file>:<line>`: reports from one call site
    /// share it; so do reports from two lines of one function (lines are not hashed), while
    /// another function is another key.
    @Test func keyHashesFunctionsNotLines() throws {
        let collector = ExceptionCollector()
        var lines: Set<String> = []
        var rounds = 0
        while lines.count < 2, rounds < 1_000 {  // until file and line have been looked up
            reportFromTwoLines(collector, Timeout())
            rounds += 1
            lines = Set(collector.payload().aggregatedErrors[0].latestErrors.suffix(2).compactMap(\.error.stacktrace.first))
            if lines.count < 2 { Thread.sleep(forTimeInterval: 0.01) }
        }
        #expect(lines.count == 2, "the samples show both lines: \(lines)")
        reportFromSiteA(collector, Timeout())
        let payload = collector.payload()
        #expect(payload.aggregatedErrors.map(\.totalCount) == [2 * rounds, 1])
        let group = payload.aggregatedErrors[0]
        for sample in group.latestErrors {
            let frames = keyFrames(of: sample.error.stacktrace)
            #expect(frames.first?.hasPrefix("reportFromTwoLines(_:_:) in ") == true, "\(frames)")
            #expect(AggregationKey.make(className: "PeriskopClientTests.Timeout", message: "Timeout()", frames: frames) == group.aggregationKey)
        }
    }

    /// The same call site in another process of the same build, where ASLR has put every image at
    /// other addresses, has the same key and the same stack text. The test binary runs this test
    /// again in a child process (SwiftPM's test runner on Linux).
    @Test(.enabled(if: StackTraceTests.canRunItself)) func keyIsTheSameInAnotherRun() throws {
        let collector = ExceptionCollector()
        probeSite(collector)
        let here = try #require(collector.payload().aggregatedErrors.first)
        let stack = Array(here.latestErrors[0].error.stacktrace.prefix(4))
        let output = ProcessInfo.processInfo.environment[Self.probeOutput]
        if let output {  // the child: say what this run found, and stop.
            let text = ([here.aggregationKey] + stack).joined(separator: "\n")
            try text.write(toFile: output, atomically: true, encoding: .utf8)
            return
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("periskop-key-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (status, _) = try ChildProcess.run(
            CommandLine.arguments[0], ["--testing-library", "swift-testing", "--filter", "StackTraceTests/keyIsTheSameInAnotherRun"],
            environment: [Self.probeOutput: file])
        #expect(status == 0)
        let there = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(there.first == here.aggregationKey)
        #expect(Array(there.dropFirst()) == stack)
        #expect(stack.first?.hasPrefix("probeInner(_:) in ") == true, "\(stack)")
    }

    static let probeOutput = "PERISKOP_TEST_KEY_PROBE_OUTPUT"

    /// Only under SwiftPM on Linux is the test binary itself the runner that `--filter` selects in.
    static var canRunItself: Bool {
        #if os(Linux)
        return CommandLine.arguments.first?.hasSuffix(".xctest") == true
        #else
        return false
        #endif
    }
}

/// Reports twice, from two lines.
@inline(never) func reportFromTwoLines(_ collector: ExceptionCollector, _ error: any Error) {
    collector.report(error)
    collector.report(error)
    keepFrame()
}

@inline(never) func asyncReporter(_ collector: ExceptionCollector) async {
    await Task.yield()
    collector.report(DiskFull())
    keepFrame()
}

@inline(never) func awaitingCaller(_ collector: ExceptionCollector) async {
    await asyncReporter(collector)
    keepFrame()
}

/// Three frames of the test's own, so that all four frames of the key are the test's.
@inline(never) func probeSite(_ collector: ExceptionCollector) {
    probeMiddle(collector)
    keepFrame()
}

@inline(never) func probeMiddle(_ collector: ExceptionCollector) {
    probeInner(collector)
    keepFrame()
}

@inline(never) func probeInner(_ collector: ExceptionCollector) {
    collector.report(DiskFull())
    keepFrame()
}
