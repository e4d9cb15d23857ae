import Foundation
import Shared

/// The release leaf scraping the fleet's Periskop bodies, alone, its targets from a file_sd file
/// (as an operator lists thousands of them).
struct LeafRun: Sendable {
    var executable: String
    var interval: Duration
    var fetcher: HTTPFetcher
    /// Whether a target still down once the wait is over is an error (side by side) or a finding
    /// to report (scale mode, where the leaf may fall behind).
    var requireAllUp: Bool

    func with<Result: Sendable>(
        targets: [String], directory: URL, _ body: (ChildProgram, LeafFleetClient) async throws -> Result
    ) async throws -> Result {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("leaf.yml")
        try configText.write(to: config, atomically: true, encoding: .utf8)
        let groups = [["targets": targets]]
        try JSONSerialization.data(withJSONObject: groups).write(to: directory.appendingPathComponent("targets.json"))
        let arguments = [
            "--config", config.path, "--listen", "127.0.0.1:0", "--data-dir", directory.appendingPathComponent("data").path, "--log-level", "info",
        ]
        return try await LeafProcess.withLeaf(
            executable: executable, arguments: arguments, logPath: directory.appendingPathComponent("leaf.log").path
        ) { leaf in
            let port = try await leaf.listeningPort(within: .seconds(30))
            let client = LeafFleetClient(base: "http://127.0.0.1:\(port)", fetcher: fetcher)
            // Scraped once each (the first scrape always decodes), then two more intervals: the steady state.
            try await client.waitUntilUp(count: targets.count, within: .seconds(30) + interval * 3, required: requireAllUp, leaf: leaf)
            try await Task.sleep(for: interval * 2 + .seconds(1))
            return try await body(leaf, client)
        }
    }

    var configText: String {
        """
        # Written by canopy-bench.
        global:
          scrape_interval: \(DurationParser.format(interval))
          scrape_timeout: \(DurationParser.format(scrapeTimeout(interval: interval)))
          external_labels: {team: bench}
        services:
        - name: \(LeafFleetClient.service)
          scraper: {endpoint: /-/exceptions}
          file_sd_configs: [{files: [targets.json]}]

        """
    }
}

/// The leaf's own view of the fleet, over its HTTP API.
struct LeafFleetClient: Sendable {
    static let service = "fleet"
    let base: String
    let fetcher: HTTPFetcher

    /// A leaf with 10,000 targets renders its targets and /metrics in seconds, on a busy machine more.
    private static let settings = ScrapeSettings(interval: .seconds(60), timeout: .seconds(60), bodySizeLimit: 512 * 1024 * 1024)

    var counts: LeafClient { LeafClient(base: base, fetcher: fetcher, settings: Self.settings) }

    func waitUntilUp(count: Int, within timeout: Duration, required: Bool, leaf: ChildProgram) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastProblem = "no answer"
        while ContinuousClock.now < deadline {
            if leaf.hasExited { throw BenchError("the leaf exited:\n\(leaf.logTail)") }
            if let health = try? await counts.health() {
                if health.total == count && health.up == count { return }
                lastProblem = "\(health.up) of \(health.total) targets up" + (health.errors.first.map { ", e.g. \($0)" } ?? "")
            }
            // Not too often: the answer for thousands of targets is itself work for the leaf.
            try await Task.sleep(for: count > 500 ? .seconds(2) : .milliseconds(250))
        }
        if required { throw BenchError("the leaf's targets were not all up within \(timeout): \(lastProblem)") }
        say("  (after \(timeout): \(lastProblem); measuring anyway)")
    }

    private struct GroupDetail: Decodable {
        struct Instance: Decodable {
            var targetUUID: String?
            var current: Bool
            enum CodingKeys: String, CodingKey {
                case current
                case targetUUID = "target_uuid"
            }
        }
        var instances: [Instance]
    }

    /// The distinct processes (target uuids) that currently report the group `key`.
    func processes(reporting key: String) async throws -> Int {
        let escaped = key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? key
        let body = try await fetcher.fetch(base + "/api/v1/services/\(Self.service)/errors/\(escaped)", settings: Self.settings)
        let detail = try JSONDecoder().decode(GroupDetail.self, from: Data(body))
        return Set(detail.instances.filter(\.current).compactMap(\.targetUUID)).count
    }
}
