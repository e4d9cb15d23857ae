import Foundation
import CanopyTestSupport
import Testing

@testable import Leaf

/// A real leaf scraping real Periskop targets written in Python with the PyPI package
/// `periskop-client` (see `Support/PythonTarget.swift`): the leaf shows exactly what they
/// reported, per aggregation key as the Python client computes it, and scrubs their samples.
@Suite struct PythonClientTests {
    static let service = "shop"

    static func config(_ targets: [String]) -> String {
        """
        global:
          scrape_interval: 200ms
          scrape_timeout: 200ms
          external_labels: {team: payments}
        services:
        - name: \(service)
          static_configs:
          - targets: [\(targets.joined(separator: ", "))]
          scraper:
            endpoint: /-/exceptions
            refresh_interval: 200ms
        """
    }

    /// The sum, key by key, of what each process last reported.
    static func sum(_ reports: [[String: Int]]) -> [String: Int] {
        reports.reduce(into: [:]) { sum, report in sum.merge(report, uniquingKeysWith: +) }
    }

    @Test func leafCountsExactlyWhatPythonClientsReportedAcrossARestart() async throws {
        try await withPythonTargets(2) { targets in
            let (a, b) = (targets[0], targets[1])
            let zero = try await a.raise(kind: "zero", count: 3).key
            let missing = try await a.raise(kind: "missing", count: 2).key
            let http = try await a.raise(kind: "http", count: 1).key
            // Same code path in another process: periskop-client gives the same key.
            #expect(try await b.raise(kind: "zero", count: 4).key == zero)
            #expect(try await b.raise(kind: "http", count: 2).key == http)
            #expect(zero.hasPrefix("ZeroDivisionError@") && missing.hasPrefix("KeyError@") && http.hasPrefix("RuntimeError@"))

            let firstB = try await b.exportedTotals()
            let expected = Self.sum([try await a.exportedTotals(), firstB])
            #expect(expected == [zero: 7, missing: 2, http: 3])

            let config = try LeafHarness.config(Self.config([a.address, b.address]))
            try await LeafHarness.run(config, dataDir: LeafHarness.temporaryDirectory()) { leaf in
                try await expectEventually("leaf totals \(expected)", timeout: .seconds(20)) {
                    try await leaf.totals(of: Self.service) == expected
                }
                #expect(try await leaf.periskopTotals(of: Self.service) == expected)
                let groups = try #require(try await leaf.json("/api/v1/services/\(Self.service)/errors") as? [[String: Any]])
                let zeroGroup = try #require(groups.first { $0["aggregation_key"] as? String == zero })
                #expect(zeroGroup["class"] as? String == "ZeroDivisionError")
                #expect(zeroGroup["message"] as? String == "division by zero")

                // b restarts: a new process, a new target_uuid, counts from zero.
                let oldUUID = try await b.export()["target_uuid"] as? String
                try await b.restart()
                let newUUID = try await b.export()["target_uuid"] as? String
                #expect(oldUUID != nil && newUUID != nil && oldUUID != newUUID)
                #expect(try await b.exportedTotals() == [:])
                #expect(try await b.raise(kind: "zero", count: 1) == (zero, 1))
                #expect(try await b.raise(kind: "missing", count: 5) == (missing, 5))
                #expect(try await a.raise(kind: "http", count: 2) == (http, 3))

                let afterRestart = Self.sum([try await a.exportedTotals(), firstB, try await b.exportedTotals()])
                #expect(afterRestart == [zero: 8, missing: 7, http: 5])
                try await expectEventually("leaf totals \(afterRestart)", timeout: .seconds(20)) {
                    try await leaf.totals(of: Self.service) == afterRestart
                }
                #expect(try await leaf.periskopTotals(of: Self.service) == afterRestart)
                // Repeated scrapes of unchanged bodies add nothing.
                try await Task.sleep(for: .milliseconds(600))
                #expect(try await leaf.totals(of: Self.service) == afterRestart)
            }
        }
    }

    @Test func pythonSamplesAreScrubbedInGroupAPIAndFederation() async throws {
        try await withPythonTargets(1) { targets in
            let target = targets[0]
            let http = try await target.raise(kind: "http", count: 2).key
            let zero = try await target.raise(kind: "zero", count: 1).key

            // The secrets really leave the Python process.
            let exported = try await target.export()
            let exportedText = String(decoding: try JSONSerialization.data(withJSONObject: exported), as: UTF8.self)
            #expect(exportedText.contains("py-s3cr3t-bearer") && exportedText.contains(PythonTarget.Request.password))
            let exportedGroups = try #require(exported["aggregated_errors"] as? [[String: Any]])
            let exportedSamples = try #require(exportedGroups.first { $0["aggregation_key"] as? String == http }?["latest_errors"] as? [[String: Any]])
            let stacktraces = Dictionary(
                uniqueKeysWithValues: exportedSamples.map { ($0["uuid"] as! String, ($0["error"] as! [String: Any])["stacktrace"] as! [String]) })
            #expect(stacktraces.count == 2)
            let exportedContext = exportedSamples.first?["http_context"] as? [String: Any]
            #expect((exportedContext?["request_headers"] as? [String: String])?["Authorization"] == PythonTarget.Request.authorization)
            #expect(exportedContext?["request_body"] as? String == PythonTarget.Request.body)

            let config = try LeafHarness.config(Self.config([target.address]))
            try await LeafHarness.run(config, dataDir: LeafHarness.temporaryDirectory()) { leaf in
                try await expectEventually(timeout: .seconds(20)) { try await leaf.totals(of: Self.service) == [http: 2, zero: 1] }

                let encoded = try #require(http.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
                let (status, detailText) = try await leaf.get("/api/v1/services/\(Self.service)/errors/\(encoded)")
                #expect(status == 200)
                let detail = try #require(try JSONSerialization.jsonObject(with: Data(detailText.utf8)) as? [String: Any])
                let samples = try #require(detail["samples"] as? [[String: Any]])
                #expect(samples.count == 2)
                for sample in samples { Self.expectScrubbedKeepingTheRest(sample, stacktraces: stacktraces) }
                #expect(!detailText.contains("py-s3cr3t-bearer") && !detailText.contains(PythonTarget.Request.password))

                let (federateStatus, federateText) = try await leaf.get("/api/v1/federate")
                #expect(federateStatus == 200)
                let federation = try #require(try JSONSerialization.jsonObject(with: Data(federateText.utf8)) as? [String: Any])
                let services = try #require(federation["services"] as? [[String: Any]])
                let groups = try #require(services.first { $0["name"] as? String == Self.service }?["groups"] as? [[String: Any]])
                let group = try #require(groups.first { $0["aggregation_key"] as? String == http })
                #expect(group["total"] as? Int == 2)
                let federated = try #require(group["samples"] as? [[String: Any]])
                #expect(!federated.isEmpty)
                for sample in federated { Self.expectScrubbedKeepingTheRest(sample, stacktraces: stacktraces) }
                #expect(!federateText.contains("py-s3cr3t-bearer") && !federateText.contains(PythonTarget.Request.password))
            }
        }
    }

    /// The Authorization header and the body's password are `[REDACTED]`; class, message, stack
    /// trace (as the Python process exported it for this sample's uuid), URL and the other
    /// headers are kept.
    static func expectScrubbedKeepingTheRest(
        _ sample: [String: Any], stacktraces: [String: [String]], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let error = sample["error"] as? [String: Any]
        #expect(error?["class"] as? String == "RuntimeError", sourceLocation: sourceLocation)
        #expect(error?["message"] as? String == "payment provider declined order 42", sourceLocation: sourceLocation)
        let uuid = sample["uuid"] as? String ?? ""
        let stacktrace = error?["stacktrace"] as? [String]
        #expect(stacktrace != nil && stacktrace == stacktraces[uuid], "stack trace of sample \(uuid)", sourceLocation: sourceLocation)
        #expect(stacktrace?.last == "RuntimeError: payment provider declined order 42", sourceLocation: sourceLocation)

        let context = sample["http_context"] as? [String: Any]
        #expect(context?["request_method"] as? String == PythonTarget.Request.method, sourceLocation: sourceLocation)
        #expect(context?["request_url"] as? String == PythonTarget.Request.url, sourceLocation: sourceLocation)
        let headers = context?["request_headers"] as? [String: String]
        #expect(
            headers == ["Authorization": "[REDACTED]", "Content-Type": "application/json", "X-Request-Id": "req-7f3a"],
            sourceLocation: sourceLocation)
        #expect(context?["request_body"] as? String == PythonTarget.Request.scrubbedBody, sourceLocation: sourceLocation)
    }
}
