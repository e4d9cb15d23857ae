import PromQL

/// One token of a template, as Go's `text/template/parse` lexer emits it.
struct TemplateItem: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case error, bool, char, charConstant, complex, assign, declare, eof, field, identifier
        case leftDelim, leftParen, number, pipe, rawString, rightDelim, rightParen, space, string, text, variable
        // Keywords.
        case block, breakKeyword, continueKeyword, dot, define, elseKeyword, end, ifKeyword, nilKeyword, range, template, with

        var isKeyword: Bool {
            switch self {
            case .block, .breakKeyword, .continueKeyword, .dot, .define, .elseKeyword, .end, .ifKeyword, .nilKeyword, .range,
                .template, .with:
                return true
            default:
                return false
            }
        }
    }

    var kind: Kind
    /// Byte offset of the item's start in the whole text.
    var pos: Int
    var value: String
    /// The line the item starts on (1-based).
    var line: Int

    /// What the parser's "unexpected …" messages print for it (Go's `item.String`).
    var description: String {
        switch kind {
        case .eof: return "EOF"
        case .error: return value
        case _ where kind.isKeyword: return "<\(value)>"
        default:
            if value.utf8.count > 10 { return GoText.quote(value, maxRunes: 10) + "..." }
            return GoText.quote(value)
        }
    }

    /// What Go's parser reads once the lexer has stopped: the zero item.
    static let afterEnd = TemplateItem(kind: .error, pos: 0, value: "", line: 0)
}

/// Go's template lexer (`text/template/parse/lex.go`, Go 1.19), ported state for state so that the
/// same text gives the same tokens, lines and errors. Go runs it in a goroutine that stays one item
/// ahead of the parser; nothing the parser does feeds back into it, so here it runs to the end (or
/// the first error) up front.
struct TemplateLexer {
    private let input: [UInt8]
    private var pos = 0
    private var start = 0
    private var atEOF = false
    private var parenDepth = 0
    private var line = 1
    private var startLine = 1
    private var items: [TemplateItem] = []

    private static let leftDelim: [UInt8] = Array("{{".utf8)
    private static let rightDelim: [UInt8] = Array("}}".utf8)
    private static let leftComment: [UInt8] = Array("/*".utf8)
    private static let rightComment: [UInt8] = Array("*/".utf8)
    private static let eof: Unicode.Scalar? = nil

    private enum State {
        case text, leftDelim, comment, rightDelim, insideAction, space, identifier, field, variable, char, number, quote, rawQuote
    }

    /// Every item of `text`, ending with `eof` or the first `error`.
    static func items(_ text: String) -> [TemplateItem] {
        var lexer = TemplateLexer(input: Array(text.utf8))
        var state: State? = .text
        while let current = state { state = lexer.step(current) }
        return lexer.items
    }

    private init(input: [UInt8]) {
        self.input = input
    }

    private mutating func step(_ state: State) -> State? {
        switch state {
        case .text: return lexText()
        case .leftDelim: return lexLeftDelim()
        case .comment: return lexComment()
        case .rightDelim: return lexRightDelim()
        case .insideAction: return lexInsideAction()
        case .space: return lexSpace()
        case .identifier: return lexIdentifier()
        case .field: return lexFieldOrVariable(.field)
        case .variable: return lexVariable()
        case .char: return lexQuoted(until: "'", kind: .charConstant, message: "unterminated character constant")
        case .number: return lexNumber()
        case .quote: return lexQuoted(until: "\"", kind: .string, message: "unterminated quoted string")
        case .rawQuote: return lexRawQuote()
        }
    }

    // MARK: - Reading

    private mutating func next() -> Unicode.Scalar? {
        if pos >= input.count {
            atEOF = true
            return Self.eof
        }
        let (scalar, width) = Self.decode(input, at: pos)
        pos += width
        if scalar == "\n" { line += 1 }
        return scalar
    }

    private mutating func peek() -> Unicode.Scalar? {
        let scalar = next()
        backup()
        return scalar
    }

    /// Steps back over the scalar before `pos`, except once the end was read (as Go's lexer does).
    private mutating func backup() {
        guard !atEOF, pos > 0 else { return }
        var start = pos - 1
        while start > 0, input[start] & 0xC0 == 0x80 { start -= 1 }
        if input[start] == 10 { line -= 1 }
        pos = start
    }

    /// Go's `utf8.DecodeRune` on valid UTF-8 (a Swift string's bytes always are).
    private static func decode(_ bytes: [UInt8], at index: Int) -> (Unicode.Scalar, Int) {
        let first = bytes[index]
        if first < 0x80 { return (Unicode.Scalar(first), 1) }
        let length = first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : 2
        var decoder = UTF8()
        var iterator = bytes[index..<min(index + length, bytes.count)].makeIterator()
        if case .scalarValue(let scalar) = decoder.decode(&iterator) { return (scalar, length) }
        return ("\u{FFFD}", 1)
    }

    private func text(_ from: Int, _ to: Int) -> String {
        String(decoding: input[from..<to], as: UTF8.self)
    }

    private func hasPrefix(_ prefix: [UInt8], at index: Int) -> Bool {
        index + prefix.count <= input.count && Array(input[index..<(index + prefix.count)]) == prefix
    }

    private func count(newlinesFrom from: Int, to: Int) -> Int {
        from < to ? input[from..<to].reduce(0) { $0 + ($1 == 10 ? 1 : 0) } : 0
    }

    private mutating func emit(_ kind: TemplateItem.Kind) {
        items.append(TemplateItem(kind: kind, pos: start, value: text(start, pos), line: startLine))
        start = pos
        startLine = line
    }

    private mutating func ignore() {
        line += count(newlinesFrom: start, to: pos)
        start = pos
        startLine = line
    }

    private mutating func accept(_ valid: String) -> Bool {
        if let scalar = next(), valid.unicodeScalars.contains(scalar) { return true }
        backup()
        return false
    }

    private mutating func acceptRun(_ valid: String) {
        while let scalar = next(), valid.unicodeScalars.contains(scalar) {}
        backup()
    }

    private mutating func errorf(_ message: String) -> State? {
        items.append(TemplateItem(kind: .error, pos: start, value: message, line: startLine))
        return nil
    }

    // MARK: - States

    private mutating func lexText() -> State? {
        if let offset = firstIndex(of: Self.leftDelim, from: pos) {
            pos = offset
            var trimLength = 0
            if Self.hasLeftTrimMarker(input, pos + Self.leftDelim.count) {
                trimLength = rightTrimLength(start, pos)
            }
            pos -= trimLength
            if pos > start {
                line += count(newlinesFrom: start, to: pos)
                emit(.text)
            }
            pos += trimLength
            ignore()
            return .leftDelim
        }
        pos = input.count
        if pos > start {
            line += count(newlinesFrom: start, to: pos)
            emit(.text)
        }
        emit(.eof)
        return nil
    }

    private func firstIndex(of needle: [UInt8], from: Int) -> Int? {
        var index = from
        while index + needle.count <= input.count {
            if input[index] == needle[0], hasPrefix(needle, at: index) { return index }
            index += 1
        }
        return nil
    }

    private func rightTrimLength(_ from: Int, _ to: Int) -> Int {
        var index = to
        while index > from, Self.isSpaceByte(input[index - 1]) { index -= 1 }
        return to - index
    }

    private func leftTrimLength(_ from: Int) -> Int {
        var index = from
        while index < input.count, Self.isSpaceByte(input[index]) { index += 1 }
        return index - from
    }

    private func atRightDelim() -> (delim: Bool, trimSpaces: Bool) {
        if Self.hasRightTrimMarker(input, pos), hasPrefix(Self.rightDelim, at: pos + 2) { return (true, true) }
        if hasPrefix(Self.rightDelim, at: pos) { return (true, false) }
        return (false, false)
    }

    private mutating func lexLeftDelim() -> State? {
        pos += Self.leftDelim.count
        let trimSpace = Self.hasLeftTrimMarker(input, pos)
        let afterMarker = trimSpace ? 2 : 0
        if hasPrefix(Self.leftComment, at: pos + afterMarker) {
            pos += afterMarker
            ignore()
            return .comment
        }
        emit(.leftDelim)
        pos += afterMarker
        ignore()
        parenDepth = 0
        return .insideAction
    }

    private mutating func lexComment() -> State? {
        pos += Self.leftComment.count
        guard let end = firstIndex(of: Self.rightComment, from: pos) else { return errorf("unclosed comment") }
        pos = end + Self.rightComment.count
        let (delim, trimSpace) = atRightDelim()
        if !delim { return errorf("comment ends before closing delimiter") }
        if trimSpace { pos += 2 }
        pos += Self.rightDelim.count
        if trimSpace { pos += leftTrimLength(pos) }
        ignore()
        return .text
    }

    private mutating func lexRightDelim() -> State? {
        let trimSpace = Self.hasRightTrimMarker(input, pos)
        if trimSpace {
            pos += 2
            ignore()
        }
        pos += Self.rightDelim.count
        emit(.rightDelim)
        if trimSpace {
            pos += leftTrimLength(pos)
            ignore()
        }
        return .text
    }

    private mutating func lexInsideAction() -> State? {
        if atRightDelim().delim {
            if parenDepth == 0 { return .rightDelim }
            return errorf("unclosed left paren")
        }
        guard let r = next() else { return errorf("unclosed action") }
        switch r {
        case _ where Self.isSpace(r):
            backup()
            return .space
        case "=": emit(.assign)
        case ":":
            if next() != "=" { return errorf("expected :=") }
            emit(.declare)
        case "|": emit(.pipe)
        case "\"": return .quote
        case "`": return .rawQuote
        case "$": return .variable
        case "'": return .char
        case ".":
            if pos < input.count, input[pos] < UInt8(ascii: "0") || input[pos] > UInt8(ascii: "9") { return .field }
            backup()
            return .number
        case "+", "-", "0"..."9":
            backup()
            return .number
        case _ where Self.isAlphaNumeric(r):
            backup()
            return .identifier
        case "(":
            emit(.leftParen)
            parenDepth += 1
        case ")":
            emit(.rightParen)
            parenDepth -= 1
            if parenDepth < 0 { return errorf("unexpected right paren \(GoText.unicodeNotation(r))") }
        case _ where r.value <= 0x7F && GoText.isPrint(r):
            emit(.char)
        default:
            return errorf("unrecognized character in action: \(GoText.unicodeNotation(r))")
        }
        return .insideAction
    }

    private mutating func lexSpace() -> State? {
        var spaces = 0
        while let r = peek(), Self.isSpace(r) {
            _ = next()
            spaces += 1
        }
        if Self.hasRightTrimMarker(input, pos - 1), hasPrefix(Self.rightDelim, at: pos + 1) {
            backup()
            if spaces == 1 { return .rightDelim }
        }
        emit(.space)
        return .insideAction
    }

    private mutating func lexIdentifier() -> State? {
        while true {
            let r = next()
            if let r, Self.isAlphaNumeric(r) { continue }
            backup()
            let word = text(start, pos)
            if !atTerminator() { return errorf("bad character \(GoText.unicodeNotation(r ?? "\u{FFFD}"))") }
            if let keyword = Self.keywords[word] {
                emit(keyword)
            } else if word.first == "." {
                emit(.field)
            } else if word == "true" || word == "false" {
                emit(.bool)
            } else {
                emit(.identifier)
            }
            return .insideAction
        }
    }

    private static let keywords: [String: TemplateItem.Kind] = [
        ".": .dot, "block": .block, "break": .breakKeyword, "continue": .continueKeyword, "define": .define,
        "else": .elseKeyword, "end": .end, "if": .ifKeyword, "range": .range, "nil": .nilKeyword,
        "template": .template, "with": .with,
    ]

    private mutating func lexVariable() -> State? {
        if atTerminator() {
            emit(.variable)
            return .insideAction
        }
        return lexFieldOrVariable(.variable)
    }

    private mutating func lexFieldOrVariable(_ kind: TemplateItem.Kind) -> State? {
        if atTerminator() {
            emit(kind == .variable ? .variable : .dot)
            return .insideAction
        }
        var r: Unicode.Scalar?
        while true {
            r = next()
            if let scalar = r, Self.isAlphaNumeric(scalar) { continue }
            backup()
            break
        }
        if !atTerminator() { return errorf("bad character \(GoText.unicodeNotation(r ?? "\u{FFFD}"))") }
        emit(kind)
        return .insideAction
    }

    private mutating func atTerminator() -> Bool {
        guard let r = peek() else { return true }
        if Self.isSpace(r) { return true }
        switch r {
        case ".", ",", "|", ":", ")", "(": return true
        default: return hasPrefix(Self.rightDelim, at: pos)
        }
    }

    /// A quoted string or character constant; the opening quote is read. Go checks only where it ends.
    private mutating func lexQuoted(until quote: Unicode.Scalar, kind: TemplateItem.Kind, message: String) -> State? {
        while true {
            let r = next()
            if r == "\\" {
                let escaped = next()
                if escaped != nil, escaped != "\n" { continue }
                return errorf(message)
            }
            if r == nil || r == "\n" { return errorf(message) }
            if r == quote { break }
        }
        emit(kind)
        return .insideAction
    }

    private mutating func lexRawQuote() -> State? {
        while true {
            guard let r = next() else { return errorf("unterminated raw quoted string") }
            if r == "`" { break }
        }
        emit(.rawString)
        return .insideAction
    }

    private mutating func lexNumber() -> State? {
        if !scanNumber() { return errorf("bad number syntax: \(GoText.quote(text(start, pos)))") }
        if let sign = peek(), sign == "+" || sign == "-" {
            if !scanNumber() || input[pos - 1] != UInt8(ascii: "i") {
                return errorf("bad number syntax: \(GoText.quote(text(start, pos)))")
            }
            emit(.complex)
        } else {
            emit(.number)
        }
        return .insideAction
    }

    private mutating func scanNumber() -> Bool {
        _ = accept("+-")
        var digits = "0123456789_"
        if accept("0") {
            if accept("xX") {
                digits = "0123456789abcdefABCDEF_"
            } else if accept("oO") {
                digits = "01234567_"
            } else if accept("bB") {
                digits = "01_"
            }
        }
        acceptRun(digits)
        if accept(".") { acceptRun(digits) }
        if digits.count == 11, accept("eE") {
            _ = accept("+-")
            acceptRun("0123456789_")
        }
        if digits.count == 23, accept("pP") {
            _ = accept("+-")
            acceptRun("0123456789_")
        }
        _ = accept("i")
        if let r = peek(), Self.isAlphaNumeric(r) {
            _ = next()
            return false
        }
        return true
    }

    // MARK: - Character classes

    static func isSpace(_ r: Unicode.Scalar) -> Bool { r == " " || r == "\t" || r == "\r" || r == "\n" }
    private static func isSpaceByte(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 13 || b == 10 }

    /// Go's `unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_'`.
    static func isAlphaNumeric(_ r: Unicode.Scalar) -> Bool {
        if r == "_" { return true }
        switch r.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter, .decimalNumber: return true
        default: return false
        }
    }

    private static func hasLeftTrimMarker(_ bytes: [UInt8], _ index: Int) -> Bool {
        index + 2 <= bytes.count && bytes[index] == UInt8(ascii: "-") && isSpaceByte(bytes[index + 1])
    }

    private static func hasRightTrimMarker(_ bytes: [UInt8], _ index: Int) -> Bool {
        index >= 0 && index + 2 <= bytes.count && isSpaceByte(bytes[index]) && bytes[index + 1] == UInt8(ascii: "-")
    }
}
