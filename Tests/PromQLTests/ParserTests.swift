import Testing
@testable import PromQL

@Suite struct ParserTests {
    /// Query, then its tree with every operator parenthesized (see `structure`).
    static let trees: [(String, String)] = [
        ("1 + 2 * 3", "(1 + (2 * 3))"),
        ("1 * 2 + 3", "((1 * 2) + 3)"),
        ("1 - 2 - 3", "((1 - 2) - 3)"),
        ("1 / 2 / 3", "((1 / 2) / 3)"),
        ("2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"),
        ("-2 ^ 2", "(-(2 ^ 2))"),
        ("-2 * 3", "(-2 * 3)"),
        ("2 ^ -1", "(2 ^ -1)"),
        ("-a ^ b", "(-(a ^ b))"),
        ("-a * b", "((-a) * b)"),
        ("a ^ -b * c", "((a ^ (-b)) * c)"),
        ("a ^ -b ^ c", "(a ^ (-(b ^ c)))"),
        ("- -a", "(-(-a))"),
        ("+-+a", "(+(-(+a)))"),
        ("--1", "1"),
        ("-(1)", "(-paren(1))"),
        ("1 % 3 * 2", "((1 % 3) * 2)"),
        ("a atan2 b * c", "((a atan2 b) * c)"),
        ("a + b atan2 c", "(a + (b atan2 c))"),
        ("a > b + c", "(a > (b + c))"),
        ("a + b > c", "((a + b) > c)"),
        ("a == b != c", "((a == b) != c)"),
        ("a and b or c", "((a and b) or c)"),
        ("a or b and c", "(a or (b and c))"),
        ("a unless b and c", "((a unless b) and c)"),
        ("a or b or c", "((a or b) or c)"),
        ("a > 0 and a < 10", "((a > 0) and (a < 10))"),
        ("1 > bool 2 == bool 0", "((1 > bool 2) == bool 0)"),
        ("(1 + 2) * 3", "(paren((1 + 2)) * 3)"),
        ("a + on(b) group_left(c) d", "(a + on (b) group_left (c) d)"),
        ("a + on(b) group_left d * e", "(a + on (b) group_left () (d * e))"),
        ("a * on(b) group_left() (c)", "(a * on (b) group_left () paren(c))"),
        ("a - ignoring(x) b", "(a - ignoring (x) b)"),
        ("a and on() b", "(a and on () b)"),
        ("a == bool on(x) b", "(a == bool on (x) b)"),
        ("a + b offset 5m", "(a + b offset 5m)"),
        ("-a offset 5m", "(-a offset 5m)"),
        ("-a @ 10", "(-a @ 10.000)"),
        ("a + max_over_time(b[5m:])", "(a + max_over_time(b[5m:]))"),
        ("sum(a) by (job) > 0", "(sum by (job) (a) > 0)"),
        ("sum by (job) (a + b)", "sum by (job) ((a + b))"),
        ("topk(3, a) + 1", "(topk(3, a) + 1)"),
        ("rate(a[5m]) * 60", "(rate(a[5m]) * 60)"),
        ("(a + b)[1h:5m] offset 1m", "paren((a + b))[1h:5m] offset 1m"),
        ("max_over_time(rate(a[1m])[1h:])", "max_over_time(rate(a[1m])[1h:])"),
        ("histogram_quantile(0.9, sum by (le) (rate(h[5m])))", "histogram_quantile(0.9, sum by (le) (rate(h[5m])))"),
    ]

    @Test(arguments: trees)
    func treeShape(query: String, expected: String) throws {
        #expect(structure(try PromQLParser.parse(query)) == expected)
    }

    /// Query, then its canonical text.
    static let prints: [(String, String)] = [
        ("sum by() (x)", "sum(x)"),
        ("sum by(code) (x)", "sum by (code) (x)"),
        ("sum without() (x)", "sum without () (x)"),
        ("sum(x) without(instance)", "sum without (instance) (x)"),
        ("SUM BY (job) (x)", "sum by (job) (x)"),
        ("topk(5, x)", "topk(5, x)"),
        ("count_values(\"value\", x)", "count_values(\"value\", x)"),
        ("a - on() c", "a - on () c"),
        ("a - on(b) group_left c", "a - on (b) group_left () c"),
        ("a - ignoring() c", "a - c"),
        ("a - ignoring() group_left c", "a - ignoring () group_left () c"),
        ("up > bool 0", "up > bool 0"),
        ("a offset 1m", "a offset 1m"),
        ("a OFFSET -7m", "a offset -7m"),
        ("a offset 90m", "a offset 1h30m"),
        ("a offset 1m30ms", "a offset 1m30ms"),
        ("a{c=\"d\"}[5m] offset 1m", "a{c=\"d\"}[5m] offset 1m"),
        ("a[12m] offset -3m", "a[12m] offset -3m"),
        ("a[1h:5m] offset 1m", "a[1h:5m] offset 1m"),
        ("a offset 1m @ 5", "a @ 5.000 offset 1m"),
        ("a[1m] @ 10", "a[1m] @ 10.000"),
        ("a @ 1.5", "a @ 1.500"),
        ("a @ -1.5", "a @ -1.500"),
        ("a @ 3.3335", "a @ 3.334"),
        ("a @ 0x10", "a @ 16.000"),
        ("a @ start()", "a @ start()"),
        ("a[1m] @ end()", "a[1m] @ end()"),
        ("{__name__=\"a\"}", "{__name__=\"a\"}"),
        ("a{z=\"1\", b!~\"c\", m=~'x'}", "a{b!~\"c\",m=~\"x\",z=\"1\"}"),
        ("foo{bar='}'}", "foo{bar=\"}\"}"),
        ("foo{a=\"\\u00e9\\n\"}", "foo{a=\"é\\n\"}"),
        ("'it\\'s'", "\"it's\""),
        ("`raw\\n`", "\"raw\\\\n\""),
        ("\"\\x41\\101\\u0041\"", "\"AAA\""),
        ("\"\\xff\"", "\"\\ufffd\""),
        ("1e6", "1e+06"),
        ("123456", "123456"),
        ("0.0001", "0.0001"),
        ("0.00001", "1e-05"),
        ("0x1f", "31"),
        ("0755", "493"),
        ("08", "8"),
        ("+Inf", "Inf"),
        ("-inf", "-Inf"),
        ("nan", "NaN"),
        ("-0", "-0"),
        ("1 + 2*3", "1 + 2 * 3"),
        ("x[5m:]", "x[5m:]"),
        ("x[300s:60s]", "x[5m:1m]"),
        ("x[7d]", "x[1w]"),
        ("x[90d]", "x[90d]"),
        ("x[365d]", "x[1y]"),
        ("x[1500ms]", "x[1s500ms]"),
        ("rate(x[5m]) / ignoring (a, b) group_right (c) y", "rate(x[5m]) / ignoring (a, b) group_right (c) y"),
        ("label_join(x, \"a\", \",\", \"b\", \"c\")", "label_join(x, \"a\", \",\", \"b\", \"c\")"),
        ("sum(x) # a comment", "sum(x)"),
        ("x\n  +\n y", "x + y"),
        ("sum", "sum"),
        ("offset offset 5m", "offset offset 5m"),
        ("a and and", "a and and"),
        ("foo[5m x]", "foo[5m:]"),
    ]

    @Test(arguments: prints)
    func canonicalText(query: String, expected: String) throws {
        #expect(try PromQLParser.parse(query).description == expected)
    }

    /// Found by the PromQL fuzz target (scripts/fuzz): a bad byte (U+FFFD) followed by a combining
    /// mark is one Swift character, which the printer's replacing of U+FFFD missed, so the printed
    /// query held a raw U+FFFD that does not parse back.
    @Test func badBytesBeforeACombiningMarkPrintEscaped() throws {
        #expect(try PromQLParser.parse(#""\xff\u0617""#).description == #""\ufffd\#u{0617}""#)
        let crash = #""\\n\r\t\v\\\"- \xFF\377\u1234\U00010111\U0001011111☺010a\b\f\n\r\t\v\\\"- \xFF\377\u0617\U00010111\U0001011111☺010[1ms]☺""#
        let tree = try PromQLParser.parse(crash)
        #expect(try PromQLParser.parse(tree.description) == tree, "\(tree.description)")
    }

    /// Query, then the error, as Prometheus 2.42 words it.
    static let errors: [(String, String)] = [
        ("", "1:1: parse error: no expression found in input"),
        ("# only a comment", "1:1: parse error: no expression found in input"),
        ("1 +", "1:4: parse error: unexpected end of input"),
        ("1 + +", "1:6: parse error: unexpected end of input"),
        ("*1", "1:1: parse error: unexpected <op:*>"),
        ("(1))", "1:5: parse error: unexpected right parenthesis ')'"),
        ("((1)", "1:5: parse error: unclosed left parenthesis"),
        ("foo{", "1:5: parse error: unexpected end of input inside braces"),
        ("foo{a=b}", "1:7: parse error: unexpected identifier \"b\" in label matching, expected string"),
        ("foo{a}", "1:6: parse error: unexpected \"}\" in label matching, expected label matching operator"),
        ("foo{,}", "1:5: parse error: unexpected \",\" in label matching, expected identifier or \"}\""),
        ("foo{a=\"b\" c=\"d\"}", "1:11: parse error: unexpected identifier \"c\" in label matching, expected \",\" or \"}\""),
        ("foo{a:b=\"c\"}", "1:6: parse error: unexpected character inside braces: ':'"),
        ("foo bar", "1:5: parse error: unexpected identifier \"bar\""),
        ("foo{a=\"b\"}{c=\"d\"}", "1:11: parse error: unexpected \"{\""),
        ("sum(foo +)", "1:10: parse error: unexpected \")\" in aggregation"),
        ("rate(foo +)", "1:11: parse error: unexpected \")\""),
        ("sum by (a) by (b) (x)", "1:12: parse error: unexpected <by> in aggregation"),
        ("sum(x) by", "1:10: parse error: unexpected end of input in grouping opts, expected \"(\""),
        ("sum by (a:b) (x)", "1:9: parse error: unexpected metric identifier \"a:b\" in grouping opts, expected label"),
        ("sum by (without) (x)", "1:9: parse error: unexpected <without> in grouping opts, expected label"),
        ("sum by (a b) (x)", "1:11: parse error: unexpected identifier \"b\" in grouping opts, expected \",\" or \")\""),
        ("sum()", "1:1: parse error: no arguments for aggregate expression provided"),
        ("sum(x, y)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 1, got 2"),
        ("topk(x)", "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1"),
        ("topk(x, 3)", "1:9: parse error: expected type instant vector in aggregation expression, got scalar"),
        ("topk(\"3\", x)", "1:6: parse error: expected type scalar in aggregation parameter, got string"),
        ("count_values(1, x)", "1:14: parse error: expected type string in aggregation parameter, got scalar"),
        ("sum(x[5m])", "1:5: parse error: expected type instant vector in aggregation expression, got range vector"),
        ("rate(x)", "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"),
        ("rate(x[5m],)", "1:11: parse error: trailing commas not allowed in function call args"),
        ("abs()", "1:1: parse error: expected 1 argument(s) in call to \"abs\", got 0"),
        ("round(x, 1, 2)", "1:1: parse error: expected at most 2 argument(s) in call to \"round\", got 3"),
        ("label_join(x, \"a\")", "1:1: parse error: expected at least 3 argument(s) in call to \"label_join\", got 2"),
        ("nope(x)", "1:1: parse error: unknown function with name \"nope\""),
        ("RATE(x[5m])", "1:1: parse error: unknown function with name \"RATE\""),
        ("1 == 1", "1:3: parse error: comparisons between scalars must use BOOL modifier"),
        ("a + bool b", "1:3: parse error: bool modifier can only be used on comparison operators"),
        ("1 and 1", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"),
        ("a and 1", "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"),
        ("a and on(b) group_left c", "1:1: parse error: no grouping allowed for \"and\" operation"),
        ("1 + on(a) b", "1:1: parse error: vector matching only allowed between instant vectors"),
        ("a + on(x) group_left(x) b", "1:3: parse error: label \"x\" must not occur in ON and GROUP clause at once"),
        ("a + on(x) ignoring(y) b", "1:11: parse error: unexpected <ignoring>"),
        ("a + group_left b", "1:5: parse error: unexpected <group_left>"),
        ("\"a\" + 1", "1:1: parse error: binary expression must contain only scalar and instant vector types"),
        ("a[5m] + 1", "1:1: parse error: binary expression must contain only scalar and instant vector types"),
        ("-x[5m]", "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"range vector\""),
        ("-\"a\"", "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"string\""),
        ("(a)[5m]", "1:4: parse error: ranges only allowed for vector selectors"),
        ("rate(a[5m])[1h]", "1:12: parse error: ranges only allowed for vector selectors"),
        ("a offset 5m[1m]", "1:12: parse error: no offset modifiers allowed before range"),
        ("a @ 1[1m]", "1:6: parse error: no @ modifiers allowed before range"),
        ("a[5m][1m:]", "1:1: parse error: subquery is only allowed on instant vector, got matrix instead"),
        ("a offset 1m offset 2m", "1:1: parse error: offset may not be set multiple times"),
        ("a @ 1 @ 2", "1:1: parse error: @ <timestamp> may not be set multiple times"),
        ("sum(a) offset 1m", "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"),
        ("1 @ 5", "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery"),
        ("a @ Inf", "1:1: parse error: timestamp out of bounds for @ modifier: +Inf"),
        ("a @ 1e19", "1:1: parse error: timestamp out of bounds for @ modifier: 10000000000000000000.000000"),
        ("a @", "1:4: parse error: unexpected end of input in @, expected timestamp"),
        ("a @ start", "1:10: parse error: unexpected end of input in @, expected timestamp"),
        ("a @ 1m", "1:5: parse error: unexpected duration \"1m\" in @, expected timestamp"),
        ("a offset", "1:9: parse error: unexpected end of input in offset, expected duration"),
        ("a offset 5", "1:10: parse error: unexpected number \"5\" in offset, expected duration"),
        ("a offset 0s", "1:10: parse error: duration must be greater than 0"),
        ("a[5m+]", "1:5: parse error: unexpected <op:+> in subquery or range, expected \":\" or \"]\""),
        ("a[5m:1]", "1:6: parse error: unexpected number \"1\" in subquery selector, expected duration or \"]\""),
        ("a[5m:1m 1]", "1:9: parse error: unexpected number \"1\" in subquery selector, expected \"]\""),
        ("a[5m:1m:1m]", "1:8: parse error: unexpected colon ':'"),
        ("a[]", "1:3: parse error: missing unit character in duration"),
        ("a[5]", "1:3: parse error: missing unit character in duration"),
        ("a[5mm]", "1:3: parse error: bad duration syntax: \"5mm\""),
        ("a[5m1h]", "1:3: parse error: not a valid duration string: \"5m1h\""),
        ("a[0s]", "1:3: parse error: duration must be greater than 0"),
        ("a[300y]", "1:3: parse error: duration out of range"),
        ("a[5m", "1:5: parse error: unclosed left bracket"),
        ("a]", "1:2: parse error: unexpected right bracket ']'"),
        ("{}", "1:1: parse error: vector selector must contain at least one non-empty matcher"),
        ("{a=~\".*\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"),
        ("{a!=\"x\"}", "1:1: parse error: vector selector must contain at least one non-empty matcher"),
        ("a{__name__=\"b\"}", "1:1: parse error: metric name must not be set twice: \"a\" or \"b\""),
        ("a{__name__=~\"x\"}", "1:1: parse error: metric name must not be set twice: \"a\" or \"x\""),
        ("a{b=~\"(\"}", "1:3: parse error: error parsing regexp: missing closing ): `^(?:()$`"),
        ("0x", "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"0x\": invalid syntax"),
        ("1e400", "1:1: parse error: error parsing number: strconv.ParseFloat: parsing \"1e400\": value out of range"),
        ("0deadbeef", "1:1: parse error: bad number or duration syntax: \"0de\""),
        ("1 =~ 1", "1:3: parse error: unexpected character after '=': '~'"),
        ("1 !", "1:3: parse error: unexpected character after '!': '�'"),
        ("a $ b", "1:3: parse error: unexpected character: '$'"),
        ("\"abc", "1:1: parse error: unterminated quoted string"),
        ("`abc", "1:1: parse error: unterminated raw string"),
        ("\"\\c\"", "1:1: parse error: unknown escape sequence U+0063 'c'"),
        ("\"\\x4g\"", "1:1: parse error: illegal character U+0067 'g' in escape sequence"),
        ("\"\\ud800\"", "1:1: parse error: escape sequence is an invalid Unicode code point"),
        ("\"a\u{FFFD}\"", "1:1: parse error: invalid UTF-8 rune"),
        ("start()", "1:6: parse error: unexpected \"(\""),
        ("on", "1:1: parse error: unexpected <on>"),
        ("@", "1:1: parse error: unexpected <op:@>"),
        ("x +\n  (y", "2:5: parse error: unclosed left parenthesis"),
        ("x +\n  y z", "2:5: parse error: unexpected identifier \"z\""),
        ("\"b\" \"a long string value\"", "1:5: parse error: unexpected string \"\\\"a long st\"..."),
    ]

    @Test(arguments: errors)
    func rejection(query: String, expected: String) {
        #expect(outcome(query) == expected)
    }

    @Test func errorsCarryKindOffsetAndLineColumn() {
        #expect(throws: PromQLError.self) { try PromQLParser.parse("sum(x) +\n  rate(y)") }
        do {
            _ = try PromQLParser.parse("sum(x) +\n  rate(y)")
        } catch {
            #expect(error.kind == .semantic)
            #expect(error.offset == 16)
            #expect(error.position == LineColumn(line: 2, column: 8))
            #expect(error.message == "expected type range vector in call to function \"rate\", got instant vector")
        }
        do {
            _ = try PromQLParser.parse("a{")
        } catch {
            #expect(error.kind == .lexical)
            #expect(error.offset == 2)
        }
    }
}
