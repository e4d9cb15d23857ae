import Shared
import Testing

/// What `ConfigReader` reports of a broken YAML document.
@Suite struct ConfigReaderTests {
    static func issues(_ text: String) -> [ConfigIssue] {
        let reader = ConfigReader(file: "c.yml")
        #expect(reader.root(of: text) == nil)
        return reader.issues
    }

    @Test func duplicatedKeysAreNamedInOrderWithTheirPlace() throws {
        let issues = Self.issues("b: 1\na: 1\nb: 2\na: 2\n")
        #expect(issues.map(\.message) == ["duplicated keys: a, b"])
        #expect(issues.first?.line != nil)
    }

    /// Found by the hub config fuzz target (scripts/fuzz): with a mapping among the duplicated
    /// keys Yams lists them (and places the error) in an order that changes from one parse to the
    /// next, so the same file gave a different error each time.
    @Test func duplicatedKeysThatAreNotScalarsGiveTheSameErrorEveryTime() throws {
        let text = "b: 1\na: 1\n? {x: 1}\n: 1\n? {x: 1}\n: 2\nb: 2\na: 2\n"
        let first = Self.issues(text)
        #expect(first.map(\.message) == ["duplicated keys: a, b, a key that is not a scalar"])
        #expect(first.first?.file == "c.yml")
        for _ in 0..<20 { #expect(Self.issues(text) == first) }
    }

    /// Found by the hub config fuzz target (scripts/fuzz): a duration longer than Int64 nanoseconds
    /// trapped converting to Int64; it is an error naming the value and the limit.
    @Test func durationsBeyondInt64NanosecondsAreAnError() throws {
        let reader = ConfigReader(file: "hub.yml")
        let text = "storage: {retention: 3" + String(repeating: "8", count: 119) + "0d, samples_per_group: 20}\n"
        let storage = try #require(reader.root(of: text)?.mapping()?.optional("storage")?.mapping())
        #expect(storage.optional("retention")?.duration() == nil)
        #expect(reader.issues.map(\.message) == [#"duration out of range: "3\#(String(repeating: "8", count: 119))0d" (at most 292y)"#])
        #expect(reader.issues.first?.line == 1 && reader.issues.first?.path == "storage.retention")
        #expect(throws: DurationParser.Failure.self) { try DurationParser.parse("200y200y") }
        #expect(try DurationParser.parse("292y") == .seconds(292 * 365 * 86400))
        #expect((try? DurationParser.parse("1" + String(repeating: "0", count: 400) + "s")) == nil)
    }
}
