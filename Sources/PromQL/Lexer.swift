/// Splits a query into tokens the way Prometheus's lexer (promql/parser/lex.go) does, so that the
/// same text is accepted or rejected, with the same message at the same byte offset.
///
/// It has three modes, as Prometheus's has states: between tokens of an expression, inside a
/// selector's braces (where keywords are plain label names and `:` is not allowed), and straight
/// after `[` (where only a duration may come). Comments run from `#` to the end of the line.
struct Lexer {
    private let bytes: [UInt8]
    private let query: String
    private var pos = 0
    /// Where the token being scanned starts. Lexical errors are reported here, as Prometheus does.
    private var start = 0
    /// Width of the last scalar `next()` read, so that `backup()` can step back over it.
    private var width = 0

    private var parenDepth = 0
    private var braceOpen = false
    private var bracketOpen = false
    private var gotColon = false
    /// Set by `[`: the next token is scanned as a duration.
    private var expectDuration = false

    init(_ query: String) {
        self.query = query
        self.bytes = Array(query.utf8)
    }

    /// The next token, comments skipped; `.eof` at the end, over and over.
    mutating func nextToken() throws(PromQLError) -> Token {
        while true {
            if let token = try scan() { return token }
        }
    }

    // MARK: - Modes

    /// One step of scanning: a token, or nil after skipping space or a comment.
    private mutating func scan() throws(PromQLError) -> Token? {
        if expectDuration {
            expectDuration = false
            return try lexDuration()
        }
        if braceOpen { return try lexInsideBraces() }
        if peekByte() == UInt8(ascii: "#") {
            skipComment()
            return nil
        }
        guard let r = next() else {
            if parenDepth != 0 { throw error("unclosed left parenthesis") }
            if bracketOpen { throw error("unclosed left bracket") }
            return emit(.eof)
        }
        switch r {
        case ",": return emit(.comma)
        case " ", "\t", "\n", "\r":
            skipSpaces()
            return nil
        case "*": return emit(.binaryOperator(.mul))
        case "/": return emit(.binaryOperator(.div))
        case "%": return emit(.binaryOperator(.mod))
        case "+": return emit(.binaryOperator(.add))
        case "-": return emit(.binaryOperator(.sub))
        case "^": return emit(.binaryOperator(.pow))
        case "=":
            let t = peek()
            if t == "=" {
                _ = next()
                return emit(.binaryOperator(.equal))
            }
            if t == "~" { throw error("unexpected character after '=': \(GoText.quoteRune(t))") }
            return emit(.assign)
        case "!":
            let t = next()
            if t == "=" { return emit(.binaryOperator(.notEqual)) }
            throw error("unexpected character after '!': \(GoText.quoteRune(t))")
        case "<":
            if peek() == "=" {
                _ = next()
                return emit(.binaryOperator(.lessOrEqual))
            }
            return emit(.binaryOperator(.less))
        case ">":
            if peek() == "=" {
                _ = next()
                return emit(.binaryOperator(.greaterOrEqual))
            }
            return emit(.binaryOperator(.greater))
        case _ where Self.isDigit(r) || (r == "." && Self.isDigit(peek())):
            backup()
            return try lexNumberOrDuration()
        case "\"", "'":
            return try lexString(quote: r)
        case "`":
            return try lexRawString()
        case _ where Self.isAlpha(r) || r == ":":
            if !bracketOpen {
                backup()
                return lexKeywordOrIdentifier()
            }
            // Prometheus's quirk: inside brackets any letter stands for the subquery colon.
            if gotColon { throw error("unexpected colon \(GoText.quoteRune(r))") }
            gotColon = true
            return emit(.colon)
        case "(":
            parenDepth += 1
            return emit(.leftParen)
        case ")":
            let token = emit(.rightParen)
            parenDepth -= 1
            if parenDepth < 0 { throw error("unexpected right parenthesis \(GoText.quoteRune(r))") }
            return token
        case "{":
            braceOpen = true
            return emit(.leftBrace)
        case "[":
            if bracketOpen { throw error("unexpected left bracket \(GoText.quoteRune(r))") }
            gotColon = false
            let token = emit(.leftBracket)
            skipSpaces()
            bracketOpen = true
            expectDuration = true
            return token
        case "]":
            if !bracketOpen { throw error("unexpected right bracket \(GoText.quoteRune(r))") }
            bracketOpen = false
            return emit(.rightBracket)
        case "@":
            return emit(.at)
        default:
            throw error("unexpected character: \(GoText.quoteRune(r))")
        }
    }

    /// Inside `{...}`: label names, matching operators, strings and commas only.
    private mutating func lexInsideBraces() throws(PromQLError) -> Token? {
        if peekByte() == UInt8(ascii: "#") {
            skipComment()
            return nil
        }
        guard let r = next() else { throw error("unexpected end of input inside braces") }
        switch r {
        case " ", "\t", "\n", "\r":
            skipSpaces()
            return nil
        case _ where Self.isAlpha(r):
            while let c = next(), Self.isAlphaNumeric(c) {}
            backup()
            return emit(.identifier)
        case ",": return emit(.comma)
        case "\"", "'": return try lexString(quote: r)
        case "`": return try lexRawString()
        case "=":
            if next() == "~" { return emit(.regexMatch) }
            backup()
            return emit(.assign)
        case "!":
            let nr = next()
            if nr == "~" { return emit(.regexNoMatch) }
            if nr == "=" { return emit(.binaryOperator(.notEqual)) }
            throw error("unexpected character after '!' inside braces: \(GoText.quoteRune(nr))")
        case "{":
            throw error("unexpected left brace \(GoText.quoteRune(r))")
        case "}":
            braceOpen = false
            return emit(.rightBrace)
        default:
            throw error("unexpected character inside braces: \(GoText.quoteRune(r))")
        }
    }

    // MARK: - Numbers and durations

    private mutating func lexDuration() throws(PromQLError) -> Token {
        if scanNumber() { throw error("missing unit character in duration") }
        if !acceptRemainingDuration() { throw error("bad duration syntax: \(GoText.quote(pendingText))") }
        backup()
        return emit(.duration)
    }

    private mutating func lexNumberOrDuration() throws(PromQLError) -> Token {
        if scanNumber() { return emit(.number) }
        if acceptRemainingDuration() {
            backup()
            return emit(.duration)
        }
        throw error("bad number or duration syntax: \(GoText.quote(pendingText))")
    }

    /// After the number part of a duration: a unit (`ms` included), then more number-unit pairs
    /// (years only first), then no letter or digit. Wrong unit orders pass here and fail later,
    /// in `PromDuration.parse`, as in Prometheus. Reads one scalar past the end; callers back up.
    private mutating func acceptRemainingDuration() -> Bool {
        if !accept("smhdwy") { return false }
        _ = accept("s")
        while accept("0123456789") {
            while accept("0123456789") {}
            if !accept("smhdw") { return false }
            _ = accept("s")
        }
        return !Self.isAlphaNumeric(next())
    }

    /// Scans decimal or `0x` hex digits, an optional fraction and exponent. True when what follows
    /// is not a letter or digit; the text itself may still be no valid number (`1e`), which the
    /// parser reports.
    private mutating func scanNumber() -> Bool {
        var digits = "0123456789"
        if accept("0"), accept("xX") { digits = "0123456789abcdefABCDEF" }
        acceptRun(digits)
        if accept(".") { acceptRun(digits) }
        if accept("eE") {
            _ = accept("+-")
            acceptRun("0123456789")
        }
        return !Self.isAlphaNumeric(peek())
    }

    // MARK: - Identifiers and strings

    private mutating func lexKeywordOrIdentifier() -> Token {
        while let r = next(), Self.isAlphaNumeric(r) || r == ":" {}
        backup()
        let word = pendingText
        if let kind = Self.keywords[word.lowercased()] { return emit(kind) }
        return emit(word.contains(":") ? .metricIdentifier : .identifier)
    }

    /// A '…' or "…" string with Go's escapes, validated here; unquoting happens in the parser.
    private mutating func lexString(quote: Unicode.Scalar) throws(PromQLError) -> Token {
        while true {
            switch next() {
            case "\\": try lexEscape(quote: quote)
            // Go reads bad UTF-8 as U+FFFD; a Swift string has U+FFFD where its bytes were bad.
            case "\u{FFFD}": throw error("invalid UTF-8 rune")
            case nil, "\n": throw error("unterminated quoted string")
            case quote: return emit(.string)
            default: continue
            }
        }
    }

    private mutating func lexEscape(quote: Unicode.Scalar) throws(PromQLError) {
        var ch = next()
        let count: Int, base: UInt32, max: UInt32
        switch ch {
        case "a", "b", "f", "n", "r", "t", "v", "\\", quote: return
        case "0", "1", "2", "3", "4", "5", "6", "7": (count, base, max) = (3, 8, 255)
        case "x":
            ch = next()
            (count, base, max) = (2, 16, 255)
        case "u":
            ch = next()
            (count, base, max) = (4, 16, 0x10FFFF)
        case "U":
            ch = next()
            (count, base, max) = (8, 16, 0x10FFFF)
        case nil: throw error("escape sequence not terminated")
        case let other?: throw error("unknown escape sequence \(GoText.unicodeNotation(other))")
        }
        var value: UInt32 = 0
        for remaining in stride(from: count, to: 0, by: -1) {
            guard let c = ch else { throw error("escape sequence not terminated") }
            let digit = Self.digitValue(c)
            guard digit < base else {
                throw error("illegal character \(GoText.unicodeNotation(c)) in escape sequence")
            }
            value = value &* base &+ digit
            if remaining > 1 { ch = next() }
        }
        if value > max || (0xD800..<0xE000).contains(value) {
            throw error("escape sequence is an invalid Unicode code point")
        }
    }

    private mutating func lexRawString() throws(PromQLError) -> Token {
        while true {
            switch next() {
            case "\u{FFFD}": throw error("invalid UTF-8 rune")
            case nil: throw error("unterminated raw string")
            case "`": return emit(.string)
            default: continue
            }
        }
    }

    // MARK: - Scanning primitives

    private var pendingText: String {
        String(decoding: bytes[start..<pos], as: UTF8.self)
    }

    private mutating func emit(_ kind: TokenKind) -> Token {
        let token = Token(kind: kind, text: pendingText, offset: start)
        start = pos
        return token
    }

    private func error(_ message: String) -> PromQLError {
        PromQLError(kind: .lexical, message: message, offset: start, query: query)
    }

    private mutating func skipSpaces() {
        while let r = peek(), Self.isSpace(r) { _ = next() }
        start = pos
    }

    private mutating func skipComment() {
        while pos < bytes.count, bytes[pos] != UInt8(ascii: "\n"), bytes[pos] != UInt8(ascii: "\r") { pos += 1 }
        start = pos
    }

    private func peekByte() -> UInt8? { pos < bytes.count ? bytes[pos] : nil }

    /// Reads one Unicode scalar; nil at the end of input.
    private mutating func next() -> Unicode.Scalar? {
        guard pos < bytes.count else {
            width = 0
            return nil
        }
        let lead = bytes[pos]
        let length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
        var value = UInt32(lead) & (length == 1 ? 0x7F : length == 2 ? 0x1F : length == 3 ? 0x0F : 0x07)
        for offset in 1..<max(length, 1) where pos + offset < bytes.count {
            value = value << 6 | UInt32(bytes[pos + offset] & 0x3F)
        }
        width = min(length, bytes.count - pos)
        pos += width
        return Unicode.Scalar(value) ?? "\u{FFFD}"
    }

    private mutating func peek() -> Unicode.Scalar? {
        let r = next()
        backup()
        return r
    }

    private mutating func backup() { pos -= width }

    private mutating func accept(_ valid: String) -> Bool {
        if let r = next(), valid.unicodeScalars.contains(r) { return true }
        backup()
        return false
    }

    private mutating func acceptRun(_ valid: String) {
        while accept(valid) {}
    }

    // MARK: - Character classes, ASCII only as in Prometheus

    static func isSpace(_ r: Unicode.Scalar?) -> Bool {
        r == " " || r == "\t" || r == "\n" || r == "\r"
    }

    static func isDigit(_ r: Unicode.Scalar?) -> Bool {
        guard let r else { return false }
        return r >= "0" && r <= "9"
    }

    static func isAlpha(_ r: Unicode.Scalar?) -> Bool {
        guard let r else { return false }
        return r == "_" || (r >= "a" && r <= "z") || (r >= "A" && r <= "Z")
    }

    static func isAlphaNumeric(_ r: Unicode.Scalar?) -> Bool { isAlpha(r) || isDigit(r) }

    /// A valid label name: a letter or `_`, then letters, digits and `_`.
    static func isLabelName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, isAlpha(first) else { return false }
        return text.unicodeScalars.allSatisfy { isAlphaNumeric($0) }
    }

    /// A hex digit's value; 16, too large for any base, for anything else.
    private static func digitValue(_ c: Unicode.Scalar) -> UInt32 {
        switch c {
        case "0"..."9": return c.value - 48
        case "a"..."f": return c.value - 97 + 10
        case "A"..."F": return c.value - 65 + 10
        default: return 16
        }
    }

    /// Words the lexer turns into keywords, matched case-insensitively as Prometheus does.
    static let keywords: [String: TokenKind] = {
        var table: [String: TokenKind] = [
            "and": .binaryOperator(.and), "or": .binaryOperator(.or), "unless": .binaryOperator(.unless),
            "atan2": .binaryOperator(.atan2),
            "start": .preprocessor(.start), "end": .preprocessor(.end),
            "inf": .number, "nan": .number,
        ]
        for op in AggregateOp.allCases { table[op.rawValue] = .aggregator(op) }
        for keyword in [Keyword.bool, .by, .groupLeft, .groupRight, .ignoring, .offset, .on, .without] {
            table[keyword.rawValue] = .keyword(keyword)
        }
        return table
    }()
}
