import Testing
@testable import PromQL

/// Label regexes must mean what they mean in Prometheus (Go's RE2), though ICU runs them.
@Suite struct RegexTests {
    /// Regex, value, whether the value fully matches.
    static let cases: [(String, String, Bool)] = [
        ("foo", "foo", true), ("foo", "foobar", false), ("foo", "xfoo", false),
        ("foo", "foo\n", false),  // `$` is the very end in RE2, not before a final newline
        ("a|b", "a", true), ("a|b", "ab", false), ("", "", true), ("", "x", false),
        (".*", "", true), (".*", "anything", true), (".*", "a\nb", false), ("(?s).*", "a\nb", true),
        ("a.b", "a\nb", false), ("(?s:a.b)", "a\nb", true),
        ("\\d+", "123", true), ("\\d", "٣", false), ("\\w+", "a_1", true), ("\\w", "é", false),
        ("\\s", " ", true), ("\\s", "\u{A0}", false), ("\\s", "\u{0B}", false), ("\\S+", "ab", true),
        ("[[:alpha:]]+", "abc", true), ("[[:alpha:]]", "é", false), ("[[:^digit:]]", "a", true),
        ("[[:word:]]+", "a_1", true), ("[^a]", "\n", true), ("[^a]", "a", false),
        ("\\pL+", "héllo", true), ("\\p{Greek}+", "αβγ", true), ("\\p{Greek}", "a", false),
        ("\\PL", "1", true), ("\\p{^L}", "1", true), ("[\\p{Lu}\\d]+", "A1", true), ("\\p{Any}", "😀", true),
        ("(?i)foo", "FoO", true), ("(?i:f)oo", "FOO", false), ("(?i)[a-c]+", "ABC", true),
        ("a{2,3}", "aa", true), ("a{2,3}", "aaaa", false), ("a{2}", "aa", true), ("a{2,}", "aaaaa", true),
        ("a{,2}", "a{,2}", true),  // not a repetition in RE2, so literal
        ("x*?y", "xxy", true), ("(?U)x+y", "xxy", true),
        ("\\Q.*\\E", ".*", true), ("\\Q.*\\E", "ab", false), ("\\Q+\\E", "+", true),
        ("\\x41\\x{42}\\103", "ABC", true), ("\\.", ".", true), ("\\.", "a", false), ("\\_", "_", true),
        ("[a-c&&b]", "&", true), ("[a-c--b]", "-", true), ("[[]", "[", true), ("[]a]", "]", true),
        ("a\\b-", "a-", true), ("a\\bb", "ab", false), ("a\\Bb", "ab", true),
        ("\\Aab\\z", "ab", true), ("^ab$", "ab", true), ("(?m)a$", "a", true),
        ("(a)(?P<name>b)", "ab", true), ("(?:ab)+", "abab", true), ("(a|)b", "b", true),
        ("e\u{301}", "e\u{301}", true), (".", "e\u{301}", false), (".", "😀", true),
        ("[😀-😂]", "😁", true), ("\\x{1F600}", "😀", true),
    ]

    @Test(arguments: cases)
    func matchesLikeRE2(pattern: String, value: String, matches: Bool) throws {
        let regex = try LabelRegex(pattern)
        #expect(regex.matches(value) == matches, "\(pattern) → \(regex.icuPattern)")
    }

    /// Regex, then Go's message: the anchored text `^(?:…)$` is what Go parses.
    static let errors: [(String, String)] = [
        ("(", "missing closing ): `^(?:()$`"),
        ("a)", "unexpected ): `^(?:a))$`"),
        ("a)(b", "unexpected ): `a)(b`"),  // balanced once anchored; Prometheus parses it bare too
        ("[a", "missing closing ]: `[a)$`"),
        ("*", "missing argument to repetition operator: `*`"),
        ("a|*", "missing argument to repetition operator: `*`"),
        ("a**", "invalid nested repetition operator: `**`"),
        ("a*?+", "invalid nested repetition operator: `*?+`"),
        ("a{2}{3}", "invalid nested repetition operator: `{2}{3}`"),
        ("a{1001}", "invalid repeat count: `{1001}`"),
        ("a{2,1}", "invalid repeat count: `{2,1}`"),
        ("(a{100}){11}", "invalid repeat count: `{11}`"),
        ("(?=a)", "invalid or unsupported Perl syntax: `(?=`"),
        ("(?<n>a)", "invalid or unsupported Perl syntax: `(?<`"),
        ("(?i-)a", "invalid or unsupported Perl syntax: `(?i-)`"),
        ("(?P<>a)", "invalid named capture: `(?P<>`"),
        ("(?P<a-b>x)", "invalid named capture: `(?P<a-b>`"),
        ("\\1", "invalid escape sequence: `\\1`"),
        ("\\8", "invalid escape sequence: `\\8`"),
        ("\\Z", "invalid escape sequence: `\\Z`"),
        ("\\C", "invalid escape sequence: `\\C`"),
        ("\\y", "invalid escape sequence: `\\y`"),
        ("[\\b]", "invalid escape sequence: `\\b`"),
        ("[z-a]", "invalid character class range: `z-a`"),
        ("[[:foo:]]", "invalid character class range: `[:foo:]`"),
        ("\\p{Foo}", "invalid character class range: `\\p{Foo}`"),
        ("\\pX", "invalid character class range: `\\pX`"),
    ]

    @Test(arguments: errors)
    func rejectsLikeGo(pattern: String, message: String) {
        #expect(throws: RegexError(message: "error parsing regexp: " + message)) { try LabelRegex(pattern) }
    }

    @Test func matchersExposeTheirParts() throws {
        let matcher = try LabelMatcher(.regexNoMatch, name: "job", value: "api|web")
        #expect(matcher.type == .regexNoMatch)
        #expect(matcher.name == "job")
        #expect(matcher.value == "api|web")
        #expect(matcher.regex?.source == "api|web")
        #expect(matcher.matches("db"))
        #expect(!matcher.matches("api"))
        #expect(matcher.description == #"job!~"api|web""#)
        #expect(try LabelMatcher(.equal, name: "a", value: "b").regex == nil)
        #expect(try LabelMatcher(.notEqual, name: "a", value: "").matches("x"))
    }
}
