import Foundation
import Shared

/// What the leaf spent over one window.
struct WindowResult: Sendable {
    var scrapes: Int
    var failures: Int
    var cpuSeconds: Double
    var threadSeconds: Double?

    var cpuMillisecondsPerScrape: Double { scrapes > 0 ? cpuSeconds * 1000 / Double(scrapes) : .nan }
    var threadMillisecondsPerScrape: Double? { threadSeconds.map { scrapes > 0 ? $0 * 1000 / Double(scrapes) : .nan } }
}

struct ModeResult: Sendable {
    var mode: ScrapeMode
    var windows: [WindowResult]
    var residentBytes: Int
}

/// Runs one real leaf against the fleet in one mode and measures its CPU per scrape, window by
/// window: the leaf's own counters give the scrapes, /proc the CPU.
struct LeafMeasurement: Sendable {
    var leafExecutable: String
    var interval: Duration
    var windows: Int
    var window: Duration
    var fetcher: HTTPFetcher

    func run(mode: ScrapeMode, fleet: TargetFleet, addresses: [String]) async throws -> ModeResult {
        fleet.setMode(mode)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("leaf.yml")
        try LeafConfigFile(interval: interval, addresses: addresses).text.write(to: config, atomically: true, encoding: .utf8)

        let arguments = [
            "--config", config.path, "--listen", "127.0.0.1:0", "--data-dir", directory.appendingPathComponent("data").path, "--log-level", "info",
        ]
        return try await LeafProcess.withLeaf(
            executable: leafExecutable, arguments: arguments, logPath: directory.appendingPathComponent("leaf.log").path
        ) { leaf in
            let port = try await leaf.listeningPort(within: .seconds(30))
            let client = LeafClient(base: "http://127.0.0.1:\(port)", fetcher: fetcher)
            try await client.waitUntilUp(count: addresses.count, within: .seconds(30) + interval * 2)
            // Every target is past its first scrape (which always decodes) and the allocator has
            // grown to its working size: what follows is the leaf's steady state.
            try await Task.sleep(for: interval * 2 + .seconds(1))
            let windows = try await measure(leaf: leaf, client: client)
            guard !leaf.hasExited else { throw BenchError("the leaf exited during the measurement:\n\(leaf.logTail)") }
            return ModeResult(mode: mode, windows: windows, residentBytes: try ProcStats(pid: leaf.pid).residentBytes())
        }
    }

    /// Windows back to back: each reading ends one window and starts the next, so one `/metrics`
    /// request (itself a little CPU) falls in every window.
    private func measure(leaf: ChildProgram, client: LeafClient) async throws -> [WindowResult] {
        let stats = ProcStats(pid: leaf.pid)
        func reading() async throws -> (LeafClient.ScrapeCounts, Double, UInt64?) {
            let counts = try await client.scrapeCounts()
            return (counts, try stats.cpuSeconds(), stats.threadRunNanoseconds())
        }
        var previous = try await reading()
        var results: [WindowResult] = []
        for _ in 0..<windows {
            try await Task.sleep(for: window)
            let next = try await reading()
            let threadSeconds: Double? =
                if let before = previous.2, let after = next.2, after >= before { Double(after - before) / 1e9 } else { nil }
            results.append(
                WindowResult(
                    scrapes: next.0.scrapes - previous.0.scrapes, failures: next.0.failures - previous.0.failures,
                    cpuSeconds: next.1 - previous.1, threadSeconds: threadSeconds))
            previous = next
        }
        return results
    }
}

/// A leaf config with one service whose instances are the simulated targets.
struct LeafConfigFile {
    var interval: Duration
    var addresses: [String]

    var text: String {
        let interval = DurationParser.format(interval)
        return """
            global:
              scrape_interval: \(interval)
              scrape_timeout: \(interval)
              external_labels: {team: bench}
            services:
            - name: checkout
              scraper: {endpoint: /-/exceptions}
              static_configs:
              - targets: [\(addresses.map { "\"\($0)\"" }.joined(separator: ", "))]

            """
    }
}
