#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// What the hub and its database had done by one moment: the hub's `/metrics`, both sides'
/// CPU from /proc, and PostgreSQL's own count of rows written per table. Two of them make a window.
struct IngestSnapshot: Sendable {
    var time: ContinuousClock.Instant
    var metrics: HubMetricsText
    var hubCPU: Double
    var databaseCPU: Double
    /// Rows inserted, updated and deleted per table (partitions counted in their parent).
    var rows: [String: Int]

    static let rowsSQL = """
        SELECT coalesce(p.relname, s.relname), sum(s.n_tup_ins + s.n_tup_upd + s.n_tup_del)
        FROM pg_stat_user_tables s LEFT JOIN pg_inherits i ON i.inhrelid = s.relid LEFT JOIN pg_class p ON p.oid = i.inhparent
        WHERE coalesce(p.relname, s.relname) NOT LIKE 'bench_copy_%'
          -- What the leader's background jobs write (window counts, rules) is not the ingest's, and
          -- the window refresh's marks are bookkeeping: their cost is counted, their rows are not.
          AND coalesce(p.relname, s.relname) NOT IN ('group_windows', 'window_changes', 'rule_series', 'rule_samples', 'rule_alerts', 'schema_migrations')
        GROUP BY 1 ORDER BY 1
        """

    static func take(timings: HubTimings, hubPID: pid_t, postmaster: pid_t, psql: Psql) async throws -> IngestSnapshot {
        let time = ContinuousClock.now
        let metrics = HubMetricsText(String(buffer: try await timings.get("/metrics").body))
        let hubCPU = try ProcStats(pid: hubPID).cpuSeconds()
        let databaseCPU = try DatabaseCPU(postmaster: postmaster).seconds()
        var rows: [String: Int] = [:]
        for line in try await psql.run(rowsSQL, name: "table-rows").split(separator: "\n") {
            let parts = line.split(separator: "|")
            if parts.count == 2, let count = Int(parts[1]) { rows[String(parts[0])] = count }
        }
        return IngestSnapshot(time: time, metrics: metrics, hubCPU: hubCPU, databaseCPU: databaseCPU, rows: rows)
    }
}

/// The few series of the hub's `/metrics` the benchmark reads, summed over their labels.
struct HubMetricsText: Sendable {
    static let apply = "canopy_hub_apply_transaction_seconds"
    var values: [String: Double] = [:]
    /// The apply histogram's cumulative buckets by upper bound.
    var buckets: [(bound: Double, count: Double)] = []

    init(_ text: String) {
        var buckets: [Double: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            let name = String(series.prefix { $0 != "{" })
            if name == Self.apply + "_bucket", let range = series.range(of: "le=\"") {
                let bound = series[range.upperBound...].prefix { $0 != "\"" }
                buckets[bound == "+Inf" ? .infinity : Double(bound) ?? .nan, default: 0] += value
            } else {
                values[name, default: 0] += value
            }
        }
        self.buckets = buckets.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    subscript(name: String) -> Double { values[name] ?? 0 }
}

/// PostgreSQL's CPU: the postmaster's own, its children's that exited (the kernel adds them to
/// the parent's), and its live children's (backends, WAL writer, checkpointer, autovacuum).
struct DatabaseCPU {
    let postmaster: pid_t

    func seconds() throws -> Double {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard let own = Self.fields(of: postmaster) else { throw BenchError("cannot read /proc/\(postmaster)/stat: has PostgreSQL stopped?") }
        // Fields from the state on: ppid is [1], utime [11], stime [12], cutime [13], cstime [14].
        var total = (own[11] + own[12] + own[13] + own[14]) / ticks
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), pid != postmaster, let fields = Self.fields(of: pid), fields[1] == Double(postmaster) else { continue }
            total += (fields[11] + fields[12]) / ticks
        }
        return total
    }

    /// The numeric fields of /proc/PID/stat after the command name (the state as NaN).
    private static func fields(of pid: pid_t) -> [Double]? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat"), let text = String(data: data, encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ").map { Double($0) ?? .nan }
        return fields.count > 14 ? fields : nil
    }
}

/// One measured window: the difference of two snapshots.
struct IngestWindow: Sendable {
    var seconds: Double
    var applied: Double
    var due: Double
    var failed: Double
    var applySeconds: Double
    var p50: Double?
    var p90: Double?
    var hubCPU: Double
    var databaseCPU: Double
    var rows: [String: Int]

    init(from start: IngestSnapshot, to end: IngestSnapshot, leaves: Int, interval: Duration) {
        seconds = (end.time - start.time).seconds
        let count = HubMetricsText.apply + "_count"
        applied = end.metrics[count] - start.metrics[count]
        due = Double(leaves) * seconds / interval.seconds
        failed = end.metrics["canopy_leaf_scrape_failures_total"] - start.metrics["canopy_leaf_scrape_failures_total"]
        applySeconds = end.metrics[HubMetricsText.apply + "_sum"] - start.metrics[HubMetricsText.apply + "_sum"]
        let buckets = zip(end.metrics.buckets, start.metrics.buckets).map { ($0.bound, $0.count - $1.count) }
        p50 = Self.quantile(0.5, buckets)
        p90 = Self.quantile(0.9, buckets)
        hubCPU = end.hubCPU - start.hubCPU
        databaseCPU = end.databaseCPU - start.databaseCPU
        rows = end.rows.reduce(into: [:]) { rows, entry in
            let written = entry.value - (start.rows[entry.key] ?? 0)
            if written > 0 { rows[entry.key] = written }
        }
    }

    var rowsWritten: Int { rows.values.reduce(0, +) }

    /// The `q` quantile of a cumulative histogram, linear within its bucket as Prometheus's
    /// `histogram_quantile` is; nil without observations or above the last finite bound.
    static func quantile(_ q: Double, _ buckets: [(bound: Double, count: Double)]) -> Double? {
        guard let total = buckets.last?.count, total > 0 else { return nil }
        let rank = q * total
        var lower = 0.0
        var below = 0.0
        for (bound, count) in buckets {
            if count >= rank {
                guard bound.isFinite else { return nil }
                return count == below ? bound : lower + (bound - lower) * (rank - below) / (count - below)
            }
            (lower, below) = (bound, count)
        }
        return nil
    }
}
