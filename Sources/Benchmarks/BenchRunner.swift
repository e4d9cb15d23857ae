import Foundation
import ServiceLifecycle
import Shared
import Synchronization

/// The benchmark itself, as the service that runs beside the simulated targets: the micro-benchmark,
/// then one real leaf per mode, then the report. Returning ends the group.
struct BenchRunner: Service {
    struct Settings: Sendable {
        var targets: Int
        var leafExecutable: String
        var interval: Duration
        var windows: Int
        var window: Duration
        var modes: [ScrapeMode]
        var microRuns: Int
    }

    let settings: Settings
    let fleet: TargetFleet
    /// A failure is kept here rather than thrown, so that the group still shuts the servers down
    /// gracefully and the command can exit with the error afterwards.
    let outcome = Outcome()

    func run() async throws {
        let fetcher = HTTPFetcher(userAgent: "canopy-bench")
        do {
            try await cancelWhenGracefulShutdown { try await self.benchmark(fetcher: fetcher) }
        } catch is CancellationError {
            outcome.fail(BenchError("interrupted: the leaf was stopped"))
        } catch {
            outcome.fail(error)
        }
        await fetcher.shutdown()
    }

    private func benchmark(fetcher: HTTPFetcher) async throws {
        let addresses = try await fleet.addresses(within: .seconds(10))
        let body = fleet.sources[0].currentBytes
        // Before any leaf runs, so that nothing competes for the CPU.
        let micro = try MicroBenchmark(runs: settings.microRuns).run(body: body)
        let header =
            "canopy-bench: \(settings.leafExecutable), \(settings.targets) targets of \(body.count / 1024) KB "
            + "(\(micro.groups) groups × \(PayloadFactory.samplesPerGroup) samples), scrape interval \(DurationParser.format(settings.interval)), "
            + "\(settings.windows) windows of \(DurationParser.format(settings.window)) per mode"
        say(header)
        let measurement = LeafMeasurement(
            leafExecutable: settings.leafExecutable, interval: settings.interval, windows: settings.windows, window: settings.window, fetcher: fetcher)
        var results: [ModeResult] = []
        for mode in settings.modes {
            say("measuring \(mode.rawValue)…")
            results.append(try await measurement.run(mode: mode, fleet: fleet, addresses: addresses))
        }
        say("")
        say(Report(micro: micro, results: results).text)
    }
}

final class Outcome: Sendable {
    private let error = Mutex<(any Error)?>(nil)

    func fail(_ failure: any Error) {
        error.withLock { $0 = failure }
    }

    var failure: (any Error)? { error.withLock { $0 } }
}
