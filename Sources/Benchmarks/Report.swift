import Foundation

/// The benchmark's printed result: what it ran, what the leaf spent, and how that compares with
/// the goal in ARCHITECTURE.md ("Cost of a scrape").
struct Report {
    /// Prometheus 2.42 on this machine, per 200 KB exposition scraped and stored (ARCHITECTURE.md).
    static let prometheusMilliseconds = 2.8
    static let prometheusBytes = 200 * 1024

    var micro: MicroBenchmark.Result
    var results: [ModeResult]

    var text: String {
        var lines: [String] = []
        lines.append(
            "in-process, \(kilobytes(micro.bytes)) body (\(micro.groups) groups): decode median \(ms(micro.decode.median)) ms "
                + "(min \(ms(micro.decode.min)), max \(ms(micro.decode.max))); hash median \(ms(micro.hash.median)) ms")
        lines.append("")
        lines.append(row("mode", "CPU-ms/scrape median", "min", "max", "schedstat-ms", "scrapes/window", "failed", "RSS"))
        for result in results {
            let cpu = Summary(result.windows.map(\.cpuMillisecondsPerScrape))
            let threads = Summary(result.windows.compactMap(\.threadMillisecondsPerScrape))
            let scrapes = Summary(result.windows.map { Double($0.scrapes) })
            lines.append(
                row(
                    result.mode.rawValue, ms(cpu.median), ms(cpu.min), ms(cpu.max), ms(threads.median), String(Int(scrapes.median)),
                    String(result.windows.map(\.failures).reduce(0, +)), String(format: "%.1f MB", Double(result.residentBytes) / 1_048_576)))
        }
        lines.append("")
        let reference = Self.prometheusMilliseconds * Double(micro.bytes) / Double(Self.prometheusBytes)
        let medians = Dictionary(results.map { ($0.mode, Summary($0.windows.map(\.cpuMillisecondsPerScrape)).median) }, uniquingKeysWith: { a, _ in a })
        if let steady = medians[.steady], let changing = medians[.changing] {
            lines.append("changing/steady: \(String(format: "%.1f", changing / steady))×")
        }
        lines.append(
            "Prometheus 2.42 (ARCHITECTURE.md): \(Self.prometheusMilliseconds) CPU-ms per 200 KB scrape, \(ms(reference)) ms scaled to \(kilobytes(micro.bytes))")
        if let steady = medians[.steady] {
            lines.append("  steady:   \(ms(steady)) ms = \(String(format: "%.1f", reference / steady))× less (goal: far less)")
        }
        if let changing = medians[.changing] {
            let verdict = changing <= reference ? "within the goal" : "ABOVE the goal"
            lines.append("  changing: \(ms(changing)) ms = \(String(format: "%.2f", changing / reference))× Prometheus (goal: no more): \(verdict)")
        }
        return lines.joined(separator: "\n")
    }

    private func row(_ columns: String...) -> String {
        let widths = [10, 22, 8, 8, 18, 16, 8, 10]
        return zip(columns, widths).enumerated().map { index, pair in
            index == 0 ? pair.0.padding(toLength: pair.1, withPad: " ", startingAt: 0) : String(repeating: " ", count: max(pair.1 - pair.0.count, 1)) + pair.0
        }.joined()
    }

    private func ms(_ value: Double) -> String { value.isNaN ? "-" : String(format: "%.3f", value) }

    private func kilobytes(_ bytes: Int) -> String { "\(bytes / 1024) KB" }
}
