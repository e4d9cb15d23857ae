#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// `canopy-bench hub ingest --statement-stats`: PostgreSQL's own account of the hub's statements
/// over the measured windows (`pg_stat_statements`), to see which statement the database's CPU goes
/// to. Loading the module takes a restart: the postmaster is stopped (a fast shutdown) and the hub
/// starts it again, as it does after any crash, before any leaf is scraped.
struct StatementStats {
    let psql: Psql

    /// Loads the module; returns the restarted cluster's socket and postmaster.
    static func enable(hub: HubProcess, psql: Psql, postmaster: pid_t) async throws -> (directory: String, port: Int, postmaster: pid_t) {
        _ = try await psql.run("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements';", name: "stats-preload")
        kill(postmaster, SIGINT)
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .seconds(1))
            guard let socket = try? hub.postgresSocket(), socket.postmaster != postmaster, kill(socket.postmaster, 0) == 0,
                (try? await psql.value("SELECT 1;", name: "stats-up")) == "1"
            else { continue }
            _ = try await psql.run("CREATE EXTENSION IF NOT EXISTS pg_stat_statements;", name: "stats-extension")
            return socket
        }
        throw BenchError("the hub did not start its PostgreSQL again within 120 s of the restart that loads pg_stat_statements")
    }

    func reset() async throws {
        _ = try await psql.run("SELECT pg_stat_statements_reset();", name: "stats-reset")
    }

    /// The statements that took most of the database's time since the reset, as a Markdown table.
    func report(limit: Int = 12) async throws -> String {
        let rows = try await psql.run(
            """
            SELECT calls, round(total_exec_time::numeric, 1), round((total_exec_time / calls)::numeric, 3), rows,
                   shared_blks_hit + shared_blks_read, wal_records,
                   left(regexp_replace(query, '\\s+', ' ', 'g'), 120)
            FROM pg_stat_statements WHERE calls > 0 ORDER BY total_exec_time DESC LIMIT \(limit);
            """, name: "stats-report")
        var lines = [
            "PostgreSQL's statements over the windows (pg_stat_statements, by total time):", "",
            "| calls | total ms | ms / call | rows | buffers | WAL records | statement |", "|--:|--:|--:|--:|--:|--:|---|",
        ]
        for row in rows.split(separator: "\n") {
            let fields = row.split(separator: "|", maxSplits: 6, omittingEmptySubsequences: false)
            guard fields.count == 7 else { continue }
            lines.append("| " + fields[0..<6].joined(separator: " | ") + " | `" + fields[6].replacingOccurrences(of: "`", with: "'") + "` |")
        }
        return lines.joined(separator: "\n")
    }
}
