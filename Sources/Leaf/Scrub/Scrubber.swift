/// Redacts credentials from what a leaf keeps of an exception's HTTP context (headers, URL,
/// body) before any sample leaves the team. Only the secret values change: everything else is
/// kept byte for byte, so that what a person reads is still what the service sent.
public struct Scrubber: Sendable {
    /// What a secret is replaced with.
    public static let redacted = "[REDACTED]"

    /// Headers always redacted, whatever the extra ones.
    public static let defaultHeaders = ["Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key"]

    /// A key is sensitive when its normalised form contains one of these (normalised) words.
    public static let defaultFields = [
        "password", "passwd", "pwd", "secret", "token", "apikey", "api_key", "accesskey", "privatekey",
        "credential", "credentials", "auth", "authorization", "session", "sessionid", "cookie",
    ]

    /// Normalised header names (see `normalisedHeader`).
    private let headerNames: Set<String>
    /// Normalised field words (see `normalisedField`), as bytes for scanning.
    private let fieldWords: [[UInt8]]

    public init(extraHeaders: [String] = [], extraFields: [String] = []) {
        headerNames = Set((Self.defaultHeaders + extraHeaders).map(Self.normalisedHeader).filter { !$0.isEmpty })
        var words: [[UInt8]] = []
        // An empty word would be contained in every key: ignore it rather than redact everything.
        for word in (Self.defaultFields + extraFields).map({ Self.normalisedField(Array($0.utf8)) }) where !word.isEmpty {
            if !words.contains(word) { words.append(word) }
        }
        fieldWords = words
    }

    // MARK: - What is sensitive

    /// True for the redacted headers (in any spelling: `X-Api-Key`, `x_api_key`, Rack's
    /// `HTTP_X_API_KEY`) and for any header whose name holds a sensitive field word.
    public func isSensitiveHeader(_ name: String) -> Bool {
        headerNames.contains(Self.normalisedHeader(name)) || isSensitiveField(name)
    }

    /// True when the key, lowercased and without `-`, `_` and `.`, contains a sensitive word:
    /// `client_secret`, `refreshToken`, `X-Auth-Token`, `db.password`.
    public func isSensitiveField(_ name: String) -> Bool {
        isSensitiveKey(Array(name.utf8)[...])
    }

    func isSensitiveKey(_ key: ArraySlice<UInt8>) -> Bool {
        let normalised = Self.normalisedField(key)
        guard !normalised.isEmpty else { return false }
        return fieldWords.contains { word in Self.contains(normalised, word) }
    }

    private static func normalisedHeader(_ name: String) -> String {
        var name = name.lowercased()
        if name.hasPrefix("http_") { name.removeFirst(5) }
        return String(name.map { $0 == "_" ? "-" : $0 })
    }

    private static func normalisedField<Bytes: Collection<UInt8>>(_ key: Bytes) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(key.count)
        for byte in key where byte != UInt8(ascii: "-") && byte != UInt8(ascii: "_") && byte != UInt8(ascii: ".") {
            out.append(byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte)
        }
        return out
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        outer: for start in 0...(haystack.count - needle.count) {
            for offset in 0..<needle.count where haystack[start + offset] != needle[offset] { continue outer }
            return true
        }
        return false
    }

    // MARK: - Headers

    /// Sensitive headers' values become `[REDACTED]`; URLs in other headers (`Referer`,
    /// `Location`) lose their secrets as in `scrubURL`.
    public func scrubHeaders(_ headers: [String: String]) -> [String: String] {
        var out: [String: String] = [:]
        out.reserveCapacity(headers.count)
        for (name, value) in headers {
            if isSensitiveHeader(name) {
                out[name] = value.isEmpty ? value : Self.redacted
            } else {
                out[name] = scrubURL(value)
            }
        }
        return out
    }

    // MARK: - URLs

    /// Sensitive query (and fragment) parameters' values and the userinfo password become
    /// `[REDACTED]`: `https://u:[REDACTED]@host/p?token=[REDACTED]&x=1`.
    public func scrubURL(_ url: String) -> String {
        guard url.contains(where: { $0 == "?" || $0 == "#" || $0 == "@" }) else { return url }
        let bytes = Array(url.utf8)
        var edits = Edits()
        let fragmentStart = bytes.firstIndex(of: ByteCode.hash) ?? bytes.count
        let queryStart = bytes[..<fragmentStart].firstIndex(of: ByteCode.question)
        redactUserinfo(bytes, 0..<(queryStart ?? fragmentStart), into: &edits)
        if let queryStart { redactParameters(bytes, (queryStart + 1)..<fragmentStart, inURL: true, into: &edits) }
        // OAuth's implicit flow puts `access_token=...` in the fragment.
        if fragmentStart < bytes.count { redactParameters(bytes, (fragmentStart + 1)..<bytes.count, inURL: true, into: &edits) }
        return edits.apply(to: bytes, original: url)
    }

    /// `scheme://user:password@host`: the password of each such authority in `range`. With
    /// `mayBeCut` (a body, which may be truncated), text ending inside `user:pass` counts too.
    func redactUserinfo(_ bytes: [UInt8], _ range: Range<Int>, mayBeCut: Bool = false, into edits: inout Edits) {
        var i = range.lowerBound
        // A URL without a scheme (`//user:password@host/`, a network-path reference) starts with
        // its authority.
        if !mayBeCut, range.count >= 2, bytes[i] == ByteCode.slash, bytes[i + 1] == ByteCode.slash {
            i = redactAuthority(bytes, from: i + 2, in: range, mayBeCut: false, into: &edits)
        }
        while i + 2 < range.upperBound {
            guard bytes[i] == ByteCode.colon, bytes[i + 1] == ByteCode.slash, bytes[i + 2] == ByteCode.slash else {
                i += 1
                continue
            }
            i = redactAuthority(bytes, from: i + 3, in: range, mayBeCut: mayBeCut, into: &edits)
        }
    }

    /// The password of the authority starting at `start`; returns where to scan on from.
    private func redactAuthority(_ bytes: [UInt8], from start: Int, in range: Range<Int>, mayBeCut: Bool, into edits: inout Edits) -> Int {
        var end = start
        // In a URL only `/ ? #` end the authority (`u: p@h` has the password ` p`); in text, a
        // space or a quote ends the URL too.
        while end < range.upperBound, !(mayBeCut ? ByteCode.endsAuthority(bytes[end]) : ByteCode.endsURLAuthority(bytes[end])) { end += 1 }
        // In text, an authority holding `[REDACTED]` where a scrub writes it (after `=`, `:`, a
        // quote or a space) was scrubbed before: the `/` or `#` that ended it may have gone with
        // a redacted value, and reading it again (up to a later `@`, or as cut inside its
        // password) would widen the redaction on each scrub. In a URL nothing before the query
        // is redacted but passwords, which leave its `/ ? #` where they were: a marker there is
        // the service's own (`u:s3cret: [REDACTED] x@h`), and the password goes whole.
        if mayBeCut, Self.holdsWrittenRedaction(bytes, start..<end) { return max(end - 1, start) }
        if let at = bytes[start..<end].lastIndex(of: ByteCode.at), let colon = bytes[start..<at].firstIndex(of: ByteCode.colon),
            colon + 1 < at
        {
            edits.add((colon + 1)..<at, Self.redacted)
        } else if mayBeCut, end == bytes.count, start < end, bytes[start] != ByteCode.openBracket, !bytes[start..<end].contains(ByteCode.at),
            let colon = bytes[start..<end].firstIndex(of: ByteCode.colon), colon + 1 < end,
            !bytes[(colon + 1)..<end].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        {
            // Text cut inside `user:password` before its `@` (there is none): not a port, so
            // maybe a password.
            edits.add((colon + 1)..<end, Self.redacted)
        }
        // From the authority's last byte: its `:` may begin the next `://` (`secrets://a`).
        return max(end - 1, start)
    }

    /// `a=1&password=x`: values of sensitive names, the names compared as written and once
    /// percent-decoded (a reader may do either: `t%2authorization=` is `t*uthorization` decoded).
    /// In a URL nothing else redacts inside a parameter, so a scrub leaves a sensitive value
    /// exactly `[REDACTED]`: anything more (`[REDACTED]s3cret`) is the service's and goes too.
    func redactParameters(_ bytes: [UInt8], _ range: Range<Int>, inURL: Bool = false, into edits: inout Edits) {
        var start = range.lowerBound
        while start < range.upperBound {
            let end = bytes[start..<range.upperBound].firstIndex(of: ByteCode.ampersand) ?? range.upperBound
            if let equals = bytes[start..<end].firstIndex(of: ByteCode.equals), equals + 1 < end,
                isSensitiveKey(bytes[start..<equals]) || isSensitiveKey(Self.percentDecoded(bytes[start..<equals])[...]),
                inURL ? !bytes[(equals + 1)..<end].elementsEqual(Self.redacted.utf8) : !Self.redactedBefore(bytes, (equals + 1)..<end)
            {
                edits.add((equals + 1)..<end, Self.redacted)
            }
            start = end + 1
        }
    }

    /// A value that starts with `[REDACTED]` was redacted by an earlier scrub (what follows the
    /// marker is what that scrub left, once a delimiter went with a value): redacting it again
    /// would change the text on every scrub. The price: a secret written after a literal
    /// `[REDACTED]` by the service itself is kept.
    static func redactedBefore(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
        bytes[range].starts(with: redacted.utf8)
    }

    /// Whether `[REDACTED]` stands in `range` where a scrub puts it: at a value's start.
    static func holdsWrittenRedaction(_ bytes: [UInt8], _ range: Range<Int>) -> Bool {
        let marker = Array(redacted.utf8)
        guard range.count >= marker.count else { return false }
        for position in range.lowerBound...(range.upperBound - marker.count) where bytes[position..<(position + marker.count)].elementsEqual(marker) {
            if position == range.lowerBound || [ByteCode.equals, ByteCode.colon, ByteCode.quote, ByteCode.apostrophe, ByteCode.space, ByteCode.tab, ByteCode.greater].contains(bytes[position - 1]) {
                return true
            }
        }
        return false
    }

    static func percentDecoded(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let byte = bytes[i]
            if byte == ByteCode.percent, i + 2 < bytes.endIndex, let high = ByteCode.hexValue(bytes[i + 1]), let low = ByteCode.hexValue(bytes[i + 2])
            {
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(byte == ByteCode.plus ? ByteCode.space : byte)
                i += 1
            }
        }
        return out
    }

    // MARK: - Bodies

    /// JSON (even truncated, or one document a line): the whole value of each sensitive key, at
    /// any depth, becomes `"[REDACTED]"`, and secrets inside other strings go as in free text.
    /// Form bodies: as query strings. Anything else: `key=value`, `"key": "value"` and
    /// `key: value` with sensitive keys, and URL passwords, as a best effort.
    ///
    /// A body is read as one of these by its shape, and a redaction can change the shape (text
    /// that was broken JSON until a redacted value took the break away): so it is scrubbed again
    /// until a pass finds nothing more, which with real bodies is the first or second pass.
    public func scrubBody(_ body: String) -> String {
        var current = body
        for _ in 0..<4 {
            let next = scrubBodyOnce(current)
            if next == current { break }
            current = next
        }
        return current
    }

    private func scrubBodyOnce(_ body: String) -> String {
        let bytes = Array(body.utf8)
        var start = 0
        var end = bytes.count
        while start < end, ByteCode.isWhitespace(bytes[start]) { start += 1 }
        while end > start, ByteCode.isWhitespace(bytes[end - 1]) { end -= 1 }
        guard start < end else { return body }
        var edits = Edits()
        if bytes[start] == ByteCode.openBrace || bytes[start] == ByteCode.openBracket, let json = scanJSON(bytes, start..<end) {
            edits = json
        } else if Self.looksFormEncoded(bytes[start..<end]) {
            // As text too: a value holding `=` or `#` (which an encoder would have escaped) may
            // hold `token=...` that the form's first `=` hides.
            redactParameters(bytes, start..<end, into: &edits)
            scanText(bytes, 0..<bytes.count, insideJSONString: false, into: &edits)
        } else {
            scanText(bytes, 0..<bytes.count, insideJSONString: false, into: &edits)
        }
        return edits.apply(to: bytes, original: body)
    }

    /// `a=1&b=2`: one line with no spaces and an `=`, not starting like JSON, a quote or markup.
    private static func looksFormEncoded(_ bytes: ArraySlice<UInt8>) -> Bool {
        // Text starting like JSON that is not JSON is free text: read as a form, its key would be
        // everything up to the first `=`, secrets included, and be kept.
        guard let first = bytes.first, ![ByteCode.quote, ByteCode.apostrophe, ByteCode.less, ByteCode.openBrace, ByteCode.openBracket].contains(first)
        else { return false }
        // Quotes, braces or parentheses mean text, as whitespace does: a form encoder escapes
        // them. Else redacting a quoted secret with a space in it could make text look like a form
        // on a second scrub, which then redacts differently. (Control bytes do not count: a
        // redacted value may hold them too, and the same flip would follow.)
        // Nor does a form hold a raw URL (an encoder writes `%3A%2F%2F`): as text, its userinfo is
        // redacted, and a redacted password cannot merge two form fields on the next scrub.
        // And every field's name is what the free-text scanner reads as a key (letters, digits,
        // `_-.%`): then both readings find the same sensitive names, and a body that turns from
        // text into a form once a redacted value took its brace away is scrubbed the same.
        return bytes.contains(ByteCode.equals) && !bytes.contains(where: { ByteCode.isWhitespace($0) || Self.textOnly.contains($0) })
            && !Self.contains(Array(bytes), Array("://".utf8))
            && bytes.split(separator: ByteCode.ampersand).allSatisfy { field in field.prefix { $0 != ByteCode.equals }.allSatisfy(ByteCode.isKey) }
    }

    private static let textOnly: Set<UInt8> = [
        ByteCode.quote, ByteCode.apostrophe, ByteCode.openBrace, ByteCode.closeBrace, UInt8(ascii: "("), UInt8(ascii: ")"), ByteCode.less,
        ByteCode.greater, ByteCode.backslash, UInt8(ascii: "`"),
    ]
}

extension Scrubber {
    /// Replacements of byte ranges, applied in one pass at the end so that scanning never shifts
    /// offsets.
    struct Edits {
        private var items: [(range: Range<Int>, replacement: String)] = []

        var isEmpty: Bool { items.isEmpty }

        mutating func add(_ range: Range<Int>, _ replacement: String) {
            items.append((range, replacement))
        }

        /// Overlapping edits (a URL password inside an already redacted value) become one: the
        /// first and widest one's replacement over all of them, so that an edit starting inside
        /// another but reaching further keeps nothing of what it covers.
        func apply(to bytes: [UInt8], original: String) -> String {
            guard !items.isEmpty else { return original }
            let sorted = items.sorted {
                $0.range.lowerBound != $1.range.lowerBound ? $0.range.lowerBound < $1.range.lowerBound : $0.range.count > $1.range.count
            }
            var merged: [(range: Range<Int>, replacement: String)] = []
            for item in sorted {
                if let last = merged.last, item.range.lowerBound < last.range.upperBound {
                    merged[merged.count - 1].range = last.range.lowerBound..<max(last.range.upperBound, item.range.upperBound)
                } else {
                    merged.append(item)
                }
            }
            var out: [UInt8] = []
            out.reserveCapacity(bytes.count)
            var position = 0
            for item in merged {
                out += bytes[position..<item.range.lowerBound]
                out += item.replacement.utf8
                position = item.range.upperBound
            }
            out += bytes[position...]
            return String(decoding: out, as: UTF8.self)
        }
    }
}
