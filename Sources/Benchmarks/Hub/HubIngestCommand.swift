#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Shared

/// `canopy-bench hub ingest`: what the release hub spends applying many leaves' scrapes (issue
/// 13: 1,000 leaves × 100 groups at 15 s, 5 % of the groups growing per scrape), and how its
/// rows per second compare with PostgreSQL's own COPY of the same rows.
struct HubIngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Measures the hub's ingest: apply time per leaf scrape, hub and PostgreSQL CPU, rows written per second against COPY.",
        discussion: """
            Serves the simulated leaves from this process (one listener, leaf i at its own address 127.0.x.y), starts the \
            hub with a fresh --data-dir (its private PostgreSQL) scraping them, and after a warm-up measures windows: scrapes \
            applied against due and their apply times (the hub's /metrics), hub and PostgreSQL CPU (/proc), rows written per \
            table (pg_stat_user_tables). Then the leaves stop changing, the hub's totals are checked against theirs, and COPY of \
            one window's rows into copies of the tables is timed. Run through `scripts/bench-hub --ingest`.
            """
    )

    @Option(help: "The canopy-hub binary to measure.")
    var hub = ".build/release/canopy-hub"

    @Option(help: "Simulated leaves (each its own team).")
    var leaves = 1_000

    @Option(help: "Groups per leaf.")
    var groups = 100

    @Option(name: .customLong("changing-percent"), help: "Percent of each leaf's groups whose totals grow (with a new sample) per scrape.")
    var changingPercent = 5.0

    @Option(help: "Samples a leaf serves per group (a leaf keeps 10 by default).")
    var samples = 10

    // Not --interval, --windows, --window: `canopy-bench` itself has those.
    @Option(name: .customLong("scrape-interval"), help: "The hub's scrape interval.")
    var interval = DurationArgument(.seconds(15))

    @Option(help: "Untimed steady state after every leaf's first scrape is applied.")
    var warmup = DurationArgument(.seconds(30))

    @Option(name: .customLong("window-count"), help: "Measured windows.")
    var windows = 3

    @Option(name: .customLong("window-length"), help: "Length of one window.")
    var window = DurationArgument(.seconds(60))

    @Option(name: .customLong("max-concurrent-scrapes"), help: "The hub's global.max_concurrent_scrapes.")
    var maxConcurrentScrapes = 32

    @Flag(name: .customLong("full-bodies"), help: "Leaves answer every request with all their groups, as a leaf older than deltas does.")
    var fullBodies = false

    @Flag(
        name: .customLong("statement-stats"),
        help: "Also report PostgreSQL's statements over the windows by total time (pg_stat_statements; its PostgreSQL is restarted once to load it).")
    var statementStats = false

    @Option(name: .customLong("data-dir"), help: "The hub's data dir: must not exist yet. Default: a new directory under /tmp.")
    var dataDir: String?

    @Flag(name: .customLong("keep-data-dir"), help: "Keep the data dir (the hub is stopped either way).")
    var keepDataDir = false

    func validate() throws {
        guard (1...10_000).contains(leaves) else { throw ValidationError("--leaves must be 1...10000") }
        guard (1...10_000).contains(groups) else { throw ValidationError("--groups must be 1...10000") }
        guard changingPercent > 0, changingPercent <= 100 else { throw ValidationError("--changing-percent must be above 0 and at most 100") }
        guard (1...100).contains(samples) else { throw ValidationError("--samples must be 1...100") }
        guard interval.value >= .milliseconds(500), interval.value <= .seconds(600) else { throw ValidationError("--scrape-interval must be 500ms...10m") }
        guard (1...100).contains(windows) else { throw ValidationError("--window-count must be 1...100") }
        guard window.value >= interval.value else { throw ValidationError("--window-length must be at least the scrape interval") }
        guard (1...10_000).contains(maxConcurrentScrapes) else { throw ValidationError("--max-concurrent-scrapes must be 1...10000") }
    }

    func run() async throws {
        Self.raiseOpenFileLimit()
        var logger = Logger(label: "canopy-bench")
        logger.logLevel = .warning
        let changing = max(1, Int((Double(groups) * changingPercent / 100).rounded()))
        let started = ContinuousClock.now
        let fleet = IngestLeafFleet(shape: .init(leaves: leaves, groups: groups, changing: changing, samples: samples, deltas: !fullBodies))
        say("made \(leaves) leaves' payloads in \(HubBenchmark.seconds(ContinuousClock.now - started)); a full body is \(fleet.bodyBytes / 1024) KB" + (fullBodies ? ", served on every request" : ", a delta holds the groups grown since the hub's last applied body"))
        let directory = dataDir ?? "/tmp/canopy-bench-hub-ingest-\(getpid())"
        let benchmark = IngestBenchmark(
            settings: .init(
                hubExecutable: hub, dataDir: URL(fileURLWithPath: directory).standardizedFileURL.path, keepDataDir: keepDataDir,
                interval: interval.value, windows: windows, window: window.value, warmup: warmup.value, maxConcurrentScrapes: maxConcurrentScrapes, statementStats: statementStats),
            fleet: fleet)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: fleet.application(logger: logger)),
                    .init(service: benchmark, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
        if let failure = benchmark.outcome.failure { throw failure }
    }

    /// A thousand leaves hold a thousand connections on each side: the soft limit goes up to the
    /// hard one, for this process and the hub it starts.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 { say("warning: could not raise the open file limit to \(limit.rlim_max)") }
    }
}
