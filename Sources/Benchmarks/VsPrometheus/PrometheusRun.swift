import Foundation
import Shared

/// Debian's Prometheus scraping the fleet's expositions, alone, with a TSDB of its own.
struct PrometheusRun: Sendable {
    var executable: String
    var interval: Duration
    var fetcher: HTTPFetcher

    /// Starts Prometheus on `urls`' hosts, waits for its steady state and hands it to `body`.
    func with<Result: Sendable>(
        targets: [String], directory: URL, _ body: (ChildProgram, PrometheusClient) async throws -> Result
    ) async throws -> Result {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = directory.appendingPathComponent("prometheus.yml")
        try configText(targets: targets).write(to: config, atomically: true, encoding: .utf8)
        let port = try freePort()
        let arguments = [
            "--config.file=\(config.path)", "--storage.tsdb.path=\(directory.appendingPathComponent("tsdb").path)",
            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ]
        return try await ChildProgram.with(
            "prometheus", executable: executable, arguments: arguments, logPath: directory.appendingPathComponent("prometheus.log").path
        ) { prometheus in
            let client = PrometheusClient(base: "http://127.0.0.1:\(port)", fetcher: fetcher)
            try await client.waitUntilReady(prometheus, within: .seconds(60))
            try await client.waitUntilUp(count: targets.count, within: .seconds(30) + interval * 3, prometheus: prometheus)
            // Every target past its first scrape (series created) and the head grown to its size.
            try await Task.sleep(for: interval * 2 + .seconds(1))
            return try await body(prometheus, client)
        }
    }

    func configText(targets: [String]) -> String {
        let interval = DurationParser.format(interval)
        return """
            # Written by canopy-bench prometheus.
            global:
              scrape_interval: \(interval)
              scrape_timeout: \(DurationParser.format(scrapeTimeout(interval: self.interval)))
            scrape_configs:
            - job_name: fleet
              metrics_path: /metrics
              static_configs:
              - targets: [\(targets.map { "\"\($0)\"" }.joined(separator: ", "))]

            """
    }
}

/// What both scrapers get as timeout: the interval, at most 10 s (Prometheus's default).
func scrapeTimeout(interval: Duration) -> Duration { min(interval, .seconds(10)) }

/// Reads Prometheus's own view of its scrapes.
struct PrometheusClient: Sendable {
    let base: String
    let fetcher: HTTPFetcher

    private static let settings = ScrapeSettings(interval: .seconds(10), timeout: .seconds(10), bodySizeLimit: 256 * 1024 * 1024)

    func waitUntilReady(_ prometheus: ChildProgram, within timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if (try? await fetcher.fetch(base + "/-/ready", settings: Self.settings, accept: "text/plain")) != nil { return }
            if prometheus.hasExited { throw BenchError("prometheus exited at start:\n\(prometheus.logTail)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError("prometheus was not ready within \(timeout):\n\(prometheus.logTail)")
    }

    /// Scrapes done so far: the count of `prometheus_target_interval_length_seconds`, which every
    /// scrape loop observes once per scrape after its first, failed scrapes included.
    func scrapes() async throws -> Int {
        let body = try await fetcher.fetch(base + "/metrics", settings: Self.settings, accept: "text/plain")
        var total = 0.0
        for line in String(decoding: body, as: UTF8.self).split(separator: "\n") where line.hasPrefix("prometheus_target_interval_length_seconds_count") {
            total += line.split(separator: " ").last.flatMap { Double($0) } ?? 0
        }
        return Int(total)
    }

    private struct TargetsAnswer: Decodable {
        struct Data: Decodable { var activeTargets: [Target] }
        struct Target: Decodable {
            var health: String
            var lastError: String
        }
        var data: Data
    }

    /// Targets up, of all, and the errors of those that are not.
    func health() async throws -> (up: Int, total: Int, errors: [String]) {
        let body = try await fetcher.fetch(base + "/api/v1/targets?state=active", settings: Self.settings)
        let targets = try JSONDecoder().decode(TargetsAnswer.self, from: Data(body)).data.activeTargets
        let down = targets.filter { $0.health != "up" }
        return (targets.count - down.count, targets.count, down.map { $0.lastError.isEmpty ? $0.health : $0.lastError })
    }

    /// Waits until Prometheus has scraped every target and found it up (the exposition parses).
    func waitUntilUp(count: Int, within timeout: Duration, prometheus: ChildProgram) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastProblem = "no answer"
        while ContinuousClock.now < deadline {
            if prometheus.hasExited { throw BenchError("prometheus exited:\n\(prometheus.logTail)") }
            if let health = try? await health() {
                if health.total == count && health.up == count { return }
                lastProblem = "\(health.up) of \(health.total) targets up" + (health.errors.first.map { ", e.g. \($0)" } ?? "")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw BenchError("prometheus's targets were not all up within \(timeout): \(lastProblem)")
    }
}

extension PrometheusClient {
    private struct QueryAnswer: Decodable {
        struct Data: Decodable { var result: [Sample] }
        struct Sample: Decodable { var value: [Value] }
        /// `[1764629381.123, "0"]`: a number and a string.
        enum Value: Decodable {
            case number(Double)
            case text(String)
            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let number = try? container.decode(Double.self) { self = .number(number) } else { self = .text(try container.decode(String.self)) }
            }
        }
        var data: Data
    }

    /// Failed scrapes in the `seconds` before `time`: the samples of `up` that are 0.
    func failedScrapes(seconds: Int, at time: Date) async throws -> Int {
        let query = "sum(count_over_time(up[\(seconds)s]) - sum_over_time(up[\(seconds)s]))"
        let escaped = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query
        let url = base + "/api/v1/query?query=\(escaped)&time=\(String(format: "%.3f", time.timeIntervalSince1970))"
        let body = try await fetcher.fetch(url, settings: ScrapeSettings(interval: .seconds(10), timeout: .seconds(10), bodySizeLimit: 1 << 20))
        let answer = try JSONDecoder().decode(QueryAnswer.self, from: Data(body))
        guard let sample = answer.data.result.first, sample.value.count == 2, case .text(let text) = sample.value[1] else { return 0 }
        return Int(Double(text) ?? 0)
    }
}
