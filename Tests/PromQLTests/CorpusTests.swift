import Foundation
import Testing
@testable import PromQL

/// parser-corpus.txt holds queries with Prometheus 2.42's verdict on each. We must give the same
/// verdict and the same message; accepted queries must print to text that parses back equal.
@Suite struct CorpusTests {
    @Test func corpusIsLargeAndMixed() throws {
        let entries = try CorpusEntry.load()
        #expect(entries.count > 500)
        #expect(entries.filter { $0.expectedError == nil }.count > 200)
        #expect(entries.filter { $0.expectedError != nil }.count > 200)
        #expect(Set(entries.map(\.query)).count == entries.count, "duplicate queries in the corpus")
    }

    @Test func verdictsAndMessagesMatchPrometheus() throws {
        var mismatches: [String] = []
        for entry in try CorpusEntry.load() {
            let expected = entry.expectedError.map(normalizedPrometheusMessage)
            do {
                _ = try PromQLParser.parse(entry.query)
                if let expected { mismatches.append("\(entry)\n  Prometheus: \(expected)\n  ours: accepted") }
            } catch {
                if error.description != expected {
                    mismatches.append("\(entry)\n  Prometheus: \(expected ?? "accepted")\n  ours: \(error)")
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) disagreements:\n\(mismatches.joined(separator: "\n"))")
    }

    @Test func acceptedQueriesRoundTrip() throws {
        var failures: [String] = []
        for entry in try CorpusEntry.load() where entry.expectedError == nil {
            guard let tree = try? PromQLParser.parse(entry.query) else { continue }
            let printed = tree.description
            do {
                let reparsed = try PromQLParser.parse(printed)
                if reparsed != tree { failures.append("\(entry)\n  printed: \(printed)\n  reparsed: \(reparsed)") }
                if reparsed.description != printed { failures.append("\(entry)\n  printing is not stable: \(printed) then \(reparsed)") }
            } catch {
                failures.append("\(entry)\n  printed: \(printed)\n  which fails: \(error)")
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }
}

/// The same corpus through the real parser: `promtool check rules` on a rule file with one
/// recording rule per query, run once. promtool rejects exactly what Prometheus's parser rejects.
@Suite struct PromtoolAgreementTests {
    @Test func promtoolAgreesWithUsOnEveryCorpusQuery() throws {
        let entries = try CorpusEntry.load()
        let verdicts = try promtoolVerdicts(for: entries.map(\.query))
        var disagreements: [String] = []
        var staleRecords: [String] = []
        for (entry, promtool) in zip(entries, verdicts) {
            let ours: String?
            do {
                _ = try PromQLParser.parse(entry.query)
                ours = nil
            } catch {
                ours = error.description
            }
            if promtool.map(normalizedPrometheusMessage) != ours {
                disagreements.append("\(entry)\n  promtool: \(promtool ?? "accepted")\n  ours: \(ours ?? "accepted")")
            }
            if promtool != entry.expectedError {
                staleRecords.append("\(entry): promtool now says \(promtool ?? "OK")")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) of \(entries.count) disagree:\n\(disagreements.joined(separator: "\n"))")
        #expect(staleRecords.isEmpty, "the corpus's recorded outcomes are out of date:\n\(staleRecords.joined(separator: "\n"))")
    }

    /// promtool's message for each query, nil where it accepts it.
    private func promtoolVerdicts(for queries: [String]) throws -> [String?] {
        var yaml = "groups:\n- name: corpus\n  rules:\n"
        for (index, query) in queries.enumerated() {
            yaml += "  - record: r\(index + 1)\n    expr: \(yamlQuoted(query))\n"
        }
        let (_, output) = try runPromtool(["check", "rules"], onFile: yaml)
        // Each error is `…: group "corpus", rule N, "rN": could not parse expression: MESSAGE`;
        // a message echoing a regex may run over several lines, up to the next rule's.
        var verdicts = [String?](repeating: nil, count: queries.count)
        var current: Int?
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if let range = line.range(of: "group \"corpus\", rule ") {
                let rest = line[range.upperBound...]
                guard let comma = rest.firstIndex(of: ","), let rule = Int(rest[..<comma]),
                      let colon = rest.range(of: "\": ")
                else { throw CorpusError(message: "unexpected promtool line: \(line)") }
                var message = String(rest[colon.upperBound...])
                if message.hasPrefix("could not parse expression: ") { message.removeFirst("could not parse expression: ".count) }
                verdicts[rule - 1] = message
                current = rule - 1
            } else if let index = current, !line.isEmpty {
                verdicts[index]! += "\n" + line
            } else if line.hasPrefix("  FAILED") || line.hasPrefix("Checking") || line.contains("SUCCESS") || line.isEmpty {
                current = nil
            } else {
                throw CorpusError(message: "unexpected promtool output: \(line)\n\(output.prefix(2000))")
            }
        }
        return verdicts
    }
}
