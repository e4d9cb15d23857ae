import AsyncHTTPClient
import Foundation

/// The query plans behind the slow endpoints, as PostgreSQL ran them for the hub: `auto_explain`
/// (ANALYZE, BUFFERS) is switched on in the hub's private cluster, the hub restarted so that its
/// sessions load it, each slow endpoint requested once, and the plans read back from the
/// server's log. Nothing here repeats the hub's SQL, so the plans cannot drift from it.
struct HubPlans {
    let settings: HubBenchmark.Settings
    let work: String

    /// Turns auto_explain on for new sessions; call while the hub (and so its cluster) still runs.
    static func enable(psql: Psql, aboveMilliseconds: Double) async throws {
        _ = try await psql.run(
            """
            LOAD 'auto_explain';
            ALTER SYSTEM SET session_preload_libraries = 'auto_explain';
            ALTER SYSTEM SET auto_explain.log_min_duration = '\(max(1, Int(aboveMilliseconds / 4)))ms';
            ALTER SYSTEM SET auto_explain.log_analyze = on;
            ALTER SYSTEM SET auto_explain.log_buffers = on;
            SELECT pg_reload_conf();
            """, name: "auto-explain-on")
    }

    /// Restarts the hub on the same data dir, requests `endpoints` once each, writes the plans
    /// logged meanwhile to `settings.explainFile` and prints a line per plan.
    func collect(_ endpoints: [HubTimings.Endpoint]) async throws {
        let logPath = "\(settings.dataDir)/postgres/postgres.log"
        let hub = try HubProcess.start(executable: settings.hubExecutable, dataDir: settings.dataDir, config: work + "/hub.yml", logPath: work + "/hub-plans.log")
        defer { hub.terminate() }
        let port = try await hub.listeningPort(within: .seconds(300))
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        do {
            let timings = HubTimings(base: "http://127.0.0.1:\(port)", client: client)
            try await HubBenchmark.waitUntilReady(timings, hub: hub)
            let offset = Self.size(of: logPath)
            for endpoint in endpoints { _ = try await timings.get(endpoint.path) }
            // The server's log is written by its logging collector or stderr: give it a moment.
            try await Task.sleep(for: .seconds(1))
            let entries = Self.entries(Self.read(logPath, from: offset))
            let threshold = settings.explainAboveMilliseconds / 4
            let plans = "auto_explain (ANALYZE, BUFFERS) of the hub's queries above \(threshold) ms, \(Date())\nendpoints: "
                + endpoints.map(\.path).joined(separator: ", ") + "\n\n" + entries.joined(separator: "\n\n")
            try plans.write(toFile: settings.explainFile, atomically: true, encoding: .utf8)
            say("plans of the slow endpoints' queries as the hub ran them (full plans in \(settings.explainFile)):")
            for entry in entries { say("  " + Self.summary(entry)) }
            if entries.isEmpty { say("  no query above \(threshold) ms on a second run") }
            let socket = try hub.postgresSocket()
            _ = try await Psql(socketDirectory: socket.directory, port: socket.port, workDirectory: work).run(
                "ALTER SYSTEM RESET session_preload_libraries; ALTER SYSTEM RESET auto_explain.log_min_duration; "
                    + "ALTER SYSTEM RESET auto_explain.log_analyze; ALTER SYSTEM RESET auto_explain.log_buffers; SELECT pg_reload_conf();",
                name: "auto-explain-off")
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    /// The log's auto_explain entries: a `duration: ... plan:` line and its tab-indented lines.
    static func entries(_ log: String) -> [String] {
        var entries: [String] = []
        var current: [Substring] = []
        for line in log.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.contains("LOG:  duration: ") && line.hasSuffix("plan:") {
                if !current.isEmpty { entries.append(current.joined(separator: "\n")) }
                current = [line]
            } else if !current.isEmpty && line.hasPrefix("\t") {
                current.append(line)
            } else if !current.isEmpty {
                entries.append(current.joined(separator: "\n"))
                current = []
            }
        }
        if !current.isEmpty { entries.append(current.joined(separator: "\n")) }
        return entries
    }

    /// "123.4 ms: SELECT g.id, g.team, … FROM groups g WHERE …" for an entry.
    static func summary(_ entry: String) -> String {
        let lines = entry.split(separator: "\n")
        let duration = lines.first.flatMap { line in line.range(of: "duration: ").map { line[$0.upperBound...].prefix { $0 != " " } } } ?? "?"
        // The query's first lines, on one line: enough to tell the hub's queries apart.
        let start = lines.firstIndex { $0.contains("Query Text:") }
        let text = start.map { lines[$0..<min(lines.count, $0 + 4)].joined(separator: " ") } ?? ""
        let query = text.replacingOccurrences(of: "Query Text:", with: "").split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return "\(duration) ms: \(query.prefix(110))"
    }

    private static func size(of path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    private static func read(_ path: String, from offset: Int) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        try? handle.seek(toOffset: UInt64(offset))
        return String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
    }
}
