import ArgumentParser
import Foundation
import Shared

/// `canopy-bench scale`: the release leaf alone on thousands of nginx targets. Whether it keeps
/// every scrape, the cores and memory it takes, and what limited it if it did not.
struct ScaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "The leaf alone on thousands of nginx targets: scrapes done vs due, CPU cores, RSS, and what limited it.",
        discussion: """
            Targets share --distinct-files bodies (chosen by address); nginx fills in each target's own target_uuid, and \
            the bench checks the leaf sees one process per target. Run through `scripts/bench --scale`.
            """
    )

    @Option(parsing: .upToNextOption, help: "Fleet sizes to run, one after the other.")
    var targets: [Int] = [2_000, 10_000]

    @Option(help: "The leaf's scrape interval.")
    var interval = DurationArgument(.seconds(15))

    @Option(help: "Length of the measured window of each run.")
    var window = DurationArgument(.seconds(30))

    @Option(help: "Runs per fleet size; the table shows the medians.")
    var runs = 3

    @Flag(help: "Serve bodies whose counts change on every request instead of unchanged ones.")
    var changing = false

    @Option(name: .customLong("distinct-files"), help: "Distinct bodies on disk (about 200 KB each); targets share them by address.")
    var distinctFiles = 200

    @Option(name: .customLong("payload-kb"), help: "Size of each Periskop body, in KB.")
    var payloadKB = 200

    @Option(help: "The canopy-leaf binary to measure.")
    var leaf = ".build/release/canopy-leaf"

    @Option(help: "The nginx that serves the targets.")
    var nginx = "/usr/sbin/nginx"

    @Flag(help: "Keep the temporary directory (configs, logs, bodies) and print where it is.")
    var keep = false

    func validate() throws {
        guard !targets.isEmpty, targets.allSatisfy({ (1...60_000).contains($0) }) else { throw ValidationError("--targets must be 1...60000 each") }
        guard interval.value >= .seconds(1), interval.value <= .seconds(300) else { throw ValidationError("--interval must be 1s...5m") }
        guard window.value >= .seconds(1), window.value <= .seconds(1800) else { throw ValidationError("--window must be 1s...30m") }
        guard (1...50).contains(runs) else { throw ValidationError("--runs must be 1...50") }
        guard (1...10_000).contains(distinctFiles) else { throw ValidationError("--distinct-files must be 1...10000") }
        guard (1...10_240).contains(payloadKB) else { throw ValidationError("--payload-kb must be 1...10240") }
    }

    func run() async throws {
        let scale = Scale(
            sizes: targets, interval: interval.value, window: window.value, runs: runs, mode: changing ? .changing : .steady,
            distinctFiles: distinctFiles, payloadBytes: payloadKB * 1024, leaf: leaf, nginx: nginx, keep: keep)
        try await SignalledRun.run { try await scale.run() }
    }
}

/// One leaf run at one fleet size.
struct ScaleRun: Sendable {
    var leaf: ScraperWindow
    var nginxCores: Double
    /// Distinct target uuids the leaf has for one group: one per target when it sees them all.
    var processes: Int
}

struct Scale: Sendable {
    var sizes: [Int]
    var interval: Duration
    var window: Duration
    var runs: Int
    var mode: ScrapeMode
    var distinctFiles: Int
    var payloadBytes: Int
    var leaf: String
    var nginx: String
    var keep: Bool

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
        let limit = OpenFileLimit.raise(to: 1 << 20)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        say(
            "canopy-bench scale: the leaf (\(leaf)) alone, \(SideBySide.title(mode)), every \(DurationParser.format(interval)); "
                + "a \(DurationParser.format(window)) window per run, \(runs) run\(runs == 1 ? "" : "s") per size; open-file limit \(limit.description) "
                + "(bench, nginx and leaf); \(cores) cores")
        var results: [(size: Int, runs: [ScaleRun])] = []
        for size in sizes {
            results.append((size, try await measure(size: size, openFiles: limit.soft, fetcher: fetcher)))
        }
        say("")
        say(ScaleReport(results: results, cores: cores, openFiles: limit.soft, interval: interval).text)
    }

    private func measure(size: Int, openFiles: Int, fetcher: HTTPFetcher) async throws -> [ScaleRun] {
        let directory = try BenchDirectory.make("scale-\(size)", keep: keep)
        defer { directory.remove() }
        let files = try BenchFiles.write(into: directory.url, targets: size, maxDistinct: distinctFiles, payloadBytes: payloadBytes)
        let addresses = TargetAddresses(count: size)
        let config = NginxConfig(
            directory: directory.url, files: files, addresses: addresses, fixedPort: try freePort(), changingPort: try freePort(), openFiles: openFiles)
        let port = mode == .steady ? config.fixedPort : config.changingPort
        say("\(size) targets (\(files.distinct) distinct \(kibibytes(files.periskopBytes)) bodies)…")
        return try await NginxServer.with(executable: nginx, config: config, fetcher: fetcher) { nginxProcess in
            try await FleetCheck(config: config, fetcher: fetcher).verify()
            let key = PayloadFactory(payloadBytes: payloadBytes).templates[0].key
            var results: [ScaleRun] = []
            for run in 1...runs {
                let leafRun = LeafRun(executable: leaf, interval: interval, fetcher: fetcher, requireAllUp: false)
                let targets = addresses.hosts.map { "\($0):\(port)" }
                let result = try await leafRun.with(targets: targets, directory: directory.url.appendingPathComponent("run-\(run)")) { leaf, client in
                    var failures: [Int] = []
                    let nginxBefore = nginxProcess.groupCPUSeconds()
                    var window = try await ScraperWindow.measure(pid: leaf.pid, length: self.window, targets: size, interval: interval) {
                        let counts = try await client.counts.scrapeCounts()
                        failures.append(counts.failures)
                        return counts.scrapes
                    }
                    let nginxCores = (nginxProcess.groupCPUSeconds() - nginxBefore) / window.seconds
                    window.failed = (failures.last ?? 0) - (failures.first ?? 0)
                    window.errors = try await client.counts.health().errors
                    let processes = try await client.processes(reporting: key)
                    guard !leaf.hasExited else { throw BenchError("the leaf exited during the measurement:\n\(leaf.logTail)") }
                    return ScaleRun(leaf: window, nginxCores: nginxCores, processes: processes)
                }
                say(
                    "  run \(run): \(result.leaf.scrapes) of \(result.leaf.due) scrapes done, \(result.leaf.failed) failed, "
                        + String(format: "%.2f cores, nginx %.2f, ", result.leaf.cores, result.nginxCores)
                        + "RSS \(mebibytes(result.leaf.residentBytes)), \(result.processes) processes seen")
                results.append(result)
                try? FileManager.default.removeItem(at: directory.url.appendingPathComponent("run-\(run)"))
            }
            return results
        }
    }
}

/// The scale table, and per size what limited the leaf if anything did.
struct ScaleReport {
    var results: [(size: Int, runs: [ScaleRun])]
    var cores: Int
    var openFiles: Int
    var interval: Duration

    var text: String {
        var lines = [
            "| targets | interval | scrapes done/due | failed | leaf CPU cores | CPU-ms per scrape | leaf RSS | nginx CPU cores | processes seen |",
            "|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for (size, runs) in results {
            let leaf = runs.map(\.leaf)
            let cores = Summary(leaf.map(\.cores))
            lines.append(
                "| \(size) | \(DurationParser.format(interval)) | \(SideBySideReport.doneOfDue(leaf)) | \(leaf.map(\.failed).reduce(0, +)) | "
                    + "\(SideBySideReport.number(cores.median, digits: 2)) (\(SideBySideReport.number(cores.min, digits: 2))–\(SideBySideReport.number(cores.max, digits: 2))) | "
                    + "\(SideBySideReport.number(Summary(leaf.map(\.millisecondsPerScrape)).median, digits: 3)) | \(SideBySideReport.memory(leaf)) | "
                    + "\(SideBySideReport.number(Summary(runs.map(\.nginxCores)).median, digits: 2)) | \(Int(Summary(runs.map { Double($0.processes) }).median)) |")
        }
        lines.append("")
        lines.append("Medians of the runs (min–max); failed is the sum. What limited the leaf:")
        for (size, runs) in results { lines.append("- \(size) targets: \(limits(size: size, runs: runs))") }
        return lines.joined(separator: "\n")
    }

    private func limits(size: Int, runs: [ScaleRun]) -> String {
        let leaf = runs.map(\.leaf)
        let done = leaf.map(\.scrapes).reduce(0, +)
        let due = leaf.map(\.due).reduce(0, +)
        let failed = leaf.map(\.failed).reduce(0, +)
        var findings: [String] = []
        if Double(done) < Double(due) * 0.99 {
            let busy = Summary(leaf.map(\.cores)).median + Summary(runs.map(\.nginxCores)).median
            findings.append(
                "fell behind, \(done) of \(due) scrapes done"
                    + (busy >= Double(cores) * 0.85 ? String(format: " with the machine's %d cores busy (leaf and nginx %.2f cores)", cores, busy) : ""))
        }
        if failed > 0 {
            findings.append("\(failed) scrapes failed; targets down at the end: " + ErrorTally(leaf.flatMap(\.errors)).text)
            if leaf.flatMap(\.errors).contains(where: { $0.localizedCaseInsensitiveContains("too many open files") }) {
                findings.append("the open-file limit (\(openFiles)) was reached")
            }
        }
        if let short = runs.first(where: { $0.processes < size }) {
            findings.append("the leaf saw \(short.processes) processes for one group, not \(size)")
        }
        return findings.isEmpty ? "nothing: every scrape done, none failed, one process per target" : findings.joined(separator: "; ")
    }
}
