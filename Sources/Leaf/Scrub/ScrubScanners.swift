extension Scrubber {
    // MARK: - JSON

    private enum Expect {
        case value, key, colon, commaOrClose
    }

    /// Walks JSON text without building it, so that the original text and key order stay as
    /// they are. Truncated input is fine (a sensitive value cut short is redacted to the end);
    /// anything that is not JSON returns nil, and the caller falls back to free text.
    /// Nesting is kept on an explicit stack: hostile depth cannot overflow the call stack.
    func scanJSON(_ bytes: [UInt8], _ range: Range<Int>) -> Edits? {
        var edits = Edits()
        var stack: [UInt8] = []
        var expect = Expect.value
        var sensitive = false
        var i = range.lowerBound
        let end = range.upperBound
        func afterValue() -> Expect { stack.isEmpty ? .value : .commaOrClose }
        while true {
            while i < end, ByteCode.isWhitespace(bytes[i]) { i += 1 }
            guard i < end else { return edits }
            let byte = bytes[i]
            switch expect {
            case .value:
                if sensitive {
                    // A bare `[REDACTED]` is what a scrub of this text as free text left: kept, not
                    // read as an array and quoted, so that scrubbing again changes nothing.
                    let alreadyRedacted = bytes[i..<end].starts(with: Self.redacted.utf8)
                    let valueEnd = alreadyRedacted ? i + Self.redacted.utf8.count : Self.endOfValue(bytes, from: i, to: end)
                    guard valueEnd > i else { return nil }
                    if !alreadyRedacted { edits.add(i..<valueEnd, "\"" + Self.redacted + "\"") }
                    sensitive = false
                    i = valueEnd
                    expect = afterValue()
                } else if byte == ByteCode.openBrace {
                    stack.append(byte)
                    expect = .key
                    i += 1
                } else if byte == ByteCode.openBracket {
                    stack.append(byte)
                    i += 1
                } else if byte == ByteCode.closeBracket, stack.last == ByteCode.openBracket {
                    // `[]`
                    stack.removeLast()
                    i += 1
                    expect = afterValue()
                } else if byte == ByteCode.quote {
                    let contentEnd = Self.endOfString(bytes, from: i + 1, to: end)
                    // Strings hold URLs, logs and embedded JSON: scan them as text.
                    scanText(bytes, (i + 1)..<contentEnd, insideJSONString: true, into: &edits)
                    i = min(contentEnd + 1, end)
                    expect = afterValue()
                } else if ByteCode.isScalar(byte) {
                    while i < end, ByteCode.isScalar(bytes[i]) { i += 1 }
                    expect = afterValue()
                } else {
                    return nil
                }
            case .key:
                if byte == ByteCode.closeBrace {
                    // `{}`
                    stack.removeLast()
                    i += 1
                    expect = afterValue()
                    continue
                }
                guard byte == ByteCode.quote else { return nil }
                let contentEnd = Self.endOfString(bytes, from: i + 1, to: end)
                sensitive = isSensitiveKey(bytes[(i + 1)..<contentEnd])
                i = min(contentEnd + 1, end)
                expect = .colon
            case .colon:
                guard byte == ByteCode.colon else { return nil }
                i += 1
                expect = .value
            case .commaOrClose:
                if byte == ByteCode.comma, let top = stack.last {
                    expect = top == ByteCode.openBrace ? .key : .value
                } else if (byte == ByteCode.closeBrace && stack.last == ByteCode.openBrace)
                    || (byte == ByteCode.closeBracket && stack.last == ByteCode.openBracket)
                {
                    stack.removeLast()
                    expect = afterValue()
                } else {
                    return nil
                }
                i += 1
            }
        }
    }

    /// Index of the closing quote of a string whose content starts at `start`, or `end` if cut.
    private static func endOfString(_ bytes: [UInt8], from start: Int, to end: Int) -> Int {
        var i = start
        while i < end {
            if bytes[i] == ByteCode.backslash {
                i += 2
            } else if bytes[i] == ByteCode.quote {
                return i
            } else {
                i += 1
            }
        }
        return end
    }

    /// End of the JSON-like value at `start`: a string with its quotes, an object or array with
    /// everything nested in it, or a bare word; `end` when cut short.
    private static func endOfValue(_ bytes: [UInt8], from start: Int, to end: Int) -> Int {
        let first = bytes[start]
        if first == ByteCode.quote { return min(endOfString(bytes, from: start + 1, to: end) + 1, end) }
        if first == ByteCode.openBrace || first == ByteCode.openBracket {
            var depth = 0
            var i = start
            while i < end {
                switch bytes[i] {
                case ByteCode.quote: i = endOfString(bytes, from: i + 1, to: end)
                case ByteCode.openBrace, ByteCode.openBracket: depth += 1
                case ByteCode.closeBrace, ByteCode.closeBracket:
                    depth -= 1
                    if depth == 0 { return i + 1 }
                default: break
                }
                i += 1
            }
            return end
        }
        var i = start
        while i < end, ByteCode.isScalar(bytes[i]) { i += 1 }
        return i
    }

    // MARK: - Free text

    /// Finds `key=value`, `key => value`, `"key": "value"` and `key: value` with a sensitive key
    /// and redacts the value, and URL passwords. Inside a JSON string (`insideJSONString`)
    /// quotes come escaped (`\"`) and a backslash ends a bare value, so that the replacement
    /// never breaks the string's escaping.
    func scanText(_ bytes: [UInt8], _ range: Range<Int>, insideJSONString: Bool, into edits: inout Edits) {
        let end = range.upperBound
        var i = range.lowerBound
        while i < end {
            guard ByteCode.isKey(bytes[i]) else {
                i += 1
                continue
            }
            let keyStart = i
            while i < end, ByteCode.isKey(bytes[i]) { i += 1 }
            let keyEnd = i
            // The key's closing quote or bracket (`"password":`, `user[password]=`).
            var j = keyEnd
            if j < end, bytes[j] == ByteCode.quote || bytes[j] == ByteCode.apostrophe || bytes[j] == ByteCode.closeBracket {
                j += 1
            } else if insideJSONString, j + 1 < end, bytes[j] == ByteCode.backslash, bytes[j + 1] == ByteCode.quote {
                j += 2
            }
            while j < end, bytes[j] == ByteCode.space || bytes[j] == ByteCode.tab { j += 1 }
            guard j < end else { continue }
            let colonSeparated: Bool
            if bytes[j] == ByteCode.equals {
                j += 1
                if j < end, bytes[j] == ByteCode.greater { j += 1 }
                colonSeparated = false
            } else if bytes[j] == ByteCode.colon {
                // `https://`: a scheme, not a key.
                if j + 1 < end, bytes[j + 1] == ByteCode.slash { continue }
                j += 1
                colonSeparated = true
            } else {
                continue
            }
            // As written, and percent-decoded as a form's names are (`client%5Fsecret=`).
            let key = bytes[keyStart..<keyEnd]
            guard isSensitiveKey(key) || (key.contains(ByteCode.percent) && isSensitiveKey(Self.percentDecoded(key)[...])) else { continue }
            while j < end, bytes[j] == ByteCode.space || bytes[j] == ByteCode.tab { j += 1 }
            if let (valueRange, resume) = Self.textValue(bytes, from: j, to: end, colonSeparated: colonSeparated, insideJSONString: insideJSONString)
            {
                // A value redacted before (`token: [REDACTED]`) is left as it is: read as a bracketed
                // value it would be quoted, and scrubbing twice would change the text.
                if !Self.redactedBefore(bytes, valueRange) {
                    let structured = bytes[valueRange.lowerBound] == ByteCode.openBrace || bytes[valueRange.lowerBound] == ByteCode.openBracket
                    edits.add(valueRange, structured && !insideJSONString ? "\"" + Self.redacted + "\"" : Self.redacted)
                }
                i = resume
            }
        }
        redactUserinfo(bytes, range, mayBeCut: true, into: &edits)
    }

    /// Auth schemes whose credential follows after a space: `Authorization=Bearer abc`.
    private static let authSchemes: Set<String> = ["basic", "bearer", "digest", "negotiate", "token", "bot", "apikey"]

    /// The range to redact of the value at `start` (inside its quotes, if quoted) and where to
    /// go on scanning; nil when the value is empty.
    private static func textValue(
        _ bytes: [UInt8], from start: Int, to end: Int, colonSeparated: Bool, insideJSONString: Bool
    ) -> (Range<Int>, Int)? {
        guard start < end else { return nil }
        let first = bytes[start]
        if first == ByteCode.quote || first == ByteCode.apostrophe {
            var i = start + 1
            while i < end, bytes[i] != first {
                i += bytes[i] == ByteCode.backslash ? 2 : 1
            }
            let contentEnd = min(i, end)
            return contentEnd > start + 1 ? ((start + 1)..<contentEnd, min(contentEnd + 1, end)) : nil
        }
        if insideJSONString, first == ByteCode.backslash, start + 1 < end, bytes[start + 1] == ByteCode.quote {
            // An escaped quote inside a JSON string: the value ends at the next `\"`.
            var i = start + 2
            while i < end, !(bytes[i] == ByteCode.backslash && i + 1 < end && bytes[i + 1] == ByteCode.quote) {
                i += bytes[i] == ByteCode.backslash ? 2 : 1
            }
            let contentEnd = min(i, end)
            return contentEnd > start + 2 ? ((start + 2)..<contentEnd, min(contentEnd + 2, end)) : nil
        }
        if first == ByteCode.openBrace || first == ByteCode.openBracket {
            // Inside a JSON string the nested quotes are escaped, so only brackets count: the
            // range still ends after a bracket, never inside an escape.
            let valueEnd = endOfValue(bytes, from: start, to: end)
            return (start..<valueEnd, valueEnd)
        }
        var valueEnd = endOfBareValue(bytes, from: start, to: end, colonSeparated: colonSeparated, insideJSONString: insideJSONString)
        guard valueEnd > start else { return nil }
        // `Bearer abc`: the credential is the word after the scheme.
        if !colonSeparated, valueEnd < end, bytes[valueEnd] == ByteCode.space,
            authSchemes.contains(String(decoding: bytes[start..<valueEnd], as: UTF8.self).lowercased())
        {
            var next = valueEnd
            while next < end, bytes[next] == ByteCode.space { next += 1 }
            let credentialEnd = endOfBareValue(bytes, from: next, to: end, colonSeparated: false, insideJSONString: insideJSONString)
            if credentialEnd > next { valueEnd = credentialEnd }
        }
        return (start..<valueEnd, valueEnd)
    }

    /// A bare value after `=` ends at a space or punctuation; after `:` (header or YAML style,
    /// `Cookie: a=1; b=2`) only at the end of the line, a comma, a closing bracket or a quote.
    private static func endOfBareValue(_ bytes: [UInt8], from start: Int, to end: Int, colonSeparated: Bool, insideJSONString: Bool) -> Int {
        var i = start
        while i < end {
            let byte = bytes[i]
            if insideJSONString, byte == ByteCode.backslash { break }
            if colonSeparated ? ByteCode.endsLine(byte) : ByteCode.endsWord(byte) { break }
            i += 1
        }
        return i
    }
}

extension Scrubber {
    /// The ASCII bytes the scanners look at, and their classes.
    enum ByteCode {
        static let tab = UInt8(ascii: "\t")
        static let space = UInt8(ascii: " ")
        static let quote = UInt8(ascii: "\"")
        static let apostrophe = UInt8(ascii: "'")
        static let hash = UInt8(ascii: "#")
        static let percent = UInt8(ascii: "%")
        static let ampersand = UInt8(ascii: "&")
        static let plus = UInt8(ascii: "+")
        static let comma = UInt8(ascii: ",")
        static let slash = UInt8(ascii: "/")
        static let colon = UInt8(ascii: ":")
        static let less = UInt8(ascii: "<")
        static let equals = UInt8(ascii: "=")
        static let greater = UInt8(ascii: ">")
        static let question = UInt8(ascii: "?")
        static let at = UInt8(ascii: "@")
        static let openBracket = UInt8(ascii: "[")
        static let backslash = UInt8(ascii: "\\")
        static let closeBracket = UInt8(ascii: "]")
        static let openBrace = UInt8(ascii: "{")
        static let closeBrace = UInt8(ascii: "}")

        static func isWhitespace(_ byte: UInt8) -> Bool {
            byte == space || byte == tab || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
        }

        /// Letters, digits, `_`, `-`, `.`, and `%` of percent-encoding: what a key in free text
        /// (or a form's name) is made of.
        static func isKey(_ byte: UInt8) -> Bool {
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == percent
        }

        /// JSON numbers, `true`, `false`, `null`.
        static func isScalar(_ byte: UInt8) -> Bool {
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                || byte == plus || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
        }

        static func endsWord(_ byte: UInt8) -> Bool {
            isWhitespace(byte) || byte == ampersand || byte == comma || byte == UInt8(ascii: ";") || byte == closeBrace
                || byte == closeBracket || byte == UInt8(ascii: ")") || byte == quote || byte == apostrophe || byte == less || byte == greater
        }

        static func endsLine(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") || byte == comma || byte == closeBrace || byte == closeBracket
                || byte == quote || byte == apostrophe
        }

        /// Where a URL's authority (`user:password@host:port`) ends.
        /// Where a whole URL's authority ends. Not at `\`, which a browser reads as `/` but
        /// Foundation as part of the userinfo: a password is redacted if either would see one.
        static func endsURLAuthority(_ byte: UInt8) -> Bool {
            byte == slash || byte == question || byte == hash
        }

        static func endsAuthority(_ byte: UInt8) -> Bool {
            byte == slash || byte == question || byte == hash || isWhitespace(byte) || byte == quote || byte == apostrophe
                || byte == less || byte == greater || byte == backslash
        }

        static func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
    }
}
