import Foundation
import Testing

@testable import Periskop

/// Every variation that real clients write, each decoded to what it means.
@Suite struct TimestampVariationTests {
    private func timestamp(_ json: String) throws -> Date? {
        try decodeSample(#"{"error": {"class": "E"}, "uuid": "u", "timestamp": "# + json + "}").timestamp
    }

    @Test func goNanosecondsKeepMicroseconds() throws {
        #expect(try timestamp(#""2021-09-03T13:58:15.932289427Z""#) == (try utc(2021, 9, 3, 13, 58, 15, microseconds: 932_289)))
    }

    @Test func pythonMillisecondsWithZ() throws {
        #expect(try timestamp(#""2026-11-21T05:18:57.727Z""#) == (try utc(2026, 11, 21, 5, 18, 57, microseconds: 727_000)))
    }

    @Test func scalaOffsetWithMilliseconds() throws {
        #expect(try timestamp(#""2018-01-02T12:22:33.125+01:00""#) == (try utc(2018, 1, 2, 11, 22, 33, microseconds: 125_000)))
        #expect(try timestamp(#""2018-01-02T06:22:33.125-05:00""#) == (try utc(2018, 1, 2, 11, 22, 33, microseconds: 125_000)))
    }

    @Test func rubySecondsWithZ() throws {
        #expect(try timestamp(#""2022-02-09T13:41:25Z""#) == (try utc(2022, 2, 9, 13, 41, 25)))
    }

    @Test func unixSecondsAsInteger() throws {
        #expect(try timestamp("1630677495") == (try utc(2021, 9, 3, 13, 58, 15)))
    }

    @Test func unixSecondsWithFraction() throws {
        #expect(try timestamp("1630677495.25") == (try utc(2021, 9, 3, 13, 58, 15, microseconds: 250_000)))
    }

    @Test func goZeroTimeMeansNone() throws {
        #expect(try timestamp(#""0001-01-01T00:00:00Z""#) == nil)
        #expect(try timestamp("-62135596800") == nil)
        let group = try decodeGroup(#"{"aggregation_key": "k", "total_count": 1, "created_at": "0001-01-01T00:00:00Z"}"#)
        #expect(group.createdAt == nil)
    }

    @Test func nullAndEmptyTimestampsMeanNone() throws {
        #expect(try timestamp("null") == nil)
        #expect(try timestamp(#""""#) == nil)
    }

    @Test func lowercaseSeparatorAndLeapDay() throws {
        #expect(try timestamp(#""2024-02-29t23:59:59.5z""#) == (try utc(2024, 2, 29, 23, 59, 59, microseconds: 500_000)))
    }

    @Test func rfc3339ParsesAndPrints() throws {
        #expect(RFC3339.date(from: "2021-09-03T13:58:15.932Z") == (try utc(2021, 9, 3, 13, 58, 15, microseconds: 932_000)))
        #expect(RFC3339.date(from: "2021-13-03T13:58:15Z") == nil)
        #expect(RFC3339.date(from: "2021-02-29T00:00:00Z") == nil)
        #expect(RFC3339.date(from: "yesterday") == nil)
        #expect(RFC3339.string(from: try utc(2021, 9, 3, 13, 58, 15, microseconds: 932_000)) == "2021-09-03T13:58:15.932Z")
        #expect(RFC3339.string(from: try utc(2021, 9, 3, 13, 58, 15, microseconds: 932_289)) == "2021-09-03T13:58:15.932289Z")
        #expect(RFC3339.string(from: try utc(1969, 12, 31, 23, 59, 59)) == "1969-12-31T23:59:59.000Z")
    }
}

@Suite struct GroupVariationTests {
    @Test func missingTargetUUIDIsNil() throws {
        #expect(try decode(#"{"aggregated_errors": []}"#).targetUUID == nil)
        #expect(try decode(#"{"target_uuid": "", "aggregated_errors": []}"#).targetUUID == nil)
        #expect(try decode(#"{"target_uuid": null, "aggregated_errors": []}"#).targetUUID == nil)
    }

    @Test func missingCreatedAtIsNil() throws {
        #expect(try decodeGroup(#"{"aggregation_key": "k", "total_count": 1}"#).createdAt == nil)
    }

    @Test func scalaCreatedAtIsAccepted() throws {
        let group = try decodeGroup(#"{"aggregation_key": "k", "total_count": 1, "createdAt": "2018-01-02T11:22:33.000+01:00"}"#)
        #expect(group.createdAt == (try utc(2018, 1, 2, 10, 22, 33)))
    }

    @Test func snakeCaseCreatedAtWinsOverScalas() throws {
        let json = #"{"aggregation_key": "k", "total_count": 1, "created_at": "2020-01-01T00:00:00Z", "createdAt": "2019-01-01T00:00:00Z"}"#
        #expect(try decodeGroup(json).createdAt == (try utc(2020, 1, 1, 0, 0, 0)))
    }

    @Test func missingOrEmptySeverityIsError() throws {
        #expect(try decodeGroup(#"{"aggregation_key": "k", "total_count": 1}"#).severity == .error)
        #expect(try decodeGroup(#"{"aggregation_key": "k", "total_count": 1, "severity": ""}"#).severity == .error)
        #expect(try decodeGroup(#"{"aggregation_key": "k", "total_count": 1, "severity": "WARNING"}"#).severity == .warning)
    }

    @Test func sampleWithoutSeverityTakesItsGroups() throws {
        let group = try decodeGroup(
            #"""
            {"latest_errors": [{"error": {"class": "E"}, "uuid": "a"}, {"error": {"class": "E"}, "uuid": "b", "severity": ""},
                               {"error": {"class": "E"}, "uuid": "c", "severity": "info"}],
             "aggregation_key": "k", "total_count": 3, "severity": "warning"}
            """#
        )
        #expect(group.latestErrors.map(\.severity) == [.warning, .warning, .info])
    }

    @Test func missingOrNullLatestErrorsIsEmpty() throws {
        #expect(try decodeGroup(#"{"aggregation_key": "k", "total_count": 0}"#).latestErrors.isEmpty)
        #expect(try decodeGroup(#"{"aggregation_key": "k", "total_count": 0, "latest_errors": null}"#).latestErrors.isEmpty)
    }

    @Test func nullAggregatedErrorsIsEmpty() throws {
        // Go marshals a nil slice as null.
        #expect(try decode(#"{"aggregated_errors": null, "target_uuid": "t"}"#) == ExceptionsPayload(targetUUID: "t", aggregatedErrors: []))
    }

    @Test func integralCountWrittenAsFloatIsAccepted() throws {
        #expect(try decodeGroup(#"{"aggregation_key": "k", "total_count": 3.0}"#).totalCount == 3)
        #expect(try decodeGroup(#"{"aggregation_key": "k", "total_count": 1e3}"#).totalCount == 1000)
    }

    @Test func oddKeysAreKeptExactly() throws {
        let keys = [
            "java.lang.Run/ timeException@123", "Spec$FakeException@<murmur3>", "Ошибка 💥 @ ünïcode", "tab\there", #"quote " and \ backslash"#,
        ]
        var json = #"{"aggregated_errors": ["#
        json += keys.map { key in
            var quoted: [UInt8] = []
            JSONText.appendQuoted(key, to: &quoted)
            return #"{"aggregation_key": "# + String(decoding: quoted, as: UTF8.self) + #", "total_count": 1}"#
        }.joined(separator: ",")
        json += "]}"
        #expect(try decode(json).aggregatedErrors.map(\.aggregationKey) == keys)
        // Escapes and surrogate pairs decode too; a lone surrogate becomes U+FFFD.
        let escaped = try decodeGroup(#"{"aggregation_key": "caf\u00e9 \ud83d\udca5 \/ \ud800!", "total_count": 1}"#)
        #expect(escaped.aggregationKey == "café 💥 / \u{FFFD}!")
    }

    @Test func unknownKeysAreIgnoredAtEveryLevel() throws {
        let payload = try decode(
            #"""
            {"_note": "annotation", "extra": {"a": [1, {"b": null}], "c": true}, "aggregated_errors": [
              {"aggregation_key": "k", "total_count": 1, "labels": {"x": "y"}, "latest_errors": [
                {"error": {"class": "E", "message": "m", "stacktrace": [], "cause": null, "frames": [[]], "code": -1.5e3},
                 "uuid": "u", "tags": [false], "http_context": {"request_method": "GET", "request_url": "/", "remote": "1.2.3.4"}}]}],
             "version": 2}
            """#
        )
        let sample = try #require(payload.aggregatedErrors.first?.latestErrors.first)
        #expect(sample.error == ErrorInstance(className: "E", message: "m"))
        #expect(sample.httpContext == HTTPContext(requestMethod: "GET", requestURL: "/"))
    }

    @Test func byteOrderMarkAndWhitespaceAreTolerated() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array(" \n\t{\"aggregated_errors\" : [ ] }\r\n".utf8)
        #expect(try PayloadDecoder().decode(bytes).aggregatedErrors.isEmpty)
    }

    @Test func dataArrayAndRawBufferDecodeAlike() throws {
        let bytes = try Fixtures.bytes("scala-client_export-from-ExceptionExporterSpec.json")
        let fromArray = try PayloadDecoder().decode(bytes)
        #expect(try PayloadDecoder().decode(Data(bytes)) == fromArray)
        let fromBuffer = try bytes.withUnsafeBytes { buffer throws(PayloadError) in try PayloadDecoder().decode(buffer) }
        #expect(fromBuffer == fromArray)
        #expect(fromArray.aggregatedErrors.count == 3)
    }

    @Test func severityOrdersByHowBad() {
        #expect(Severity.info < .warning)
        #expect(Severity.warning < .error)
        #expect([Severity.warning, .info, .error, .info].max() == .error)
        #expect(Severity.allCases.sorted() == [.info, .warning, .error])
    }
}

@Suite struct SampleVariationTests {
    @Test func nullOrEmptyMessageIsEmpty() throws {
        #expect(try decodeSample(#"{"error": {"class": "E", "message": null}, "uuid": "u"}"#).error.message == "")
        #expect(try decodeSample(#"{"error": {"class": "E", "message": ""}, "uuid": "u"}"#).error.message == "")
        #expect(try decodeSample(#"{"error": {"class": "E"}, "uuid": "u"}"#).error.message == "")
    }

    @Test func missingClassIsEmpty() throws {
        let sample = try decodeSample(#"{"error": {"message": "some info"}, "uuid": "u"}"#)
        #expect(sample.error == ErrorInstance(className: "", message: "some info", stacktrace: []))
    }

    @Test func nullOrMissingStacktraceIsEmpty() throws {
        #expect(try decodeSample(#"{"error": {"class": "E", "stacktrace": null}, "uuid": "u"}"#).error.stacktrace == [])
        #expect(try decodeSample(#"{"error": {"class": "E"}, "uuid": "u"}"#).error.stacktrace == [])
    }

    @Test func missingUUIDIsEmpty() throws {
        #expect(try decodeSample(#"{"error": {"class": "E"}}"#).uuid == "")
        #expect(try decodeSample(#"{"error": {"class": "E"}, "uuid": null}"#).uuid == "")
    }

    @Test func nullOrAbsentCauseIsNil() throws {
        #expect(try decodeSample(#"{"error": {"class": "E", "cause": null}, "uuid": "u"}"#).error.cause == nil)
        #expect(try decodeSample(#"{"error": {"class": "E"}, "uuid": "u"}"#).error.cause == nil)
    }

    @Test func nestedCausesAreKept() throws {
        let sample = try decodeSample(
            #"{"error": {"class": "A", "cause": {"class": "B", "message": "b", "cause": {"class": "C", "stacktrace": ["c:1"], "cause": null}}}}"#
        )
        let expected = ErrorInstance(
            className: "A",
            cause: ErrorInstance(className: "B", message: "b", cause: ErrorInstance(className: "C", stacktrace: ["c:1"]))
        )
        #expect(sample.error == expected)
        #expect(sample.error.causeDepth == 2)
    }

    /// A chain of `depth` causes below one error, as JSON.
    private func chain(causes depth: Int) -> String {
        var json = #"{"class": "E\#(depth)", "cause": null}"#
        for level in stride(from: depth - 1, through: 0, by: -1) {
            json = #"{"class": "E\#(level)", "cause": "# + json + "}"
        }
        return #"{"error": "# + json + #", "uuid": "u"}"#
    }

    @Test func causesDeeperThanTheLimitAreCut() throws {
        let sample = try decodeSample(chain(causes: 5), limits: PayloadLimits(maxCauseDepth: 2))
        #expect(sample.error.causeDepth == 2)
        #expect(sample.error.cause?.cause?.className == "E2")
        #expect(sample.error.cause?.cause?.cause == nil)
    }

    @Test func defaultCauseLimitIsSixteen() throws {
        #expect(try decodeSample(chain(causes: 16)).error.causeDepth == 16)
        #expect(try decodeSample(chain(causes: 40)).error.causeDepth == 16)
    }

    @Test func nullHTTPContextIsNil() throws {
        #expect(try decodeSample(#"{"error": {"class": "E"}, "http_context": null}"#).httpContext == nil)
        #expect(try decodeSample(#"{"error": {"class": "E"}}"#).httpContext == nil)
    }

    @Test func nullHTTPFieldsTakeDefaults() throws {
        let sample = try decodeSample(
            #"{"error": {"class": "E"}, "http_context": {"request_method": null, "request_headers": null, "request_body": null}}"#
        )
        #expect(sample.httpContext == HTTPContext(requestMethod: "", requestURL: "", requestHeaders: [:], requestBody: nil))
    }

    @Test func nullHeaderValueIsEmpty() throws {
        let sample = try decodeSample(#"{"error": {"class": "E"}, "http_context": {"request_headers": {"X-Empty": null, "Accept": "*/*"}}}"#)
        #expect(sample.httpContext?.requestHeaders == ["X-Empty": "", "Accept": "*/*"])
    }
}

@Suite struct LimitTests {
    @Test func onlyTheNewestSamplesAreKept() throws {
        let times = [5, 1, 9, 3, 7]  // seconds past the minute, in the order the client wrote them
        let samples = times.enumerated().map { index, second in
            #"{"error": {"class": "E"}, "uuid": "s\#(index)", "timestamp": "2021-01-01T00:00:0\#(second)Z"}"#
        }
        let group = try decodeGroup(
            #"{"aggregation_key": "k", "total_count": 5, "latest_errors": ["# + samples.joined(separator: ",") + "]}",
            limits: PayloadLimits(maxSamplesPerGroup: 3)
        )
        #expect(group.latestErrors.map(\.uuid) == ["s0", "s2", "s4"])
        #expect(group.totalCount == 5)
    }

    @Test func samplesWithoutTimestampAreDroppedFirst() throws {
        let group = try decodeGroup(
            #"""
            {"aggregation_key": "k", "total_count": 3, "latest_errors": [
              {"error": {"class": "E"}, "uuid": "old", "timestamp": "2021-01-01T00:00:00Z"},
              {"error": {"class": "E"}, "uuid": "none"},
              {"error": {"class": "E"}, "uuid": "new", "timestamp": "2021-01-01T00:00:01Z"}]}
            """#,
            limits: PayloadLimits(maxSamplesPerGroup: 2)
        )
        #expect(group.latestErrors.map(\.uuid) == ["old", "new"])
    }

    @Test func longStringsAreTruncatedOnACharacterBoundary() throws {
        // "é" is two bytes: a cut at 5 bytes would split the third one.
        let sample = try decodeSample(
            #"{"error": {"class": "ééé", "message": "abcdefgh", "stacktrace": ["0123456789"]}, "http_context": {"request_url": "http://x/\u00e9"}}"#,
            limits: PayloadLimits(maxStringLength: 5)
        )
        #expect(sample.error.className == "éé…[truncated]")
        #expect(sample.error.message == "abcde…[truncated]")
        #expect(sample.error.stacktrace == ["01234…[truncated]"])
        #expect(sample.httpContext?.requestURL == "http:…[truncated]")
    }

    @Test func longHeadersAreTruncated() throws {
        let sample = try decodeSample(
            #"{"error": {"class": "E"}, "http_context": {"request_headers": {"Cookie": "0123456789", "X": "ok"}}}"#,
            limits: PayloadLimits(maxStringLength: 4)
        )
        #expect(sample.httpContext?.requestHeaders == ["Cook…[truncated]": "0123…[truncated]", "X": "ok"])
    }

    @Test func longBodyIsTruncatedAtItsOwnLimit() throws {
        let body = String(repeating: "x", count: 70 * 1024)
        let sample = try decodeSample(#"{"error": {"class": "E"}, "http_context": {"request_body": "\#(body)"}}"#)
        #expect(sample.httpContext?.requestBody == String(repeating: "x", count: 64 * 1024) + "…[truncated]")
        let short = try decodeSample(
            #"{"error": {"class": "E"}, "http_context": {"request_body": "\#(body)"}}"#,
            limits: PayloadLimits(maxBodyLength: 3)
        )
        #expect(short.httpContext?.requestBody == "xxx…[truncated]")
    }

    @Test func escapedStringsAreTruncatedToo() throws {
        let sample = try decodeSample(#"{"error": {"class": "E", "message": "a\nb\u00e9c"}}"#, limits: PayloadLimits(maxStringLength: 4))
        #expect(sample.error.message == "a\nb…[truncated]")
    }

    @Test func onlyTheFirstStacktraceLinesAreKept() throws {
        let lines = (0..<300).map { #""frame \#($0)""# }.joined(separator: ",")
        let sample = try decodeSample(#"{"error": {"class": "E", "stacktrace": [\#(lines)]}}"#)
        #expect(sample.error.stacktrace.count == 256)
        #expect(sample.error.stacktrace.last == "frame 255")
        let few = try decodeSample(#"{"error": {"class": "E", "stacktrace": [\#(lines)]}}"#, limits: PayloadLimits(maxStacktraceLines: 2))
        #expect(few.error.stacktrace == ["frame 0", "frame 1"])
    }

    @Test func groupsUpToTheLimitAreAccepted() throws {
        let json = #"{"aggregated_errors": [{"aggregation_key": "a", "total_count": 1}, {"aggregation_key": "b", "total_count": 2}]}"#
        #expect(try decode(json, limits: PayloadLimits(maxGroups: 2)).aggregatedErrors.count == 2)
    }
}
