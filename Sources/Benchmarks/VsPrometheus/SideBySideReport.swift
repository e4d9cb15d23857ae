import Foundation

/// The side-by-side table: per mode the medians over the runs (min–max), and Prometheus's cost
/// over the leaf's.
struct SideBySideReport {
    var rows: [SideBySideRow]

    var text: String {
        var lines = [
            "| | Prometheus CPU-ms per scrape | leaf CPU-ms per scrape | ratio (Prometheus ÷ leaf) |",
            "|---|--:|--:|--:|",
        ]
        for row in rows {
            let prometheus = Summary(row.prometheus.map(\.millisecondsPerScrape))
            let leaf = Summary(row.leaf.map(\.millisecondsPerScrape))
            lines.append("| \(SideBySide.title(row.mode)) | \(Self.spread(prometheus)) | \(Self.spread(leaf)) | \(Self.number(prometheus.median / leaf.median, digits: 2)) |")
        }
        lines += [
            "",
            "| | Prometheus scrapes done/due | leaf scrapes done/due | Prometheus failed | leaf failed | Prometheus RSS | leaf RSS |",
            "|---|--:|--:|--:|--:|--:|--:|",
        ]
        for row in rows {
            lines.append(
                "| \(SideBySide.title(row.mode)) | \(Self.doneOfDue(row.prometheus)) | \(Self.doneOfDue(row.leaf)) | \(row.prometheus.map(\.failed).reduce(0, +)) | "
                    + "\(row.leaf.map(\.failed).reduce(0, +)) | \(Self.memory(row.prometheus)) | \(Self.memory(row.leaf)) |")
        }
        let runs = rows.map { max($0.prometheus.count, $0.leaf.count) }.max() ?? 0
        lines += [
            "",
            "CPU from /proc/PID/stat over each window; medians of \(runs) run\(runs == 1 ? "" : "s") (min–max); scrapes done, failed and RSS are "
                + "medians, sums and medians over the runs. Prometheus's scrapes are its prometheus_target_interval_length_seconds_count, "
                + "its failures the samples of up that are 0; the leaf's are its canopy_target_scrapes_total and canopy_target_scrape_failures_total.",
        ]
        let errors = rows.flatMap { $0.prometheus.flatMap(\.errors).map { "Prometheus: \($0)" } + $0.leaf.flatMap(\.errors).map { "leaf: \($0)" } }
        if !errors.isEmpty { lines.append("Targets down at the end of a window: " + ErrorTally(errors).text) }
        return lines.joined(separator: "\n")
    }

    static func spread(_ summary: Summary) -> String {
        "\(number(summary.median, digits: 3)) (\(number(summary.min, digits: 3))–\(number(summary.max, digits: 3)))"
    }

    static func number(_ value: Double, digits: Int) -> String {
        value.isFinite ? String(format: "%.\(digits)f", value) : "-"
    }

    static func doneOfDue(_ windows: [ScraperWindow]) -> String {
        let done = Summary(windows.map { Double($0.scrapes) }).median
        let due = Summary(windows.map { Double($0.due) }).median
        return done.isFinite ? "\(Int(done))/\(Int(due))" : "-"
    }

    static func memory(_ windows: [ScraperWindow]) -> String {
        let median = Summary(windows.map { Double($0.residentBytes) }).median
        return median.isFinite ? mebibytes(Int(median)) : "-"
    }
}

/// Distinct error messages with how often each came, most frequent first.
struct ErrorTally {
    var counts: [(message: String, count: Int)]

    init(_ messages: [String]) {
        var counts: [String: Int] = [:]
        for message in messages { counts[message, default: 0] += 1 }
        self.counts = counts.map { ($0.key, $0.value) }.sorted { $0.count != $1.count ? $0.count > $1.count : $0.message < $1.message }
    }

    var text: String {
        counts.prefix(5).map { "\($0.count)× \($0.message)" }.joined(separator: "; ") + (counts.count > 5 ? "; …" : "")
    }
}
