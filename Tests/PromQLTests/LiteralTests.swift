import Testing
@testable import PromQL

@Suite struct DurationTests {
    static let valid: [(String, Int64, String)] = [
        ("1ms", 1, "1ms"), ("500ms", 500, "500ms"), ("1s", 1000, "1s"), ("90s", 90_000, "1m30s"),
        ("5m", 300_000, "5m"), ("1h30m", 5_400_000, "1h30m"), ("90m", 5_400_000, "1h30m"),
        ("1d", 86_400_000, "1d"), ("7d", 604_800_000, "1w"), ("8d", 691_200_000, "8d"),
        ("90d", 7_776_000_000, "90d"), ("1w", 604_800_000, "1w"), ("1y", 31_536_000_000, "1y"),
        ("1y1d", 31_622_400_000, "366d"), ("1h0m", 3_600_000, "1h"), ("0h1m", 60_000, "1m"),
        ("01m", 60_000, "1m"), ("1d1h1m1s1ms", 90_061_001, "1d1h1m1s1ms"), ("0", 0, "0s"),
        ("292y", 9_208_512_000_000, "292y"),
    ]

    @Test(arguments: valid)
    func parsesAndPrints(text: String, milliseconds: Int64, canonical: String) throws {
        let duration = try PromDuration.parse(text)
        #expect(duration.milliseconds == milliseconds)
        #expect(duration.description == canonical)
    }

    static let invalid: [(String, String)] = [
        ("", "empty duration string"), ("5", "not a valid duration string: \"5\""),
        ("m", "not a valid duration string: \"m\""), ("5m1h", "not a valid duration string: \"5m1h\""),
        ("1m1m", "not a valid duration string: \"1m1m\""), ("1hs", "not a valid duration string: \"1hs\""),
        ("1s1m", "not a valid duration string: \"1s1m\""), ("5M", "not a valid duration string: \"5M\""),
        ("300y", "duration out of range"), ("106752d", "duration out of range"),
        ("99999999999999999999999s", "duration out of range"),
    ]

    @Test(arguments: invalid)
    func rejects(text: String, message: String) {
        #expect(throws: DurationError(message: message)) { try PromDuration.parse(text) }
    }

    @Test func negativeOffsetsPrintWithASign() throws {
        #expect(PromDuration(milliseconds: -5_400_000).description == "-1h30m")
        guard case .vectorSelector(let selector) = try PromQLParser.parse("x offset -1h30m") else {
            Issue.record("not a selector")
            return
        }
        #expect(selector.offset == PromDuration(milliseconds: -5_400_000))
    }
}

@Suite struct NumberTests {
    static let values: [(String, Double)] = [
        ("1", 1), (".5", 0.5), ("5.", 5), ("1e3", 1000), ("1E3", 1000), ("1e+3", 1000), ("1.5e-3", 0.0015),
        ("0x1f", 31), ("0X1F", 31), ("0x1e5", 485), ("0755", 493), ("08", 8), ("09.5", 9.5), ("00", 0),
        ("9223372036854775807", Double(Int64.max)), ("9223372036854775808", 9.223372036854775808e18),
        ("Inf", .infinity), ("iNf", .infinity), ("1e-400", 0),
    ]

    @Test(arguments: values)
    func valueOf(text: String, value: Double) throws {
        #expect(try NumberText.value(of: text).get() == value)
    }

    @Test func nanAndSigns() throws {
        #expect(try NumberText.value(of: "nan").get().isNaN)
        #expect(try PromQLParser.parse("-Inf") == .number(NumberLiteral(-.infinity)))
        #expect(try PromQLParser.parse("- - 2") == .number(NumberLiteral(2)))
        #expect(try PromQLParser.parse("NaN") == PromQLParser.parse("nan"), "NaN literals are equal to each other")
    }

    static let formats: [(Double, String)] = [
        (1, "1"), (-1, "-1"), (0.5, "0.5"), (123456, "123456"), (1e6, "1e+06"), (1234567, "1.234567e+06"),
        (0.0001, "0.0001"), (0.00001, "1e-05"), (1.5e-7, "1.5e-07"), (1e100, "1e+100"), (.leastNonzeroMagnitude, "5e-324"),
        (0.1 + 0.2, "0.30000000000000004"), (-0.0, "-0"), (.infinity, "Inf"), (-.infinity, "-Inf"), (.nan, "NaN"),
        (9.223372036854775808e18, "9.223372036854776e+18"),
    ]

    @Test(arguments: formats)
    func formatsLikeGo(value: Double, text: String) {
        #expect(GoText.formatFloat(value) == text)
    }

    @Test func quotesLikeGo() {
        #expect(GoText.quote("a\"b\\c\n\t\u{07}") == #""a\"b\\c\n\t\a""#)
        #expect(GoText.quote("é\u{0}\u{7F}\u{A0}\u{200B}😀") == #""é\x00\x7f\u00a0\u200b😀""#)
        #expect(GoText.quote("abcdefghijkl", maxRunes: 10) == #""abcdefghij""#)
        #expect(GoText.quoteRune("'") == #"'\''"#)
        #expect(GoText.unicodeNotation("c") == "U+0063 'c'")
        #expect(GoText.unicodeNotation("\n") == "U+000A")
    }
}
