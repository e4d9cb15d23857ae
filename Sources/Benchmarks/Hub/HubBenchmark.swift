#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import AsyncHTTPClient
import Foundation
import Shared

/// The hub benchmark from start to end: a release hub on a fresh data dir, the fill, the timed
/// requests, the query plans of the slow ones; then the hub is stopped (and with it its
/// PostgreSQL) and the data dir removed, whatever happened.
struct HubBenchmark {
    struct Settings: Sendable {
        var hubExecutable: String
        var dataDir: String
        var keepDataDir: Bool
        var fill: HubFill.Shape
        var workers: Int
        var rounds: Int
        var warmup: Int
        var explainAboveMilliseconds: Double
        var explainFile: String
    }

    let settings: Settings

    func run() async throws {
        let dataDir = settings.dataDir
        let work = try HubProcess.makeDataDir(dataDir)
        let config = work + "/hub.yml"
        try Self.config.write(toFile: config, atomically: true, encoding: .utf8)

        say("canopy-bench hub: \(settings.hubExecutable), data dir \(dataDir)")
        let hub = try HubProcess.start(executable: settings.hubExecutable, dataDir: dataDir, config: config, logPath: work + "/hub.log")
        var failure: (any Error)?
        var postmaster: pid_t?
        var slow: [HubTimings.Endpoint] = []
        do {
            slow = try await measure(hub: hub, work: work, postmaster: &postmaster)
        } catch {
            failure = error
        }
        hub.terminate()
        Self.stopOrphan(postmaster)
        if failure == nil && !slow.isEmpty {
            do {
                try await HubPlans(settings: settings, work: work).collect(slow)
            } catch {
                failure = error
            }
            Self.stopOrphan(try? hub.postgresSocket().postmaster)
        }
        if settings.keepDataDir {
            say("kept \(dataDir) (hub log: \(work)/hub.log); reopen with: \(settings.hubExecutable) --data-dir \(dataDir) --listen 127.0.0.1:0")
        } else {
            do {
                try FileManager.default.removeItem(atPath: dataDir)
            } catch {
                say("warning: could not remove \(dataDir): \(error)")
            }
        }
        if let failure {
            if !settings.keepDataDir { say("hub log:\n\(hub.logTail)") }
            throw failure
        }
    }

    /// Ten leaves that never answer (nothing listens on these ports): the hub knows them, the
    /// leaves endpoint lists them with their health, and failed scrapes add a row a minute each.
    static var config: String {
        var text = "global:\n  scrape_interval: 1m\n  scrape_timeout: 5s\nleaves:\n"
        for index in 1...HubFill.leaves {
            let team = HubFill.teams[(index - 1) % 8]
            text += "  - name: leaf-\(team)\(index > 8 ? "-us" : "")\n    static_configs:\n      - targets: [\"127.0.0.1:\(index)\"]\n"
        }
        return text
    }

    /// Fills the database and times the endpoints; returns the slow ones.
    private func measure(hub: HubProcess, work: String, postmaster: inout pid_t?) async throws -> [HubTimings.Endpoint] {
        let started = ContinuousClock.now
        let port = try await hub.listeningPort(within: .seconds(300))
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        do {
            let timings = HubTimings(base: "http://127.0.0.1:\(port)", client: client)
            try await Self.waitUntilReady(timings, hub: hub)
            let socket = try hub.postgresSocket()
            postmaster = socket.postmaster
            say("hub ready on 127.0.0.1:\(port) after \(Self.seconds(ContinuousClock.now - started)); PostgreSQL at \(socket.directory) (pid \(socket.postmaster))")
            let psql = Psql(socketDirectory: socket.directory, port: socket.port, workDirectory: work)
            let fill = HubFill(shape: settings.fill, now: Date())
            try await self.fill(fill, psql: psql)
            let slow = try await benchmark(timings, fill: fill, psql: psql)
            try await client.shutdown()
            return slow
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// A postmaster that outlived its hub (it should stop with it) is stopped here.
    static func stopOrphan(_ postmaster: pid_t?) {
        guard let postmaster, isRunning(postmaster) else { return }
        say("warning: the hub's PostgreSQL (pid \(postmaster)) outlived the hub: stopping it")
        kill(postmaster, SIGINT)
        for _ in 0..<600 where isRunning(postmaster) { usleep(50_000) }
    }

    static func waitUntilReady(_ timings: HubTimings, hub: HubProcess) async throws {
        let deadline = ContinuousClock.now + .seconds(300)
        var problem = "no answer"
        while ContinuousClock.now < deadline {
            do {
                _ = try await timings.get("/-/ready")
                return
            } catch {
                problem = "\(error)"
            }
            if !hub.process.isRunning { throw BenchError("the hub exited before it was ready:\n\(hub.logTail)") }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw BenchError("the hub was not ready within 300s: \(problem)")
    }

    private func fill(_ fill: HubFill, psql: Psql) async throws {
        let shape = fill.shape
        say(
            "filling: \(shape.groups) groups (\(shape.hotGroups) hot, \(shape.warmGroups) warm), \(shape.days) days of minute history "
                + "from \(HubFill.iso(fill.start)) to \(HubFill.iso(fill.now)), \(settings.workers) psql sessions")
        let started = ContinuousClock.now
        var step = ContinuousClock.now
        func done(_ what: String) {
            say("  \(what): \(Self.seconds(ContinuousClock.now - step))")
            step = ContinuousClock.now
        }
        _ = try await psql.run(fill.setupSQL, name: "fill-setup")
        done("partitions, leaves")
        let days = fill.days
        let workers = settings.workers
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask {
                    for index in stride(from: worker, to: days.count, by: workers) {
                        _ = try await psql.run(fill.preamble + fill.countsSQL(day: days[index]), name: "fill-history-\(index)")
                    }
                }
            }
            try await group.waitForAll()
        }
        done("minute history, \(days.count) day partitions")
        _ = try await psql.run(fill.groupsSQL, name: "fill-groups")
        done("groups")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { _ = try await psql.run(fill.samplesAndCursorsSQL, name: "fill-samples") }
            group.addTask { _ = try await psql.run(fill.logsSQL, name: "fill-logs") }
            try await group.waitForAll()
        }
        done("samples, cursors, status changes, snapshot log")
        _ = try await psql.run(HubFill.seriesSQL, name: "fill-series")
        done("series, a copy of the groups' history")
        let statistics = try await psql.run(HubFill.statisticsSQL, name: "fill-statistics")
        done("VACUUM (ANALYZE) and counting")
        say("fill took \(Self.seconds(ContinuousClock.now - started)):")
        for line in statistics.split(separator: "\n") {
            let parts = line.split(separator: "|", maxSplits: 1)
            if parts.count == 2 { say("  \(parts[0]): \(parts[1])") }
        }
    }

    private func benchmark(_ timings: HubTimings, fill: HubFill, psql: Psql) async throws -> [HubTimings.Endpoint] {
        // The minutes that passed while filling, so that the last hour is a whole hour.
        _ = try await psql.run(fill.topUpSQL(until: Date()), name: "top-up")
        // The hub refreshes its window counts every minute: wait for a refresh of the whole history.
        say("waiting 65 s for the hub's window counts to be refreshed from the filled history…")
        try await Task.sleep(for: .seconds(65))
        let windows = try await psql.value("SELECT count(*) FROM group_windows WHERE window_seconds = 86400", name: "windows")
        say("  groups with occurrences in the last day: \(windows)")
        let team = HubFill.teams[0]
        let service = try await psql.value(
            "SELECT service FROM groups WHERE team = '\(team)' GROUP BY service ORDER BY count(*) DESC LIMIT 1", name: "pick-service")
        let hotGroup: Int64 = 1
        var hotKey: (team: String, service: String, key: String)?
        if let detail = try await timings.json("/api/v1/groups/\(hotGroup)") as? [String: Any] {
            if let group = detail["group"] as? [String: Any], let team = group["team"] as? String, let service = group["service"] as? String,
                let key = group["aggregation_key"] as? String
            {
                hotKey = (team, service, key)
            }
            let samples = (detail["samples"] as? [Any])?.count ?? 0
            if samples != 3 { say("warning: group \(hotGroup) shows \(samples) samples, not the 3 stored: does the hub decode them?") }
        }
        // The cursor of page 21, following next_cursor as a client would.
        var cursor = ""
        for page in 1...20 {
            let path = cursor.isEmpty ? "/api/v1/groups" : "/api/v1/groups?cursor=" + (cursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? cursor)
            guard let list = try await timings.json(path) as? [String: Any], let next = list["next_cursor"] as? String else {
                throw BenchError("page \(page) of /api/v1/groups has no next_cursor")
            }
            cursor = next
        }
        let endpoints = HubTimings.endpoints(
            team: team, service: service, hotGroup: hotGroup, hotKey: hotKey, searchText: HubFill.rareFrame, weekAgo: Date().addingTimeInterval(-7 * 86400), deepCursor: cursor)
        say("measuring \(endpoints.count) endpoints: \(settings.warmup) warm-up rounds, then \(settings.rounds) timed rounds, one keep-alive connection…")
        let results = try await timings.measure(endpoints, warmup: settings.warmup, rounds: settings.rounds)
        say("")
        say(HubTimings.table(results))
        say("")
        let slow = results.filter { $0.median > settings.explainAboveMilliseconds }
        guard !slow.isEmpty else {
            say("every endpoint's median is within \(settings.explainAboveMilliseconds) ms")
            return []
        }
        try await HubPlans.enable(psql: psql, aboveMilliseconds: settings.explainAboveMilliseconds)
        return slow.map(\.endpoint)
    }

    /// Whether `pid` still runs: a postmaster that stopped stays a zombie until PID 1 reaps it, and
    /// a zombie has no command line.
    static func isRunning(_ pid: pid_t) -> Bool {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        return !data.isEmpty
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.1f s", duration.seconds)
    }
}
