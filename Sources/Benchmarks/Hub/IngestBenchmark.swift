#if canImport(Glibc)
import Glibc
#endif
import AsyncHTTPClient
import Foundation
import ServiceLifecycle
import Shared

/// `canopy-bench hub ingest` from start to end, as the service beside the simulated leaves: a
/// release hub with its private PostgreSQL on a fresh data dir scrapes every leaf; after a
/// warm-up, windows measure what it applied and what that cost; then the leaves stop changing,
/// the hub's totals are checked against theirs, COPY of the same rows is timed, and the report
/// printed. Returning ends the group.
struct IngestBenchmark: Service {
    struct Settings: Sendable {
        var hubExecutable: String
        var dataDir: String
        var keepDataDir: Bool
        var interval: Duration
        var windows: Int
        var window: Duration
        var warmup: Duration
        var maxConcurrentScrapes: Int
        /// Whether to report PostgreSQL's statements (`StatementStats`).
        var statementStats = false
    }

    let settings: Settings
    let fleet: IngestLeafFleet
    let outcome = Outcome()

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await self.benchmark() }
        } catch is CancellationError {
            outcome.fail(BenchError("interrupted: the hub was stopped"))
        } catch {
            outcome.fail(error)
        }
    }

    private func benchmark() async throws {
        let dataDir = settings.dataDir
        let work = try HubProcess.makeDataDir(dataDir)
        let port = try await fleet.listeningPort(within: .seconds(10))
        let configPath = work + "/hub.yml"
        try config(port: port).write(toFile: configPath, atomically: true, encoding: .utf8)
        let shape = fleet.shape
        say(
            "canopy-bench hub ingest: \(settings.hubExecutable), \(shape.leaves) leaves × \(shape.groups) groups (\(shape.samples) samples, "
                + "\(shape.seriesPerGroup) series each), \(shape.changing) groups of each leaf growing per scrape, every \(DurationParser.format(settings.interval)); "
                + "data dir \(dataDir)")
        let hub = try HubProcess.start(executable: settings.hubExecutable, dataDir: dataDir, config: configPath, logPath: work + "/hub.log")
        var failure: (any Error)?
        var postmaster: pid_t?
        do {
            try await measure(hub: hub, work: work, postmaster: &postmaster)
        } catch {
            failure = error
        }
        hub.terminate()
        HubBenchmark.stopOrphan(postmaster)
        if settings.keepDataDir {
            say("kept \(dataDir) (hub log: \(work)/hub.log)")
        } else {
            do { try FileManager.default.removeItem(atPath: dataDir) } catch { say("warning: could not remove \(dataDir): \(error)") }
        }
        if let failure {
            say("hub log:\n\(hub.logTail)")
            throw failure
        }
    }

    /// The groups' total in the database once the hub has applied every leaf's last body (frozen
    /// bodies are applied once more where the last was not, then skipped), or when it stops applying.
    private func settle(served: Int64, snapshot: () async throws -> IngestSnapshot, psql: Psql) async throws -> Int64 {
        var last = (count: -1.0, at: ContinuousClock.now)
        while true {
            try await Task.sleep(for: settings.interval)
            let stored = Int64(try await psql.value("SELECT coalesce(sum(total), 0) FROM groups", name: "stored-total")) ?? -1
            if stored == served { return stored }
            let count = try await snapshot().metrics[HubMetricsText.apply + "_count"]
            if count > last.count {
                last = (count, ContinuousClock.now)
            } else if ContinuousClock.now - last.at > settings.interval * 2 + min(settings.interval, .seconds(10)) {
                return stored
            }
        }
    }

    /// One job of every leaf, each leaf at its own loopback address.
    private func config(port: Int) -> String {
        let timeout = min(settings.interval, .seconds(10))
        var text = """
            global:
              scrape_interval: \(DurationParser.format(settings.interval))
              scrape_timeout: \(DurationParser.format(timeout))
              max_concurrent_scrapes: \(settings.maxConcurrentScrapes)
            leaves:
              - name: bench
                static_configs:
                  - targets:

            """
        for index in 0..<fleet.shape.leaves { text += "        - \"\(IngestLeafFleet.address(of: index)):\(port)\"\n" }
        return text
    }

    private func measure(hub: HubProcess, work: String, postmaster: inout pid_t?) async throws {
        let started = ContinuousClock.now
        let port = try await hub.listeningPort(within: .seconds(300))
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        do {
            try await measure(hub: hub, client: client, work: work, started: started, port: port, postmaster: &postmaster)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func measure(
        hub: HubProcess, client: HTTPClient, work: String, started: ContinuousClock.Instant, port: Int, postmaster: inout pid_t?
    ) async throws {
        let timings = HubTimings(base: "http://127.0.0.1:\(port)", client: client)
        try await HubBenchmark.waitUntilReady(timings, hub: hub)
        var socket = try hub.postgresSocket()
        postmaster = socket.postmaster
        let psql = Psql(socketDirectory: socket.directory, port: socket.port, workDirectory: work)
        let stats = settings.statementStats ? StatementStats(psql: psql) : nil
        if stats != nil {
            socket = try await StatementStats.enable(hub: hub, psql: psql, postmaster: socket.postmaster)
            postmaster = socket.postmaster
        }
        say("hub ready on 127.0.0.1:\(port) after \(HubBenchmark.seconds(ContinuousClock.now - started)); PostgreSQL pid \(socket.postmaster)")
        let snapshot = { try await IngestSnapshot.take(timings: timings, hubPID: hub.process.processIdentifier, postmaster: socket.postmaster, psql: psql) }

        // Warm-up: every leaf's first report (all its groups new), then more of the steady state.
        let leaves = fleet.shape.leaves
        // A hub that falls behind takes long over it: wait while it gets on, not for a fixed time.
        // Counted by leaf, not by applied scrapes: a leaf whose scrapes stopped must not hide behind another's.
        var last = (count: -1, at: ContinuousClock.now)
        while true {
            let count = Int(try await psql.value("SELECT count(*) FROM leaves WHERE last_applied IS NOT NULL", name: "leaves-applied")) ?? 0
            if count >= leaves { break }
            if count > last.count {
                last = (count, ContinuousClock.now)
            } else if ContinuousClock.now - last.at > .seconds(120) {
                throw BenchError("no further leaf was applied for 120 s during the warm-up (\(count) of \(leaves) leaves applied once)")
            }
            if !hub.process.isRunning { throw BenchError("the hub exited during the warm-up") }
            try await Task.sleep(for: .seconds(1))
        }
        say("every leaf applied once after \(HubBenchmark.seconds(ContinuousClock.now - started)); warming up for \(DurationParser.format(settings.warmup))…")
        try await Task.sleep(for: settings.warmup)

        try await stats?.reset()
        var windows: [IngestWindow] = []
        var start = try await snapshot()
        for number in 1...settings.windows {
            try await Task.sleep(until: start.time + settings.window)
            let end = try await snapshot()
            let window = IngestWindow(from: start, to: end, leaves: leaves, interval: settings.interval)
            say("  window \(number): \(Int(window.applied)) of \(Int(window.due.rounded())) scrapes applied, \(IngestReport.rowsPerSecond(window)) rows/s")
            windows.append(window)
            start = end
        }

        let statements = try await stats?.report()

        // Exactness: once every leaf's last body is applied, the groups hold exactly what the leaves counted.
        fleet.freeze()
        let served = fleet.servedTotal
        let stored = try await settle(served: served, snapshot: snapshot, psql: psql)

        say("timing COPY of one window's rows into copies of the tables…")
        let median = windows.sorted { $0.rowsWritten < $1.rowsWritten }[windows.count / 2]
        let copies = try await CopyReference(psql: psql, work: work, postmaster: socket.postmaster).measure(median.rows)
        say("")
        say(IngestReport(leaves: leaves, interval: settings.interval, windows: windows, copies: copies, storedTotal: stored, servedTotal: served).text)
        if let statements { say("\n" + statements) }
        if stored != served {
            throw BenchError("the hub's groups total \(stored) occurrences, the leaves counted \(served): counting is not exact")
        }
    }
}
