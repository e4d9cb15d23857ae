import Foundation
import Shared

/// Reads a running leaf's own view of its scrapes, over its HTTP API.
struct LeafClient: Sendable {
    let base: String
    let fetcher: HTTPFetcher

    /// Timeout and size limit of its requests: a leaf with thousands of targets takes longer.
    var settings = ScrapeSettings(interval: .seconds(10), timeout: .seconds(10), bodySizeLimit: 64 * 1024 * 1024)

    struct ScrapeCounts: Sendable {
        var scrapes: Int
        var failures: Int
    }

    /// The sums of `canopy_target_scrapes_total` and `canopy_target_scrape_failures_total` over all targets.
    func scrapeCounts() async throws -> ScrapeCounts {
        let body = try await fetcher.fetch(base + "/metrics", settings: settings, accept: "text/plain")
        var counts = ScrapeCounts(scrapes: 0, failures: 0)
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n") where !line.hasPrefix("#") {
            let value = line.split(separator: " ").last.flatMap { Double($0) }.map { Int($0) } ?? 0
            if Self.isSample(line, of: "canopy_target_scrapes_total") { counts.scrapes += value }
            if Self.isSample(line, of: "canopy_target_scrape_failures_total") { counts.failures += value }
        }
        return counts
    }

    private static func isSample(_ line: Substring, of name: String) -> Bool {
        line.hasPrefix(name + "{") || line.hasPrefix(name + " ")
    }

    private struct TargetsReport: Decodable {
        struct Target: Decodable {
            var health: String
            var lastError: String?
            enum CodingKeys: String, CodingKey {
                case health
                case lastError = "last_error"
            }
        }
        var activeTargets: [Target]
        enum CodingKeys: String, CodingKey { case activeTargets = "active_targets" }
    }

    /// Targets up, of all, and the last errors of those that are not.
    func health() async throws -> (up: Int, total: Int, errors: [String]) {
        let body = try await fetcher.fetch(base + "/api/v1/targets", settings: settings)
        let targets = try JSONDecoder().decode(TargetsReport.self, from: Data(body)).activeTargets
        let down = targets.filter { $0.health != "up" }
        return (targets.count - down.count, targets.count, down.map { $0.lastError ?? ($0.health == "unknown" ? "not scraped yet" : $0.health) })
    }

    /// Waits until the leaf reports `count` targets, all up; a target still down at the deadline
    /// is an error that quotes the leaf's reason.
    func waitUntilUp(count: Int, within timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastProblem = "no answer"
        while ContinuousClock.now < deadline {
            if let body = try? await fetcher.fetch(base + "/api/v1/targets", settings: settings),
                let report = try? JSONDecoder().decode(TargetsReport.self, from: Data(body))
            {
                let up = report.activeTargets.filter { $0.health == "up" }.count
                if report.activeTargets.count == count && up == count { return }
                let error = report.activeTargets.compactMap(\.lastError).first.map { ", e.g. \($0)" } ?? ""
                lastProblem = "\(up) of \(report.activeTargets.count) targets up\(error)"
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BenchError("the leaf's targets were not all up within \(timeout): \(lastProblem)")
    }
}
