import Foundation
import Testing

@testable import Periskop

/// Broken payloads, each rejected with the exact place and reason a person needs to fix it.
@Suite struct RejectionTests {
    private let oneSample = #"{"aggregation_key": "k", "total_count": 1, "latest_errors": [{"error": {"class": "E"}, "uuid": "u"}]}"#

    @Test func topLevelMustBeAnObject() {
        let error = decodingError(#"[{"aggregation_key": "k"}]"#)
        #expect(error?.description == "top level: expected an object, found an array")
        #expect(error?.path == "")
        #expect(error?.kind == .typeMismatch)
        #expect(decodingError(#""text""#)?.description == #"top level: expected an object, found "text""#)
    }

    @Test func aggregatedErrorsIsRequired() {
        let error = decodingError(#"{"target_uuid": "t"}"#)
        #expect(error?.description == "top level: missing key aggregated_errors")
        #expect(error?.kind == .missingKey("aggregated_errors"))
        #expect(error?.reason == "missing key aggregated_errors")
    }

    @Test func aggregatedErrorsMustBeAnArray() {
        #expect(decodingError(#"{"aggregated_errors": {"k": 1}}"#)?.description == "aggregated_errors: expected an array, found an object")
    }

    @Test func groupMustBeAnObject() {
        #expect(decodingError(#"{"aggregated_errors": [\#(oneSample), 3]}"#)?.description == "aggregated_errors[1]: expected an object, found 3")
    }

    @Test func aggregationKeyIsRequired() {
        let error = decodingError(#"{"aggregated_errors": [\#(oneSample), {"total_count": 1}]}"#)
        #expect(error?.description == "aggregated_errors[1]: missing key aggregation_key")
        #expect(error?.path == "aggregated_errors[1]")
        #expect(error?.components == [.key("aggregated_errors"), .index(1)])
    }

    @Test func aggregationKeyMustBeAString() {
        #expect(
            decodingError(#"{"aggregated_errors": [{"aggregation_key": null, "total_count": 1}]}"#)?.description
                == "aggregated_errors[0].aggregation_key: expected a string, found null"
        )
    }

    @Test func totalCountIsRequired() {
        #expect(decodingError(#"{"aggregated_errors": [{"aggregation_key": "k"}]}"#)?.description == "aggregated_errors[0]: missing key total_count")
    }

    @Test func negativeCountIsRejected() {
        let error = decodingError(
            #"{"aggregated_errors": [\#(oneSample), \#(oneSample), {"aggregation_key": "k", "total_count": -3}]}"#
        )
        #expect(error?.description == "aggregated_errors[2].total_count: expected a non-negative integer, found -3")
        #expect(error?.path == "aggregated_errors[2].total_count")
        #expect(error?.reason == "expected a non-negative integer, found -3")
        #expect(error?.kind == .invalidValue)
    }

    @Test func fractionalCountIsRejected() {
        #expect(
            decodingError(#"{"aggregated_errors": [{"aggregation_key": "k", "total_count": 2.5}]}"#)?.description
                == "aggregated_errors[0].total_count: expected a non-negative integer, found 2.5"
        )
    }

    @Test func outOfRangeCountIsRejected() {
        #expect(
            decodingError(#"{"aggregated_errors": [{"aggregation_key": "k", "total_count": 99999999999999999999}]}"#)?.description
                == "aggregated_errors[0].total_count: expected a non-negative integer, found 99999999999999999999"
        )
        #expect(
            decodingError(#"{"aggregated_errors": [{"aggregation_key": "k", "total_count": 1e300}]}"#)?.description
                == "aggregated_errors[0].total_count: expected a non-negative integer, found 1e300"
        )
    }

    @Test func countAsStringIsRejected() {
        let error = decodingError(#"{"aggregated_errors": [{"aggregation_key": "k", "total_count": "12"}]}"#)
        #expect(error?.description == #"aggregated_errors[0].total_count: expected a non-negative integer, found "12""#)
        #expect(error?.kind == .typeMismatch)
    }

    @Test func unparseableTimestampNamesTheSample() {
        let error = decodingError(
            #"""
            {"aggregated_errors": [{"aggregation_key": "k", "total_count": 2, "latest_errors": [
              {"error": {"class": "E"}, "uuid": "a", "timestamp": "2021-09-03T13:58:15Z"},
              {"error": {"class": "E"}, "uuid": "b", "timestamp": "yesterday"}]}]}
            """#
        )
        #expect(error?.description == #"aggregated_errors[0].latest_errors[1].timestamp: not a timestamp: "yesterday""#)
    }

    @Test func impossibleCreatedAtIsRejected() {
        #expect(
            decodingError(#"{"aggregated_errors": [{"aggregation_key": "k", "total_count": 1, "created_at": "2021-02-30T00:00:00Z"}]}"#)?
                .description == #"aggregated_errors[0].created_at: not a timestamp: "2021-02-30T00:00:00Z""#
        )
        #expect(
            decodingError(#"{"aggregated_errors": [{"aggregation_key": "k", "total_count": 1, "createdAt": true}]}"#)?.description
                == "aggregated_errors[0].createdAt: expected a timestamp, found true"
        )
    }

    @Test func unknownSeverityIsRejected() {
        let error = decodingError(#"{"aggregated_errors": [{"aggregation_key": "k", "total_count": 1, "severity": "fatal"}]}"#)
        #expect(error?.description == #"aggregated_errors[0].severity: unknown severity "fatal", expected info, warning or error"#)
        #expect(
            decodingError(#"{"aggregated_errors": [{"aggregation_key": "k", "total_count": 1, "severity": 2}]}"#)?.description
                == "aggregated_errors[0].severity: expected a severity (info, warning or error), found 2"
        )
    }

    @Test func sampleWithoutErrorIsRejected() {
        #expect(
            decodingError(#"{"aggregated_errors": [{"aggregation_key": "k", "total_count": 1, "latest_errors": [{"uuid": "u"}]}]}"#)?.description
                == "aggregated_errors[0].latest_errors[0]: missing key error"
        )
    }

    @Test func stacktraceLineMustBeAString() {
        let json = #"{"aggregated_errors": [{"aggregation_key": "k", "total_count": 1, "latest_errors": [{"error": {"stacktrace": ["a", 42]}}]}]}"#
        #expect(decodingError(json)?.description == "aggregated_errors[0].latest_errors[0].error.stacktrace[1]: expected a string, found 42")
    }

    @Test func causeMustBeAnObjectOrNull() {
        let json = #"{"aggregated_errors": [{"aggregation_key": "k", "total_count": 1, "latest_errors": [{"error": {"cause": {"cause": "boom"}}}]}]}"#
        #expect(
            decodingError(json)?.description == #"aggregated_errors[0].latest_errors[0].error.cause.cause: expected an object or null, found "boom""#
        )
    }

    @Test func headerValueMustBeAString() {
        let json =
            #"{"aggregated_errors": [{"aggregation_key": "k", "total_count": 1, "latest_errors": [{"error": {}, "http_context": {"request_headers": {"Content-Length": 5}}}]}]}"#
        #expect(
            decodingError(json)?.description
                == #"aggregated_errors[0].latest_errors[0].http_context.request_headers["Content-Length"]: expected a string or null, found 5"#
        )
    }

    @Test func truncatedJSONNamesTheByte() throws {
        let bytes = try Fixtures.bytes("server-repo_mocktarget_errors.json")
        let error = #expect(throws: PayloadError.self) { try PayloadDecoder().decode(Array(bytes.prefix(1234))) }
        #expect(error?.description == "invalid JSON at byte 1234: unexpected end of input")
        #expect(error?.kind == .invalidJSON(byteOffset: 1234))
        #expect(error?.reason == "unexpected end of input")
        #expect(error?.path.hasPrefix("aggregated_errors[0].latest_errors[1]") == true)
        #expect(decodingError(#"{"aggregated_errors": ["#)?.description == "invalid JSON at byte 23: unexpected end of input")
    }

    @Test func emptyBodyIsInvalidJSON() {
        #expect(decodingError("")?.description == "invalid JSON at byte 0: unexpected end of input")
        #expect(decodingError("  \n")?.description == "invalid JSON at byte 3: unexpected end of input")
    }

    @Test func htmlIsInvalidJSON() {
        #expect(decodingError("<html>404</html>")?.description == "invalid JSON at byte 0: unexpected character '<'")
    }

    @Test func unexpectedCharacterNamesTheByte() {
        #expect(decodingError(#"{"aggregated_errors": [x]}"#)?.description == "invalid JSON at byte 23: unexpected character 'x'")
        #expect(decodingError(#"{"aggregated_errors": [], "a": tru}"#)?.description == "invalid JSON at byte 34: unexpected character '}'")
    }

    @Test func trailingCommaIsInvalid() {
        #expect(decodingError(#"{"aggregated_errors": [],}"#)?.description == "invalid JSON at byte 25: expected a key in quotes")
        #expect(
            decodingError(#"{"_note": [1 2], "aggregated_errors": []}"#)?.description == "invalid JSON at byte 13: expected ',' or ']' in an array"
        )
    }

    @Test func dataAfterThePayloadIsInvalid() {
        #expect(decodingError(#"{"aggregated_errors": []} {}"#)?.description == "invalid JSON at byte 26: unexpected data after the payload")
    }

    @Test func brokenStringsAreInvalid() {
        #expect(
            decodingError("{\"aggregated_errors\": [], \"a\": \"x\u{01}\"}")?.description == "invalid JSON at byte 33: control character in a string"
        )
        #expect(decodingError(#"{"aggregated_errors": [], "a": "\x"}"#)?.description == "invalid JSON at byte 32: invalid escape in a string")
        #expect(
            decodingError(#"{"aggregated_errors": [], "a": "\u12G4"}"#)?.description == #"invalid JSON at byte 36: invalid \u escape in a string"#
        )
    }

    @Test func brokenJSONInsideAnIgnoredKeyIsStillInvalid() {
        #expect(decodingError(#"{"_note": [1, 2,, 3], "aggregated_errors": []}"#)?.description == "invalid JSON at byte 16: unexpected character ','")
    }

    @Test func hostileNestingDoesNotOverflowTheStack() {
        let json = #"{"_note": "# + String(repeating: "[", count: 200_000) + "]}"
        #expect(decodingError(json)?.description == "invalid JSON at byte 200011: expected ',' or ']' in an array")
    }

    @Test func tooManyGroupsIsAnError() {
        let group = #"{"aggregation_key": "k", "total_count": 1}"#
        let error = decodingError(#"{"aggregated_errors": [\#(group), \#(group), \#(group)]}"#, limits: PayloadLimits(maxGroups: 2))
        #expect(error?.kind == .tooManyGroups(limit: 2, found: 3))
        #expect(error?.description == "aggregated_errors: 3 groups, more than the limit of 2")
    }
}
