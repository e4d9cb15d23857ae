import Foundation

/// The printed result of `canopy-bench hub ingest`: one line per window and their medians, then
/// the rows written per table beside COPY's speed for the same rows, and the ratio of the two.
struct IngestReport {
    let leaves: Int
    let interval: Duration
    let windows: [IngestWindow]
    let copies: [CopyReference.Table]
    let storedTotal: Int64
    let servedTotal: Int64

    var text: String {
        var lines: [String] = []
        lines.append("| window | applied / due | failed | apply p50 | apply p90 | apply mean | hub CPU / scrape | PostgreSQL CPU / scrape | PostgreSQL CPU | rows/s | rows / apply-s |")
        lines.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for (number, window) in windows.enumerated() { lines.append(row("\(number + 1)", Self.columns(window))) }
        let columns = windows.map(Self.columns)
        let medians = (0..<(columns.first?.count ?? 0)).map { index in Self.median(columns.map { $0[index] }) }
        lines.append(row("median", medians))
        lines.append("")
        lines.append("apply times from the hub's canopy_hub_apply_transaction_seconds histogram (interpolated in its buckets); CPU from /proc")
        lines.append("")

        let median = windows.sorted { $0.rowsWritten < $1.rowsWritten }[windows.count / 2]
        lines.append("| table | rows written / window | rows / scrape | hub rows/s | COPY rows/s |")
        lines.append("|---|---|---|---|---|")
        for table in copies {
            let written = Double(table.rows)
            lines.append(
                "| \(table.name) | \(table.rows) | \(Self.number(written / max(1, median.applied), digits: 1)) | "
                    + "\(Self.number(written / median.seconds, digits: 0)) | \(Self.number(table.rowsPerSecond, digits: 0)) |")
        }
        let rows = Double(copies.reduce(0) { $0 + $1.rows })
        let copySeconds = copies.reduce(0) { $0 + $1.scaledMilliseconds } / 1000
        let copyRate = copySeconds > 0 ? rows / copySeconds : .nan
        let hubRate = median.applySeconds > 0 ? Double(median.rowsWritten) / median.applySeconds : .nan
        lines.append(
            "| all | \(Int(rows)) | \(Self.number(rows / max(1, median.applied), digits: 1)) | \(Self.number(rows / median.seconds, digits: 0)) | "
                + "\(Self.number(copyRate, digits: 0)) |")
        // Per CPU-second: the hub's rows cost its own CPU and PostgreSQL's; COPY's, PostgreSQL's
        // (psql only reads a file). On a shared machine CPU is steadier than wall time.
        let hubCPURate = Double(median.rowsWritten) / (median.hubCPU + median.databaseCPU)
        let copyCPU = copies.reduce(0) { $0 + ($1.copied == 0 ? 0 : $1.databaseCPUSeconds * Double($1.rows) / Double($1.copied)) }
        let copyCPURate = copyCPU > 0 ? rows / copyCPU : .nan
        lines.append("")
        lines.append("hub: \(Self.number(hubRate, digits: 0)) rows per second of apply time (the median window's rows / the sum of its transactions' times), \(Self.number(hubCPURate, digits: 0)) rows per CPU-second (hub + PostgreSQL)")
        lines.append("COPY: \(Self.number(copyRate, digits: 0)) rows/s, \(Self.number(copyCPURate, digits: 0)) rows per PostgreSQL CPU-second (the same window's rows of each table, \\copy into a LIKE … INCLUDING ALL copy)")
        // PostgreSQL's side alone: what the same rows cost the database written by the hub and by COPY.
        let databaseCPURate = Double(median.rowsWritten) / median.databaseCPU
        lines.append("COPY ratio: \(Self.number(100 * hubCPURate / copyCPURate, digits: 1)) % per CPU-second (goal ≥ 50 %); per apply-second against COPY's wall time: \(Self.number(100 * hubRate / copyRate, digits: 1)) %")
        lines.append("PostgreSQL alone: \(Self.number(databaseCPURate, digits: 0)) rows per PostgreSQL CPU-second, \(Self.number(100 * databaseCPURate / copyCPURate, digits: 1)) % of COPY's")
        lines.append(
            "exact: \(storedTotal == servedTotal ? "yes" : "NO"): the hub's groups total \(storedTotal) occurrences, the \(leaves) leaves counted \(servedTotal)")
        return lines.joined(separator: "\n")
    }

    private func row(_ name: String, _ values: [Double]) -> String {
        let formatted = [
            "\(Self.number(values[0], digits: 0)) / \(Self.number(values[1], digits: 0))", Self.number(values[2], digits: 0),
            Self.milliseconds(values[3]), Self.milliseconds(values[4]), Self.milliseconds(values[5]), Self.milliseconds(values[6]),
            Self.milliseconds(values[7]), "\(Self.number(values[8], digits: 2)) cores", Self.number(values[9], digits: 0), Self.number(values[10], digits: 0),
        ]
        return "| \(name) | " + formatted.joined(separator: " | ") + " |"
    }

    /// applied, due, failed, p50, p90, mean, hub CPU per scrape, database CPU per scrape (seconds),
    /// database cores, rows/s, rows per apply-second.
    static func columns(_ window: IngestWindow) -> [Double] {
        let applied = max(1, window.applied)
        return [
            window.applied, window.due, window.failed, window.p50 ?? .nan, window.p90 ?? .nan, window.applySeconds / applied,
            window.hubCPU / applied, window.databaseCPU / applied, window.databaseCPU / window.seconds,
            Double(window.rowsWritten) / window.seconds, window.applySeconds > 0 ? Double(window.rowsWritten) / window.applySeconds : .nan,
        ]
    }

    static func rowsPerSecond(_ window: IngestWindow) -> String { number(Double(window.rowsWritten) / window.seconds, digits: 0) }

    static func median(_ values: [Double]) -> Double {
        let known = values.filter { !$0.isNaN }.sorted()
        guard !known.isEmpty else { return .nan }
        return known.count % 2 == 1 ? known[known.count / 2] : (known[known.count / 2 - 1] + known[known.count / 2]) / 2
    }

    static func milliseconds(_ seconds: Double) -> String { seconds.isNaN ? "n/a" : number(seconds * 1000, digits: seconds < 0.01 ? 2 : 1) + " ms" }

    /// `value` with `digits` decimals and thousands separated by commas.
    static func number(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return "n/a" }
        let text = String(format: "%.\(digits)f", abs(value))
        let whole = text.prefix { $0 != "." }
        var grouped = ""
        for (index, character) in whole.enumerated() {
            if index > 0 && (whole.count - index) % 3 == 0 { grouped.append(",") }
            grouped.append(character)
        }
        return (value < 0 ? "-" : "") + grouped + text.dropFirst(whole.count)
    }
}
