import Foundation
import CanopyTestSupport
import Testing

@testable import Periskop

/// `PayloadDecoder.decode(_:keeping:)`: samples the caller keeps are checked exactly as strictly
/// as a full decode checks them, and the rest of the payload is the full decode's.
@Suite struct SkimmingTests {
    /// Covers every sample: each one is read only in the check-only mode.
    static let everything = KeptSamples(uuids: [], oldest: .distantFuture)
    /// Covers nothing: each sample is checked, then read again and built.
    static let nothing = KeptSamples(uuids: [], oldest: nil)

    private static let good = #"{"error": {"class": "E", "message": "m", "stacktrace": ["a"]}, "uuid": "u0", "timestamp": "2024-01-01T00:00:00Z"}"#

    /// Broken samples, one for each way a field can be wrong.
    static let brokenSamples: [String] = [
        // The sample itself.
        "3", "null", #""text""#, "[]", "true", #"{"uuid": "u"}"#, #"{"error": {"class": "E"},}"#, #"{"error" {"class": "E"}}"#,
        #"{"error": {"class": "E"} "uuid": "u"}"#, #"{"error": {"class": "E"}, "extra": [1,]}"#, #"{"error": {"class": "E"}, "extra": {"a" 1}}"#,
        // error and its fields.
        #"{"error": 3}"#, #"{"error": null}"#, #"{"error": []}"#, #"{"error": "E"}"#,
        #"{"error": {"class": 3}}"#, #"{"error": {"class": true}}"#, #"{"error": {"class": {}}}"#, #"{"error": {"message": []}}"#,
        #"{"error": {"message": 1.5}}"#, #"{"error": {"stacktrace": "a"}}"#, #"{"error": {"stacktrace": [1]}}"#,
        #"{"error": {"stacktrace": [null]}}"#, #"{"error": {"stacktrace": ["a", {}]}}"#, #"{"error": {"stacktrace": {}}}"#,
        #"{"error": {"cause": 3}}"#, #"{"error": {"cause": "c"}}"#, #"{"error": {"cause": {"class": 4}}}"#,
        #"{"error": {"cause": {"cause": {"cause": {"message": false}}}}}"#,
        #"{"error": {"cause": {"cause": {"cause": {"stacktrace": [1]}}}}}"#,
        // uuid, timestamp, severity.
        #"{"error": {"class": "E"}, "uuid": 5}"#, #"{"error": {"class": "E"}, "uuid": []}"#, #"{"error": {"class": "E"}, "uuid": true}"#,
        #"{"error": {"class": "E"}, "timestamp": "yesterday"}"#, #"{"error": {"class": "E"}, "timestamp": true}"#,
        #"{"error": {"class": "E"}, "timestamp": "2020-13-01T00:00:00Z"}"#, #"{"error": {"class": "E"}, "timestamp": "2020-02-30T00:00:00Z"}"#,
        #"{"error": {"class": "E"}, "timestamp": {}}"#, #"{"error": {"class": "E"}, "timestamp": 1e999}"#,
        #"{"error": {"class": "E"}, "timestamp": "2020-01-01T00:00:00\u0051"}"#,
        #"{"error": {"class": "E"}, "severity": "fatal"}"#, #"{"error": {"class": "E"}, "severity": 1}"#,
        #"{"error": {"class": "E"}, "severity": []}"#,
        // http_context and its fields.
        #"{"error": {"class": "E"}, "http_context": 3}"#, #"{"error": {"class": "E"}, "http_context": []}"#,
        #"{"error": {"class": "E"}, "http_context": {"request_method": 1}}"#, #"{"error": {"class": "E"}, "http_context": {"request_url": []}}"#,
        #"{"error": {"class": "E"}, "http_context": {"request_headers": []}}"#,
        #"{"error": {"class": "E"}, "http_context": {"request_headers": "a"}}"#,
        #"{"error": {"class": "E"}, "http_context": {"request_headers": {"A": 1}}}"#,
        #"{"error": {"class": "E"}, "http_context": {"request_headers": {"Ok": "1", "We\u0069rd Name": {}}}}"#,
        #"{"error": {"class": "E"}, "http_context": {"request_headers": {"A" "1"}}}"#,
        #"{"error": {"class": "E"}, "http_context": {"request_body": 5}}"#, #"{"error": {"class": "E"}, "http_context": {"request_body": {}}}"#,
        // Broken strings anywhere.
        #"{"error": {"class": "a\x"}}"#, #"{"error": {"message": "\u12G4"}}"#, #"{"error": {"stacktrace": ["\"]}}"#,
        "{\"error\": {\"class\": \"a\u{01}b\"}}", #"{"uuid": "u\q", "error": {}}"#, #"{"error": {"class": "E"}, "timestamp": "\u00"}"#,
        #"{"error": {"class": "E"}, "http_context": {"request_headers": {"a\z": "1"}}}"#,
        #"{"error": {"class": "E"}, "http_context": {"request_body": "\ud800\u"}}"#,
        #"{"error": {"class": "E"}, "http_context": {"request_url": "abc"#,
        #"{"error": {"class": "abc"#, #"{"error": {"class": "E"}, "uuid": "u"#, "{",
    ]

    private func payload(_ sample: String) -> [UInt8] {
        Array(#"{"aggregated_errors": [{"aggregation_key": "k", "total_count": 1, "latest_errors": [\#(Self.good), \#(sample)]}]}"#.utf8)
    }

    private func fullError(_ body: [UInt8], limits: PayloadLimits = .init()) -> PayloadError? {
        do {
            _ = try PayloadDecoder(limits: limits).decode(body)
            return nil
        } catch {
            return error
        }
    }

    private func skimError(_ body: [UInt8], kept: KeptSamples, limits: PayloadLimits = .init()) -> PayloadError? {
        do {
            _ = try PayloadDecoder(limits: limits).decode(body) { _ in kept }
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: brokenSamples)
    func checkOnlyRejectsWhatBuildingRejects(sample: String) throws {
        let body = payload(sample)
        let full = try #require(fullError(body), "the full decode accepts \(sample)")
        for kept in [Self.everything, Self.nothing, KeptSamples(uuids: ["u", "u0"], oldest: nil)] {
            let skimmed = skimError(body, kept: kept)
            #expect(skimmed?.description == full.description, "\(sample)")
            #expect(skimmed == full)
        }
    }

    @Test func checkOnlyRejectsWhatBuildingRejectsUnderTightLimits() throws {
        // Causes below the limit, and stack trace lines past it, are skipped (only their syntax counts).
        let limits = PayloadLimits(maxCauseDepth: 1, maxStringLength: 4, maxStacktraceLines: 1)
        let samples = [
            #"{"error": {"cause": {"cause": {"class": 5}}}}"#, #"{"error": {"cause": {"cause": {"class": 5,]}}}"#,
            #"{"error": {"stacktrace": ["a", 5]}}"#, #"{"error": {"stacktrace": ["a", 5,]}}"#,
            #"{"error": {"class": "much longer than four"}, "http_context": {"request_headers": {"a long header name": 3}}}"#,
        ]
        for sample in samples {
            let body = payload(sample)
            let full = fullError(body, limits: limits)
            for kept in [Self.everything, Self.nothing] {
                #expect(skimError(body, kept: kept, limits: limits) == full, "\(sample)")
            }
        }
    }

    @Test func coveredSamplesBecomeStubs() throws {
        let body = Array(
            #"""
            {"aggregated_errors": [{"aggregation_key": "k", "total_count": 3, "severity": "warning", "latest_errors": [
              {"error": {"class": "A", "message": "kept by uuid"}, "uuid": "a", "timestamp": "2024-01-01T00:00:03Z"},
              {"error": {"class": "B", "message": "old"}, "uuid": "b", "timestamp": "2024-01-01T00:00:01Z"},
              {"error": {"class": "C", "message": "new"}, "uuid": "c", "timestamp": "2024-01-01T00:00:05Z"},
              {"error": {"class": "D", "message": "no uuid, new"}, "timestamp": "2024-01-01T00:00:06Z"},
              {"error": {"class": "F", "message": "no uuid, old"}, "timestamp": 1704067200}
            ]}]}
            """#.utf8)
        let oldest = try utc(2024, 1, 1, 0, 0, 2)
        let midnight = try utc(2024, 1, 1, 0, 0, 0)
        let newest = try utc(2024, 1, 1, 0, 0, 6)
        let full = try PayloadDecoder().decode(body)
        let skimmed = try PayloadDecoder().decode(body) { key in key == "k" ? KeptSamples(uuids: ["a"], oldest: oldest) : nil }
        let group = try #require(skimmed.groups.first)
        #expect(group.group.latestErrors.map(\.error.className) == ["C", "D"])
        // A sample without a severity has its group's, built or not.
        #expect(group.group.latestErrors.allSatisfy { $0.severity == .warning })
        #expect(group.skipped.map(\.uuid) == ["a", "b", ""])
        #expect(group.skipped.map(\.timestamp) == [full.aggregatedErrors[0].latestErrors[0].timestamp, full.aggregatedErrors[0].latestErrors[1].timestamp, midnight])
        var withoutSamples = group.group
        withoutSamples.latestErrors = []
        var fullWithoutSamples = full.aggregatedErrors[0]
        fullWithoutSamples.latestErrors = []
        #expect(withoutSamples == fullWithoutSamples)
        #expect(group.sampleTimes.earliest == midnight)
        #expect(group.sampleTimes.latest == newest)
    }

    @Test func samplesBeforeTheKeyAreAllBuilt() throws {
        let body = Array(#"{"aggregated_errors": [{"latest_errors": [\#(Self.good)], "aggregation_key": "k", "total_count": 1}]}"#.utf8)
        let skimmed = try PayloadDecoder().decode(body) { _ in Self.everything }
        #expect(skimmed == SkimmedPayload(try PayloadDecoder().decode(body)))
    }

    @Test func sampleLimitKeepsTheNewestOfBuiltAndSkippedAlike() throws {
        let samples = (0..<8).map { index in
            #"{"error": {"class": "E\#(index)"}, "uuid": "u\#(index)", "timestamp": \#([5, 1, 7, 3, 7, 2, 6, 0][index])}"#
        }
        let body = Array(#"{"aggregated_errors": [{"aggregation_key": "k", "total_count": 8, "latest_errors": [\#(samples.joined(separator: ","))]}]}"#.utf8)
        let limits = PayloadLimits(maxSamplesPerGroup: 4)
        let full = try PayloadDecoder(limits: limits).decode(body).aggregatedErrors[0].latestErrors
        #expect(full.map(\.uuid) == ["u0", "u2", "u4", "u6"])
        let kept = KeptSamples(uuids: ["u2", "u3", "u6"], oldest: nil)
        let skimmed = try PayloadDecoder(limits: limits).decode(body) { _ in kept }.groups[0]
        #expect(skimmed.group.latestErrors.map(\.uuid) == ["u0", "u4"])
        #expect(skimmed.skipped.map(\.uuid) == ["u2", "u6"])
    }

    /// Every fixture and many generated payloads, with random `KeptSamples`: the built samples are
    /// exactly the full decode's uncovered ones, the stubs its covered ones, all else equal.
    @Test func skimmingSplitsTheFullDecode() throws {
        var payloads = try Fixtures.payloadFiles.map { try Fixtures.bytes($0) }
        var random = SplitMix64(seed: 7)
        for _ in 0..<200 { payloads.append(PayloadEncoder().encode(Self.randomPayload(&random))) }
        for body in payloads {
            let full = try PayloadDecoder().decode(body)
            var keptByKey: [String: KeptSamples] = [:]
            for group in full.aggregatedErrors where random.next() % 4 != 0 {
                let uuids = Set(group.latestErrors.map(\.uuid).filter { _ in random.next() % 2 == 0 })
                let times = group.latestErrors.compactMap(\.timestamp)
                keptByKey[group.aggregationKey] = KeptSamples(uuids: uuids, oldest: random.next() % 2 == 0 ? times.randomElement(using: &random) : nil)
            }
            let skimmed = try PayloadDecoder().decode(body) { keptByKey[$0] }
            #expect(skimmed.targetUUID == full.targetUUID)
            #expect(skimmed.groups.count == full.aggregatedErrors.count)
            for (entry, group) in zip(skimmed.groups, full.aggregatedErrors) {
                let kept = keptByKey[group.aggregationKey] ?? Self.nothing
                let covered = { (sample: ErrorWithContext) in kept.covers(uuid: sample.uuid, timestamp: sample.timestamp) }
                var expected = group
                expected.latestErrors = group.latestErrors.filter { !covered($0) }
                #expect(entry.group == expected)
                #expect(entry.skipped == group.latestErrors.filter(covered).map { SampleStub(uuid: $0.uuid, timestamp: $0.timestamp) })
            }
            #expect(try PayloadDecoder().decode(body) { _ in nil } == SkimmedPayload(full))
        }
    }

    private static func randomPayload(_ random: inout SplitMix64) -> ExceptionsPayload {
        let groups = (0..<Int(random.next() % 5)).map { index in
            AggregatedError(
                aggregationKey: "k\(index)", totalCount: Int(random.next() % 100),
                severity: Severity.allCases.randomElement(using: &random)!,
                createdAt: random.next() % 2 == 0 ? nil : Date(timeIntervalSince1970: 1_700_000_000),
                latestErrors: (0..<Int(random.next() % 6)).map { _ in randomSample(&random) })
        }
        return ExceptionsPayload(targetUUID: random.next() % 3 == 0 ? nil : "t\(random.next() % 3)", aggregatedErrors: groups)
    }

    private static func randomSample(_ random: inout SplitMix64) -> ErrorWithContext {
        let cause = random.next() % 3 == 0 ? ErrorInstance(className: "Cause", message: "c \(random.next() % 10)") : nil
        let context = random.next() % 2 == 0 ? nil : HTTPContext(
            requestMethod: "GET", requestURL: "http://x/\(random.next() % 10)", requestHeaders: ["A": "\(random.next() % 10)"],
            requestBody: random.next() % 2 == 0 ? nil : "body \"quoted\"\n")
        return ErrorWithContext(
            error: ErrorInstance(className: "E\(random.next() % 3)", message: "m \(random.next() % 5)", stacktrace: ["at f", "at g"], cause: cause),
            uuid: random.next() % 5 == 0 ? "" : "u\(random.next() % 12)",
            timestamp: random.next() % 6 == 0 ? nil : Date(timeIntervalSince1970: 1_700_000_000 + Double(random.next() % 20)),
            severity: Severity.allCases.randomElement(using: &random)!, httpContext: context)
    }
}
