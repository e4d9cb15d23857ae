import Foundation
import Periskop
import Shared

/// What each scraper did in one mode, run after run.
struct SideBySideRow: Sendable {
    var mode: ScrapeMode
    var prometheus: [ScraperWindow] = []
    var leaf: [ScraperWindow] = []
}

/// Prometheus and the leaf on the same nginx fleet, each alone: per run Prometheus on the fixed
/// bodies, the leaf on them, then both again on bodies whose counts change on every request.
struct SideBySide: Sendable {
    struct Settings: Sendable {
        var targets: Int
        var interval: Duration
        var window: Duration
        var runs: Int
        var modes: [ScrapeMode]
        var payloadBytes: Int
        var leaf: String
        var prometheus: String
        var nginx: String
        var keep: Bool
    }

    let settings: Settings

    func run() async throws {
        let fetcher = HTTPFetcher(userAgent: "canopy-bench")
        do {
            try await benchmark(fetcher: fetcher)
            await fetcher.shutdown()
        } catch {
            await fetcher.shutdown()
            throw error
        }
    }

    private func benchmark(fetcher: HTTPFetcher) async throws {
        let limit = OpenFileLimit.raise(to: 65_536)
        let directory = try BenchDirectory.make("prometheus", keep: settings.keep)
        defer { directory.remove() }
        say("writing \(settings.targets) Periskop bodies and expositions into \(directory.url.path)…")
        let files = try BenchFiles.write(into: directory.url, targets: settings.targets, maxDistinct: settings.targets, payloadBytes: settings.payloadBytes)
        let addresses = TargetAddresses(count: settings.targets)
        let config = NginxConfig(
            directory: directory.url, files: files, addresses: addresses, fixedPort: try freePort(), changingPort: try freePort(), openFiles: limit.soft)
        let interval = DurationParser.format(settings.interval)
        say(
            "canopy-bench prometheus: \(settings.targets) targets served by nginx (\(settings.nginx)), scraped every \(interval); "
                + "\(kibibytes(files.periskopBytes)) Periskop bodies for the leaf (\(settings.leaf)), \(kibibytes(files.expositionBytes)) expositions "
                + "(\(files.expositionSeries) samples) for Prometheus (\(settings.prometheus)); a \(DurationParser.format(settings.window)) window each, "
                + "\(settings.runs) run\(settings.runs == 1 ? "" : "s"); open-file limit \(limit.description)")
        let rows = try await NginxServer.with(executable: settings.nginx, config: config, fetcher: fetcher) { _ in
            try await FleetCheck(config: config, fetcher: fetcher).verify()
            var rows = settings.modes.map { SideBySideRow(mode: $0) }
            for run in 1...settings.runs {
                for (index, mode) in settings.modes.enumerated() {
                    let port = mode == .steady ? config.fixedPort : config.changingPort
                    let hosts = addresses.hosts
                    let workDirectory = directory.url.appendingPathComponent("run-\(run)-\(mode.rawValue)")
                    let prometheus = try await measurePrometheus(targets: hosts.map { "\($0):\(port)" }, directory: workDirectory, fetcher: fetcher)
                    say("  run \(run), \(Self.title(mode)): Prometheus \(Self.describe(prometheus))")
                    rows[index].prometheus.append(prometheus)
                    let leaf = try await measureLeaf(targets: hosts.map { "\($0):\(port)" }, directory: workDirectory, fetcher: fetcher)
                    say("  run \(run), \(Self.title(mode)): leaf       \(Self.describe(leaf))")
                    rows[index].leaf.append(leaf)
                    try? FileManager.default.removeItem(at: workDirectory)
                }
            }
            return rows
        }
        say("")
        say(SideBySideReport(rows: rows).text)
    }

    private func measurePrometheus(targets: [String], directory: URL, fetcher: HTTPFetcher) async throws -> ScraperWindow {
        let run = PrometheusRun(executable: settings.prometheus, interval: settings.interval, fetcher: fetcher)
        return try await run.with(targets: targets, directory: directory.appendingPathComponent("prometheus")) { prometheus, client in
            var window = try await ScraperWindow.measure(
                pid: prometheus.pid, length: settings.window, targets: targets.count, interval: settings.interval, scrapes: client.scrapes)
            window.failed = try await client.failedScrapes(seconds: Int(window.seconds.rounded(.down)), at: Date())
            window.errors = try await client.health().errors
            guard !prometheus.hasExited else { throw BenchError("prometheus exited during the measurement:\n\(prometheus.logTail)") }
            return window
        }
    }

    private func measureLeaf(targets: [String], directory: URL, fetcher: HTTPFetcher) async throws -> ScraperWindow {
        let run = LeafRun(executable: settings.leaf, interval: settings.interval, fetcher: fetcher, requireAllUp: true)
        return try await run.with(targets: targets, directory: directory.appendingPathComponent("leaf")) { leaf, client in
            var failuresBefore = 0
            var failuresAfter = 0
            var first = true
            var window = try await ScraperWindow.measure(pid: leaf.pid, length: settings.window, targets: targets.count, interval: settings.interval) {
                let counts = try await client.counts.scrapeCounts()
                if first { failuresBefore = counts.failures } else { failuresAfter = counts.failures }
                first = false
                return counts.scrapes
            }
            window.failed = failuresAfter - failuresBefore
            window.errors = try await client.counts.health().errors
            guard !leaf.hasExited else { throw BenchError("the leaf exited during the measurement:\n\(leaf.logTail)") }
            return window
        }
    }

    static func title(_ mode: ScrapeMode) -> String {
        mode == .steady ? "unchanged bodies" : "counts change on every request"
    }

    static func describe(_ window: ScraperWindow) -> String {
        String(format: "%.3f CPU-ms per scrape, ", window.millisecondsPerScrape)
            + "\(window.scrapes) of \(window.due) scrapes done, \(window.failed) failed, RSS \(mebibytes(window.residentBytes))"
            + (window.errors.first.map { "; e.g. \($0)" } ?? "")
    }
}

/// Checks that what nginx serves is what the scrapers must see: Periskop bodies that decode,
/// with the uuid of their target, counts that grow on every request in the changing mode, and
/// expositions with no placeholder left.
struct FleetCheck: Sendable {
    let config: NginxConfig
    let fetcher: HTTPFetcher

    func verify() async throws {
        let settings = ScrapeSettings(interval: .seconds(10), timeout: .seconds(10), bodySizeLimit: 64 * 1024 * 1024)
        let last = config.addresses.count - 1
        for index in Set([0, last]).sorted() {
            let host = config.addresses.host(index)
            var uuids: Set<String> = []
            for port in [config.fixedPort, config.changingPort] {
                let first = try await fetcher.fetch("http://\(host):\(port)/-/exceptions", settings: settings)
                let payload = try decode(first, what: "the Periskop body of \(host):\(port)")
                if let uuid = payload.targetUUID { uuids.insert(uuid) }
                let exposition = String(decoding: try await fetcher.fetch("http://\(host):\(port)/metrics", settings: settings, accept: "text/plain"), as: UTF8.self)
                guard !exposition.contains(BenchFiles.countToken), exposition.contains("http_server_requests_seconds_bucket") else {
                    throw BenchError("nginx serves \(host):\(port)/metrics unfilled or empty: \(exposition.prefix(200))")
                }
                guard port == config.changingPort else { continue }
                try await Task.sleep(for: .milliseconds(5))
                let second = try decode(try await fetcher.fetch("http://\(host):\(port)/-/exceptions", settings: settings), what: "the Periskop body of \(host):\(port)")
                let before = payload.aggregatedErrors.map(\.totalCount)
                let after = second.aggregatedErrors.map(\.totalCount)
                guard before.count == after.count, zip(before, after).allSatisfy({ $0 < $1 }) else {
                    throw BenchError("nginx's changing bodies at \(host):\(port) did not grow every count between two requests: \(before.prefix(3)) then \(after.prefix(3))")
                }
            }
            guard uuids.count == 1, let uuid = uuids.first, !uuid.contains(BenchFiles.uuidToken) else {
                throw BenchError("target \(host) has no single uuid in its bodies: \(uuids.sorted())")
            }
        }
    }

    private func decode(_ body: [UInt8], what: String) throws -> ExceptionsPayload {
        do {
            let payload = try PayloadDecoder().decode(body)
            guard !payload.aggregatedErrors.isEmpty else { throw BenchError("no groups") }
            return payload
        } catch {
            throw BenchError("\(what) is not a Periskop payload (\(error)): \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
    }
}

/// The bench's temporary directory, removed at the end unless kept.
struct BenchDirectory: Sendable {
    let url: URL
    let keep: Bool

    static func make(_ name: String, keep: Bool) throws -> BenchDirectory {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-bench-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return BenchDirectory(url: url, keep: keep)
    }

    func remove() {
        if keep { say("kept \(url.path)") } else { try? FileManager.default.removeItem(at: url) }
    }
}

func kibibytes(_ bytes: Int) -> String { "\(Int((Double(bytes) / 1024).rounded())) KB" }

func mebibytes(_ bytes: Int) -> String { String(format: "%.0f MiB", Double(bytes) / 1_048_576) }
