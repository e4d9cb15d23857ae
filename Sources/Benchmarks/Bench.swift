import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import Shared
import UnixSignals

/// `canopy-bench`: the benchmarks, one subcommand each; without one, `leaf`.
@main
struct CanopyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "canopy-bench",
        abstract: "Benchmarks of Canopy's release binaries.",
        discussion: "Run through scripts/bench, which builds the release binaries first.",
        subcommands: [LeafBenchCommand.self, HubBenchCommand.self, PromQLBenchCommand.self, VsPrometheusCommand.self, ScaleCommand.self],
        defaultSubcommand: LeafBenchCommand.self
    )
}

/// `canopy-bench leaf` (the default): what a real leaf spends per scrape, in the steady state
/// (every body the same as the last) and when every body changes, against simulated Periskop
/// targets on 127.0.0.1. A subcommand of its own rather than the root's options: options of a
/// parent command are parsed after a subcommand too, and would take the subcommands' own
/// `--targets` or `--window`.
struct LeafBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "leaf",
        abstract: "Measures the CPU a release canopy-leaf spends per scrape of a Periskop target.",
        discussion: "Run through scripts/bench, which builds the release binaries first."
    )

    @Option(help: "Simulated Periskop targets (one process each, one port each).")
    var targets = 20

    @Option(name: .customLong("payload-kb"), help: "Size of each target's exceptions payload, in KB.")
    var payloadKB = 200

    @Option(help: "The leaf's scrape interval.")
    var interval = DurationArgument(.seconds(1))

    @Option(help: "Measurement windows per mode.")
    var windows = 7

    @Option(help: "Length of one window. The kernel counts CPU time in 10 ms ticks: keep windows long.")
    var window = DurationArgument(.seconds(10))

    @Option(help: "The canopy-leaf binary to measure.")
    var leaf = ".build/release/canopy-leaf"

    @Option(parsing: .upToNextOption, help: "Modes to run, of: steady, changing.")
    var modes: [ScrapeMode] = ScrapeMode.allCases

    @Option(name: .customLong("micro-runs"), help: "Runs of the in-process decode and hash micro-benchmark.")
    var microRuns = 50

    func validate() throws {
        guard (1...500).contains(targets) else { throw ValidationError("--targets must be 1...500") }
        guard (1...10_240).contains(payloadKB) else { throw ValidationError("--payload-kb must be 1...10240") }
        guard interval.value >= .milliseconds(100), interval.value <= .seconds(60) else { throw ValidationError("--interval must be 100ms...60s") }
        guard (1...100).contains(windows) else { throw ValidationError("--windows must be 1...100") }
        guard window.value >= .seconds(1), window.value <= .seconds(600) else { throw ValidationError("--window must be 1s...10m") }
        guard (1...10_000).contains(microRuns) else { throw ValidationError("--micro-runs must be 1...10000") }
    }

    func run() async throws {
        var logger = Logger(label: "canopy-bench")
        logger.logLevel = .warning
        let factory = PayloadFactory(payloadBytes: payloadKB * 1024)
        let fleet = TargetFleet(count: targets, factory: factory)
        let runner = BenchRunner(
            settings: .init(
                targets: targets, leafExecutable: leaf, interval: interval.value, windows: windows, window: window.value, modes: modes,
                microRuns: microRuns),
            fleet: fleet)
        // Ctrl-C or SIGTERM shut the group down gracefully: the runner's task is cancelled, which
        // stops the leaf it started, and the simulated targets close.
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: fleet.applications(logger: logger).map { .init(service: $0) }
                    + [.init(service: runner, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            ))
        try await group.run()
        if let failure = runner.outcome.failure { throw failure }
    }
}

/// A `Duration` option written as in a config: `1s`, `500ms`, `1m30s`.
struct DurationArgument: ExpressibleByArgument, Sendable {
    var value: Duration

    init(_ value: Duration) {
        self.value = value
    }

    init?(argument: String) {
        guard let value = try? DurationParser.parse(argument) else { return nil }
        self.value = value
    }

    var defaultValueDescription: String { DurationParser.format(value) }
}

/// Writes one line of the report to standard output at once (unbuffered, unlike `print` into a
/// pipe), so progress shows while a mode runs and keeps its place next to errors.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
