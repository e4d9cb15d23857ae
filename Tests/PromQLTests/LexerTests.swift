import Testing
@testable import PromQL

@Suite struct LexerTests {
    private func tokens(_ query: String) throws -> [String] {
        var lexer = Lexer(query)
        var out: [String] = []
        while true {
            let token = try lexer.nextToken()
            if token.kind == .eof { return out }
            out.append("\(token.offset):\(token.text)")
        }
    }

    private func kinds(_ query: String) throws -> [TokenKind] {
        var lexer = Lexer(query)
        var out: [TokenKind] = []
        while true {
            let token = try lexer.nextToken()
            if token.kind == .eof { return out }
            out.append(token.kind)
        }
    }

    @Test func splitsAnExpressionIntoTokensWithOffsets() throws {
        #expect(try tokens(#"sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) > 0.5"#) == [
            "0:sum", "4:by", "7:(", "8:job", "11:)", "13:(", "14:rate", "18:(", "19:http_requests_total", "38:{",
            "39:code", "43:=~", "45:\"5..\"", "50:}", "51:[", "52:5m", "54:]", "55:)", "56:)", "58:>", "60:0.5",
        ])
    }

    @Test func keywordsAreCaseInsensitiveAndPlainNamesInsideBraces() throws {
        #expect(try kinds("SUM Offset BOOL on Group_Left and ATAN2 start END inf NaN") == [
            .aggregator(.sum), .keyword(.offset), .keyword(.bool), .keyword(.on), .keyword(.groupLeft),
            .binaryOperator(.and), .binaryOperator(.atan2), .preprocessor(.start), .preprocessor(.end), .number, .number,
        ])
        #expect(try kinds("x{sum=\"a\", offset!=\"b\"}") == [
            .identifier, .leftBrace, .identifier, .assign, .string, .comma, .identifier, .binaryOperator(.notEqual),
            .string, .rightBrace,
        ])
        #expect(try kinds("job:rate5m a_1 Infinity") == [.metricIdentifier, .identifier, .identifier])
    }

    @Test func numbersAndDurations() throws {
        #expect(try kinds("1 .5 5. 1e3 1.5E-3 0x1F 0755 5m 1h30m 500ms") == [
            .number, .number, .number, .number, .number, .number, .number, .duration, .duration, .duration,
        ])
        #expect(try tokens("x[ 1h30m : 5m ]") == ["0:x", "1:[", "3:1h30m", "9::", "11:5m", "14:]"])
    }

    @Test func operatorsAndComments() throws {
        #expect(try kinds("+ - * / % ^ == != > < >= <= @ # comment\n,") == [
            .binaryOperator(.add), .binaryOperator(.sub), .binaryOperator(.mul), .binaryOperator(.div),
            .binaryOperator(.mod), .binaryOperator(.pow), .binaryOperator(.equal), .binaryOperator(.notEqual),
            .binaryOperator(.greater), .binaryOperator(.less), .binaryOperator(.greaterOrEqual),
            .binaryOperator(.lessOrEqual), .at, .comma,
        ])
    }

    @Test func stringsKeepTheirQuotesAndEscapes() throws {
        #expect(try tokens(#"'a\'b' "c\"d" `e\f`"#) == [#"0:'a\'b'"#, #"7:"c\"d""#, "14:`e\\f`"])
        #expect(StringUnquoting.unquote(#"'a\'b'"#) == "a'b")
        #expect(StringUnquoting.unquote(#""\a\b\f\n\r\t\v\\\"""#) == "\u{07}\u{08}\u{0C}\n\r\t\u{0B}\\\"")
        #expect(StringUnquoting.unquote(#""\101\x41\u0041\U00000041""#) == "AAAA")
        #expect(StringUnquoting.unquote(#""\xc3\xa9""#) == "é")
        #expect(StringUnquoting.unquote(#""\xff""#) == "\u{FFFD}")
        #expect(StringUnquoting.unquote("`a\\nb`") == "a\\nb")
    }

    /// Query, then the error: at the start of the token being read, as Prometheus reports it.
    static let failures: [(String, String)] = [
        ("a # ok\n$", "2:1: parse error: unexpected character: '$'"),
        ("x{a=\"b\"", "1:8: parse error: unexpected end of input inside braces"),
        ("x{a!b}", "1:4: parse error: unexpected character after '!' inside braces: 'b'"),
        ("x{a={}", "1:5: parse error: unexpected left brace '{'"),
        ("x[5m[", "1:5: parse error: unexpected left bracket '['"),
        ("x[5m:y:z]", "1:6: parse error: unexpected colon 'y'"),
        ("\"a\nb\"", "1:1: parse error: unterminated quoted string"),
        ("\"\\", "1:1: parse error: escape sequence not terminated"),
        ("\"\\u12\"", "1:1: parse error: illegal character U+0022 '\"' in escape sequence"),
        ("\"\\400\"", "1:1: parse error: escape sequence is an invalid Unicode code point"),
        ("1_000", "1:1: parse error: bad number or duration syntax: \"1\""),
        ("5x", "1:1: parse error: bad number or duration syntax: \"5\""),
        ("x[abc]", "1:3: parse error: bad duration syntax: \"\""),
        ("x[1y1y]", "1:3: parse error: bad duration syntax: \"1y1\""),
        ("x[1m1]", "1:3: parse error: bad duration syntax: \"1m1\""),
        ("x\u{A0}", "1:2: parse error: unexpected character: '\\u00a0'"),
        ("é", "1:1: parse error: unexpected character: 'é'"),
    ]

    @Test(arguments: failures)
    func lexicalErrors(query: String, expected: String) {
        #expect(outcome(query) == expected)
    }
}
