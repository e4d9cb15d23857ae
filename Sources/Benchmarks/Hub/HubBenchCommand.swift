import ArgumentParser
import Foundation

/// `canopy-bench hub`: the release hub's API (`hub api`, the default) and ingest (`hub ingest`).
struct HubBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub",
        abstract: "Measures the release canopy-hub: its API on a filled database (api, the default) or its ingest of many leaves (ingest).",
        subcommands: [HubAPIBenchCommand.self, HubIngestCommand.self],
        defaultSubcommand: HubAPIBenchCommand.self
    )
}

/// `canopy-bench hub [api]`: the hub API's response times on a database filled like a large
/// organisation's (issue 3: 100,000 groups, 30 days of minute history), measured against the
/// release `canopy-hub` binary over keep-alive HTTP.
struct HubAPIBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "Measures the hub API's response times on a database filled with many groups and days of minute history.",
        discussion: """
            Starts the hub with a fresh --data-dir (its private PostgreSQL), fills the database with SQL through \
            psql on the hub's Unix socket, times each API endpoint, runs EXPLAIN (ANALYZE, BUFFERS) for the slow ones, \
            then stops the hub and removes the data dir. Run through scripts/bench-hub, which builds the release binaries first.
            """
    )

    @Option(help: "The canopy-hub binary to measure.")
    var hub = ".build/release/canopy-hub"

    @Option(help: "Error groups to create.")
    var groups = 100_000

    @Option(help: "Days of minute history (group_counts), ending now.")
    var days = 30

    @Option(name: .customLong("hot-groups"), help: "Groups that occur every minute of the history.")
    var hotGroups = 150

    @Option(name: .customLong("warm-groups"), help: "Groups after the hot ones that occur in about a quarter of the hours.")
    var warmGroups = 2_850

    @Option(help: "psql sessions that fill the history in parallel (one day partition at a time each).")
    var workers = 2

    @Option(help: "Timed requests per endpoint (after the warm-up).")
    var rounds = 30

    @Option(help: "Untimed requests per endpoint first.")
    var warmup = 3

    @Option(name: .customLong("explain-above-ms"), help: "EXPLAIN (ANALYZE, BUFFERS) the queries of endpoints whose median is above this.")
    var explainAboveMs = 50.0

    @Option(name: .customLong("explain-file"), help: "Where the full query plans go.")
    var explainFile = "/tmp/canopy-bench-hub-explain.txt"

    @Option(name: .customLong("data-dir"), help: "The hub's data dir: must not exist yet. Default: a new directory under /tmp.")
    var dataDir: String?

    @Flag(name: .customLong("keep-data-dir"), help: "Keep the filled data dir (the hub is stopped either way); `canopy-hub --data-dir DIR` reopens it.")
    var keepDataDir = false

    func validate() throws {
        guard (1_000...10_000_000).contains(groups) else { throw ValidationError("--groups must be 1000...10000000") }
        guard (1...90).contains(days) else { throw ValidationError("--days must be 1...90") }
        guard hotGroups >= 1, warmGroups >= 0, hotGroups + warmGroups < groups else {
            throw ValidationError("--hot-groups + --warm-groups must be fewer than --groups, with at least one hot group")
        }
        guard (1...16).contains(workers) else { throw ValidationError("--workers must be 1...16") }
        guard (1...10_000).contains(rounds) else { throw ValidationError("--rounds must be 1...10000") }
        guard (0...1_000).contains(warmup) else { throw ValidationError("--warmup must be 0...1000") }
    }

    func run() async throws {
        let directory = dataDir ?? "/tmp/canopy-bench-hub-\(getpid())"
        let settings = HubBenchmark.Settings(
            hubExecutable: hub, dataDir: URL(fileURLWithPath: directory).standardizedFileURL.path, keepDataDir: keepDataDir,
            fill: HubFill.Shape(groups: groups, days: days, hotGroups: hotGroups, warmGroups: warmGroups), workers: workers,
            rounds: rounds, warmup: warmup, explainAboveMilliseconds: explainAboveMs, explainFile: explainFile)
        try await HubBenchmark(settings: settings).run()
    }
}
