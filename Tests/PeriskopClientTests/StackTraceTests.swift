import Foundation
import Periskop
import Synchronization
import Testing

/// The samples' stack traces name functions (Swift's `Runtime` module), and the keys made from
/// them hash no address, so they are the same in every run of one build.
@Suite struct StackTraceTests {
    @Test func sampleStackNamesTheReportingFunctionAndItsLine() throws {
        let collector = ExceptionCollector()
        let line = #line + 1
        collector.report(DiskFull())
        let stack = try #require(collector.payload().aggregatedErrors.first?.latestErrors.first?.error.stacktrace)
        let top = try #require(stack.first)
        #expect(top.contains("StackTraceTests.sampleStackNamesTheReportingFunctionAndItsLine() in "), "\(stack)")
        #expect(top.hasSuffix("/StackTraceTests.swift:\(line)"), "\(top)")
        // The collector's frames are skipped; no frame shows an absolute address (ASLR).
        #expect(!stack.contains { $0.contains("ExceptionCollector") || $0.contains("AggregationKey") || $0.contains("Backtrace") })
        #expect(!stack.contains { $0.contains(/0x[0-9a-f]{9,}/) }, "\(stack)")
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
        for _ in 0..<3 { reportFromTwoLines(collector, Timeout()) }
        reportFromSiteA(collector, Timeout())
        let payload = collector.payload()
        #expect(payload.aggregatedErrors.map(\.totalCount) == [6, 1])
        let group = payload.aggregatedErrors[0]
        let lines = Set(group.latestErrors.compactMap(\.error.stacktrace.first))
        #expect(lines.count == 2, "the samples show both lines: \(lines)")
        for sample in group.latestErrors {
            let frames = sample.error.stacktrace.prefix(4).map(withoutLocation)
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
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        child.arguments = ["--testing-library", "swift-testing", "--filter", "StackTraceTests/keyIsTheSameInAnotherRun"]
        child.environment = ProcessInfo.processInfo.environment.merging([Self.probeOutput: file]) { $1 }
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        child.waitUntilExit()
        #expect(child.terminationStatus == 0)
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

/// A stack line without the ` at <file>:<line>` that debug information adds: the key's part.
func withoutLocation(_ line: String) -> String {
    guard let at = line.range(of: " at ", options: .backwards) else { return line }
    return String(line[..<at.lowerBound])
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
