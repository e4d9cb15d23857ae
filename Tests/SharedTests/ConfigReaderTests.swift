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
}
