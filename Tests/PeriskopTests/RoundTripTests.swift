import Foundation
import Testing

@testable import Periskop

@Suite struct RoundTripTests {
    /// Every field set, the awkward characters, and times at micro- and millisecond precision.
    static func fullPayload() throws -> ExceptionsPayload {
        let cause = ErrorInstance(className: "Root", message: "line1\nline2\t\"quoted\" \\ \u{01}", stacktrace: ["r:1"])
        let sample = ErrorWithContext(
            error: ErrorInstance(className: "Outer$Inner", message: "Ошибка 💥", stacktrace: ["a:1", "\tb: c()"], cause: cause),
            uuid: "41b2c83c-60b3-4e21-802c-c01966fd6ee8",
            timestamp: try utc(2021, 9, 3, 13, 58, 15, microseconds: 932_289),
            severity: .warning,
            httpContext: HTTPContext(
                requestMethod: "POST",
                requestURL: "http://example.com/a?b=c&d=é",
                requestHeaders: ["Accept": "*/*", "X-Trace": "1", "Cache-Control": "no-cache"],
                requestBody: #"{"id":"#
            )
        )
        let bare = ErrorWithContext(error: ErrorInstance(className: "", message: "only a message"), uuid: "", timestamp: nil, severity: .info)
        return ExceptionsPayload(
            targetUUID: "t-1",
            aggregatedErrors: [
                AggregatedError(
                    aggregationKey: "java.lang.Run/ time@1 $x",
                    totalCount: 260,
                    severity: .warning,
                    createdAt: try utc(2020, 10, 8, 12, 46, 25, microseconds: 595_000),
                    latestErrors: [sample, bare]
                ),
                AggregatedError(aggregationKey: "empty", totalCount: 0, severity: .error, createdAt: nil, latestErrors: []),
            ]
        )
    }

    /// The hub stores samples as jsonb written by `PayloadEncoder.encode(_:)` (it stored them as
    /// `JSONEncoder` writes their `Codable` form): the same JSON value, every field set or not.
    @Test func aSampleEncodesToTheValueItsCodableFormHas() throws {
        let samples = try Self.fullPayload().aggregatedErrors.flatMap(\.latestErrors) + [
            ErrorWithContext(
                error: ErrorInstance(className: "A", message: "\u{7F}\u{08}\u{0C}/\u{2028}", stacktrace: [], cause: nil), uuid: "u", timestamp: nil,
                severity: .error, httpContext: HTTPContext(requestMethod: "", requestURL: "", requestHeaders: [:], requestBody: nil)),
            ErrorWithContext(
                error: ErrorInstance(className: "A", message: "m", stacktrace: ["x"], cause: ErrorInstance(className: "B", cause: ErrorInstance(className: "C"))),
                uuid: "v", timestamp: Date(timeIntervalSince1970: -1.5), severity: .info, httpContext: nil),
        ]
        for sample in samples {
            let written = PayloadEncoder().encode(sample)
            let codable = try JSONEncoder().encode(sample)
            let value = try #require(try JSONSerialization.jsonObject(with: Data(written)) as? NSDictionary)
            #expect(value == (try JSONSerialization.jsonObject(with: codable) as? NSDictionary), "\(String(decoding: written, as: UTF8.self))")
            #expect(try JSONDecoder().decode(ErrorWithContext.self, from: Data(written)) == sample)
        }
    }

    @Test func encodeThenDecodeGivesTheSamePayload() throws {
        let payload = try Self.fullPayload()
        #expect(try PayloadDecoder().decode(PayloadEncoder().encode(payload)) == payload)
        #expect(try PayloadDecoder().decode(PayloadEncoder().encodeData(payload)) == payload)
    }

    @Test func encodingIsCanonical() throws {
        let payload = ExceptionsPayload(
            targetUUID: "t",
            aggregatedErrors: [
                AggregatedError(
                    aggregationKey: "k",
                    totalCount: 2,
                    severity: .info,
                    createdAt: try utc(2021, 9, 3, 13, 58, 15, microseconds: 932_000),
                    latestErrors: [
                        ErrorWithContext(
                            error: ErrorInstance(className: "E", message: "m", stacktrace: ["s"]),
                            uuid: "u",
                            timestamp: try utc(2021, 9, 3, 13, 58, 16),
                            severity: .info,
                            httpContext: HTTPContext(requestMethod: "GET", requestURL: "/", requestHeaders: ["b": "2", "a": "1"])
                        )
                    ]
                )
            ]
        )
        let expected =
            #"{"target_uuid":"t","aggregated_errors":[{"aggregation_key":"k","total_count":2,"severity":"info","created_at":"2021-09-03T13:58:15.932Z","#
            + #""latest_errors":[{"error":{"class":"E","message":"m","stacktrace":["s"],"cause":null},"uuid":"u","timestamp":"2021-09-03T13:58:16.000Z","#
            + #""severity":"info","http_context":{"request_method":"GET","request_url":"/","request_headers":{"a":"1","b":"2"},"request_body":null}}]}]}"#
        #expect(String(decoding: PayloadEncoder().encode(payload), as: UTF8.self) == expected)
    }

    @Test func sameDataGivesSameBytes() throws {
        // Header order in a dictionary varies; the bytes must not, since scrapers hash them.
        let payload = try Self.fullPayload()
        let reordered = try PayloadDecoder().decode(PayloadEncoder().encode(payload))
        #expect(PayloadEncoder().encode(reordered) == PayloadEncoder().encode(payload))
    }

    @Test func decodedNanosecondsSurviveAnotherRoundTrip() throws {
        let payload = try Fixtures.decode("pushgateway_GET-dash-errors_response.json")
        let encoded = String(decoding: PayloadEncoder().encode(payload), as: UTF8.self)
        #expect(encoded.contains(#""timestamp":"2021-09-03T13:58:15.932289Z""#))
        #expect(try PayloadDecoder().decode(Array(encoded.utf8)) == payload)
    }

    @Test func codableSamplesIgnoreTheDateStrategy() throws {
        let sample = try #require(Self.fullPayload().aggregatedErrors.first?.latestErrors.first)
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        let data = try encoder.encode(sample)
        #expect(String(decoding: data, as: UTF8.self).contains(#""timestamp":"2021-09-03T13:58:15.932289Z""#))
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        #expect(try decoder.decode(ErrorWithContext.self, from: data) == sample)
    }

    @Test func codableSampleUsesTheWireFormat() throws {
        let sample = try #require(Self.fullPayload().aggregatedErrors.first?.latestErrors.first)
        let data = try JSONEncoder().encode(sample)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["timestamp"] as? String == "2021-09-03T13:58:15.932289Z")
        #expect((object["http_context"] as? [String: Any])?["request_url"] as? String == "http://example.com/a?b=c&d=é")
        #expect((object["error"] as? [String: Any])?["class"] as? String == "Outer$Inner")
        #expect(try JSONDecoder().decode(ErrorWithContext.self, from: data) == sample)
    }

    @Test func codableSamplesAreTolerantLikeThePayloadDecoder() throws {
        let json = #"{"error": {"message": null, "cause": null}, "http_context": {"request_headers": null}, "timestamp": 1630677495.5}"#
        let sample = try JSONDecoder().decode(ErrorWithContext.self, from: Data(json.utf8))
        let wire = try decode(#"{"aggregated_errors": [{"aggregation_key": "k", "total_count": 1, "latest_errors": [\#(json)]}]}"#)
        #expect(sample == wire.aggregatedErrors.first?.latestErrors.first)
        #expect(sample.timestamp == (try utc(2021, 9, 3, 13, 58, 15, microseconds: 500_000)))
        #expect(sample.httpContext?.requestHeaders == [:])
        let badTime = #"{"error": {"class": "C"}, "timestamp": "yesterday"}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ErrorWithContext.self, from: Data(badTime.utf8)) }
    }
}
