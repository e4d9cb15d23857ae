import ArgumentParser
import Foundation

/// `canopy-bench prometheus`: Debian's Prometheus and the release leaf, one after the other,
/// scraping the same nginx fleet (expositions for Prometheus, Periskop bodies of the same size
/// for the leaf), once with unchanged bodies and once with counts that change on every request.
struct VsPrometheusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prometheus",
        abstract: "Prometheus and the leaf side by side on the same nginx targets: CPU-ms per scrape, scrapes done vs due, RSS.",
        discussion: """
            Per run: Prometheus on unchanged bodies, the leaf on them, then both on bodies whose counts change on every \
            request (nginx's sub_filter), each alone with a fresh data directory, measured over one window in its steady \
            state. Prints medians over the runs. Run through `scripts/bench --vs-prometheus`, which builds the release leaf \
            and installs nginx and prometheus.
            """
    )

    @Option(help: "Targets: nginx serves each on an address of its own (127.10.x.y), one port per mode.")
    var targets = 200

    @Option(help: "Both scrapers' scrape interval.")
    var interval = DurationArgument(.seconds(5))

    @Option(help: "Length of the measured window of each scraper in each run. The kernel counts CPU in 10 ms ticks: keep it long.")
    var window = DurationArgument(.seconds(30))

    @Option(help: "Runs; the table shows the medians.")
    var runs = 3

    @Option(parsing: .upToNextOption, help: "Modes to run, of: steady (unchanged bodies), changing (counts change on every request).")
    var modes: [ScrapeMode] = ScrapeMode.allCases

    @Option(name: .customLong("payload-kb"), help: "Size of each Periskop body, in KB; each exposition is the same size.")
    var payloadKB = 200

    @Option(help: "The canopy-leaf binary to measure.")
    var leaf = ".build/release/canopy-leaf"

    @Option(help: "The Prometheus binary to measure.")
    var prometheus = "/usr/bin/prometheus"

    @Option(help: "The nginx that serves the targets.")
    var nginx = "/usr/sbin/nginx"

    @Flag(help: "Keep the temporary directory (configs, logs, bodies) and print where it is.")
    var keep = false

    func validate() throws {
        guard (1...5_000).contains(targets) else { throw ValidationError("--targets must be 1...5000") }
        guard interval.value >= .milliseconds(500), interval.value <= .seconds(120) else { throw ValidationError("--interval must be 500ms...2m") }
        guard window.value >= .seconds(1), window.value <= .seconds(1800) else { throw ValidationError("--window must be 1s...30m") }
        guard (1...50).contains(runs) else { throw ValidationError("--runs must be 1...50") }
        guard (1...10_240).contains(payloadKB) else { throw ValidationError("--payload-kb must be 1...10240") }
        guard !modes.isEmpty else { throw ValidationError("--modes needs at least one mode") }
    }

    func run() async throws {
        let settings = SideBySide.Settings(
            targets: targets, interval: interval.value, window: window.value, runs: runs, modes: modes, payloadBytes: payloadKB * 1024, leaf: leaf,
            prometheus: prometheus, nginx: nginx, keep: keep)
        try await SignalledRun.run { try await SideBySide(settings: settings).run() }
    }
}
