import Foundation
import CanopyTestSupport
import Testing

/// `canopy-bench prometheus` on tiny settings with the debug binaries: nginx, Debian's
/// Prometheus and the leaf really run, and the table has what the README says it prints.
@Suite(.serialized) struct VsPrometheusBenchTests {
    @Test(.timeLimit(.minutes(2))) func printsBothModesWithScrapesForBothScrapersAndRatios() throws {
        let leaf = try ServerProcess.binary("canopy-leaf").path
        let (status, output) = try ServerProcess.run(
            "canopy-bench",
            [
                "prometheus", "--targets", "3", "--interval", "1s", "--window", "3s", "--runs", "1", "--payload-kb", "50", "--leaf", leaf,
            ])
        #expect(status == 0, "canopy-bench prometheus failed:\n\(output)")
        for title in ["unchanged bodies", "counts change on every request"] {
            let rows = output.split(separator: "\n").filter { $0.hasPrefix("| \(title) |") }
                .map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } }
            try #require(rows.count == 2, "no row \(title) in both tables:\n\(output)")
            // | title | Prometheus CPU-ms (min–max) | leaf CPU-ms (min–max) | ratio |
            let cost = rows[0]
            let prometheusMilliseconds = Double(cost[1].split(separator: " ")[0])
            let leafMilliseconds = Double(cost[2].split(separator: " ")[0])
            #expect((prometheusMilliseconds ?? 0) > 0, "\(title): Prometheus CPU-ms is not a positive number in \(cost)")
            #expect((leafMilliseconds ?? 0) > 0, "\(title): the leaf's CPU-ms is not a positive number in \(cost)")
            #expect(Double(cost[3]).map { $0.isFinite && $0 > 0 } == true, "\(title): the ratio is not a number in \(cost)")
            // | title | Prometheus done/due | leaf done/due | failed | failed | RSS | RSS |
            let counts = rows[1]
            for (column, scraper) in [(1, "Prometheus"), (2, "the leaf")] {
                let parts = counts[column].split(separator: "/").compactMap { Int($0) }
                try #require(parts.count == 2, "\(title): \(scraper)'s scrapes done/due unreadable in \(counts)")
                // 3 targets × 3 s ÷ 1 s, over the window as measured (a little longer than 3 s on a busy machine).
                #expect(parts[0] > 0 && (9...11).contains(parts[1]), "\(title): \(scraper) did \(parts[0]) of \(parts[1]) scrapes, not about 9 due")
            }
            #expect(counts[5].hasSuffix("MiB") && counts[6].hasSuffix("MiB"), "\(title): no RSS in \(counts)")
        }
    }
}
