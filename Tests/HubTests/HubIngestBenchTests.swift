import CanopyTestSupport
import Foundation
import Testing

/// `canopy-bench hub ingest` on tiny settings with the debug binaries: it runs to the end, its
/// leaves were scraped and applied, its counting check held, and it printed COPY ratios (hub and PostgreSQL, and PostgreSQL alone).
@Suite(.serialized) struct HubIngestBenchTests {
    @Test func theIngestBenchmarkPrintsAppliedScrapesAndACopyRatio() throws {
        let directory = NSTemporaryDirectory() + "canopy-ingest-bench-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let run = try ServerProcess.run(
            "canopy-bench",
            [
                "hub", "ingest", "--hub", try ServerProcess.binary("canopy-hub").path, "--leaves", "5", "--groups", "10", "--changing-percent", "20",
                "--samples", "3", "--scrape-interval", "1s", "--warmup", "1s", "--window-count", "1", "--window-length", "3s", "--data-dir", directory,
                "--statement-stats",
            ])
        #expect(run.status == 0, "\(run.output.suffix(3000))")
        let report = run.output.components(separatedBy: "PostgreSQL's statements")
        let windows = report[0].split(separator: "\n").filter { $0.hasPrefix("| 1 |") }
        #expect(windows.count == 1, "\(run.output.suffix(3000))")
        // "| 1 | 14 / 15 | ..." : applied scrapes, then due.
        let applied = windows.first.flatMap { Int($0.split(separator: "|")[1].split(separator: "/")[0].trimmingCharacters(in: .whitespaces)) }
        #expect((applied ?? 0) > 0, "\(run.output.suffix(3000))")
        let ratio = run.output.split(separator: "\n").first { $0.hasPrefix("COPY ratio: ") }
            .flatMap { Double($0.dropFirst("COPY ratio: ".count).prefix { $0 != " " }.replacingOccurrences(of: ",", with: "")) }
        #expect(ratio.map { $0 > 0 && $0.isFinite } == true, "\(run.output.suffix(3000))")
        // PostgreSQL's side alone beside COPY's: "PostgreSQL alone: 12,345 rows per PostgreSQL CPU-second, 8.1 % of COPY's".
        let alone = run.output.split(separator: "\n").first { $0.hasPrefix("PostgreSQL alone: ") }
            .flatMap { $0.split(separator: ", ").last.flatMap { Double($0.prefix { $0 != " " }.replacingOccurrences(of: ",", with: "")) } }
        #expect(alone.map { $0 > 0 && $0.isFinite && $0 >= (ratio ?? .infinity) } == true, "\(run.output.suffix(3000))")
        #expect(run.output.contains("exact: yes"), "\(run.output.suffix(3000))")
        // PostgreSQL's own account of the statements, the groups' upsert among them.
        let statements = (report.count == 2 ? report[1] : "").split(separator: "\n").filter { $0.hasPrefix("| ") && $0.contains("`INSERT INTO groups") }
        #expect(statements.count == 1, "\(run.output.suffix(3000))")
        #expect(!FileManager.default.fileExists(atPath: directory), "the data dir is removed after the run")
    }
}
