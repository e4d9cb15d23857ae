import Foundation
import Testing

@testable import Periskop

/// The Periskop fixtures, in the repository: Tests/Fixtures/periskop (see its README).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/periskop")
        .standardizedFileURL

    /// Every payload in the fixture directory (the JSON Schema is not a payload).
    static let payloadFiles: [String] = {
        // A missing directory is a broken checkout, not an empty list of payloads.
        let names = try! FileManager.default.contentsOfDirectory(atPath: directory.path)
        return names.filter { $0.hasSuffix(".json") && !$0.hasSuffix(".schema.json") }.sorted()
    }()

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func decode(_ name: String, limits: PayloadLimits = .init()) throws -> ExceptionsPayload {
        try PayloadDecoder(limits: limits).decode(bytes(name))
    }
}

func decode(_ json: String, limits: PayloadLimits = .init()) throws -> ExceptionsPayload {
    try PayloadDecoder(limits: limits).decode(Array(json.utf8))
}

/// Decodes a payload of one group, given as JSON, and returns that group.
func decodeGroup(_ groupJSON: String, limits: PayloadLimits = .init()) throws -> AggregatedError {
    let payload = try decode(#"{"aggregated_errors": ["# + groupJSON + "]}", limits: limits)
    return try #require(payload.aggregatedErrors.first)
}

/// Decodes a payload of one group with one sample, given as JSON, and returns that sample.
func decodeSample(_ sampleJSON: String, limits: PayloadLimits = .init()) throws -> ErrorWithContext {
    let group = try decodeGroup(#"{"aggregation_key": "k", "total_count": 1, "latest_errors": ["# + sampleJSON + "]}", limits: limits)
    return try #require(group.latestErrors.first)
}

/// The error decoding `json` throws, or nil (which fails the test) if it decodes.
func decodingError(_ json: String, limits: PayloadLimits = .init()) -> PayloadError? {
    #expect(throws: PayloadError.self) { try decode(json, limits: limits) }
}

/// A UTC time built with Foundation's calendar, independently of the parser under test.
func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int, microseconds: Int = 0) throws -> Date {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = try #require(TimeZone(identifier: "UTC"))
    let components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
    let whole = try #require(calendar.date(from: components))
    return Date(timeIntervalSinceReferenceDate: whole.timeIntervalSinceReferenceDate + Double(microseconds) / 1_000_000)
}
