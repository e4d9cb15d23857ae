#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// PostgreSQL's own bulk load of what the hub wrote in one window, as the speed to compare with:
/// for each table, as many of the hub's own rows as it wrote (same shapes, same values) are
/// exported with `\copy`, then `\copy`-ed (timed by psql) into a copy of the table made with
/// `LIKE ... INCLUDING ALL`, so that COPY maintains the same indexes the hub's writes do. A table
/// holding fewer rows than were written (updates of the same rows) is copied whole, and its time
/// scaled to the rows written.
struct CopyReference {
    struct Table: Sendable {
        var name: String
        var rows: Int
        var copied: Int
        var milliseconds: Double
        /// PostgreSQL's CPU over the COPY (all its processes, from /proc).
        var databaseCPUSeconds: Double
        /// The time COPY would take for `rows`.
        var scaledMilliseconds: Double { copied == 0 ? 0 : milliseconds * Double(rows) / Double(copied) }
        var rowsPerSecond: Double { milliseconds > 0 ? Double(copied) / (milliseconds / 1000) : .nan }
    }

    let psql: Psql
    let work: String
    let postmaster: pid_t

    func measure(_ rows: [String: Int]) async throws -> [Table] {
        var tables: [Table] = []
        for (name, count) in rows.sorted(by: { $0.key < $1.key }) where count > 0 {
            let file = "\(work)/copy-\(name).tsv"
            let copy = "bench_copy_\(name)"
            _ = try await psql.run(
                """
                DROP TABLE IF EXISTS \(copy);
                CREATE TABLE \(copy) (LIKE \(name) INCLUDING ALL);
                \\copy (SELECT * FROM \(name) LIMIT \(count)) TO '\(file)'
                CHECKPOINT;
                """, name: "copy-\(name)-setup")
            // The COPY alone in its session, so that PostgreSQL's CPU over it is the COPY's.
            let before = try DatabaseCPU(postmaster: postmaster).seconds()
            let output = try await psql.run(
                """
                \\timing on
                \\copy \(copy) FROM '\(file)'
                \\timing off
                SELECT 'copied|' || count(*) FROM \(copy);
                """, name: "copy-\(name)")
            let cpu = try DatabaseCPU(postmaster: postmaster).seconds() - before
            _ = try await psql.run("DROP TABLE \(copy);", name: "copy-\(name)-drop")
            try? FileManager.default.removeItem(atPath: file)
            var milliseconds: Double?
            var copied: Int?
            for line in output.split(separator: "\n") {
                if line.hasPrefix("Time: "), let value = Double(line.dropFirst(6).prefix { $0 != " " }) { milliseconds = value }
                if line.hasPrefix("copied|") { copied = Int(line.dropFirst(7)) }
            }
            guard let milliseconds, let copied else { throw BenchError("psql printed no COPY time or row count for \(name):\n\(output.prefix(2000))") }
            tables.append(Table(name: name, rows: count, copied: copied, milliseconds: milliseconds, databaseCPUSeconds: cpu))
        }
        return tables
    }
}
