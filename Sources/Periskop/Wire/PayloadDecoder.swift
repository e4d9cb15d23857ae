import Foundation

/// Decodes what any Periskop client (Go, Python, Scala, Ruby) serves, tolerating every variant
/// seen in the wild and rejecting only what is really broken, with an error that names the field.
///
/// Hand-written over the bytes rather than built on `JSONDecoder`: decoding is the expensive part
/// of a scrape, and the parser knows where it is, so errors can say `aggregated_errors[2].total_count`
/// and `invalid JSON at byte 1234`.
public struct PayloadDecoder: Sendable {
    /// Set per target from the scrape config; the defaults suit any client that behaves.
    public var limits: PayloadLimits

    public init(limits: PayloadLimits = .init()) {
        self.limits = limits
    }

    /// Takes `[UInt8]`, `Data`, an `UnsafeRawBufferPointer` (e.g. from a NIO `ByteBuffer`'s
    /// `withUnsafeReadableBytes`) or any other contiguous bytes.
    public func decode(_ bytes: some ContiguousBytes) throws(PayloadError) -> ExceptionsPayload {
        let payload = try parse(bytes, kept: nil)
        return ExceptionsPayload(targetUUID: payload.targetUUID, aggregatedErrors: payload.groups.map(\.group))
    }

    /// Decodes like `decode(_:)`, but builds only the samples that merging into what the caller
    /// keeps could change: each sample is first checked (as strictly as `decode(_:)` checks it,
    /// failing with the same error) reading only its uuid, time and severity, and one that the
    /// group's `KeptSamples` covers stays a `SampleStub`. `kept` is asked once per group, when its
    /// aggregation key comes before its samples (as every client writes them).
    public func decode(
        _ bytes: some ContiguousBytes, keeping kept: (_ aggregationKey: String) -> KeptSamples?
    ) throws(PayloadError) -> SkimmedPayload {
        try withoutActuallyEscaping(kept) { kept throws(PayloadError) in try parse(bytes, kept: kept) }
    }

    private func parse(_ bytes: some ContiguousBytes, kept: ((String) -> KeptSamples?)?) throws(PayloadError) -> SkimmedPayload {
        let limits = self.limits
        let result: Result<SkimmedPayload, PayloadError> = bytes.withUnsafeBytes { raw in
            var parser = PayloadParser(input: raw.assumingMemoryBound(to: UInt8.self), limits: limits, kept: kept)
            do throws(PayloadError) {
                return .success(try parser.parsePayload())
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

extension UInt8 {
    fileprivate static let quote = UInt8(ascii: "\"")
    fileprivate static let backslash = UInt8(ascii: "\\")
    fileprivate static let openBrace = UInt8(ascii: "{")
    fileprivate static let closeBrace = UInt8(ascii: "}")
    fileprivate static let openBracket = UInt8(ascii: "[")
    fileprivate static let closeBracket = UInt8(ascii: "]")
    fileprivate static let comma = UInt8(ascii: ",")
    fileprivate static let colon = UInt8(ascii: ":")
    fileprivate static let minus = UInt8(ascii: "-")

    fileprivate var isDigit: Bool { self &- 48 < 10 }
    fileprivate var isHexDigit: Bool { isDigit || (self | 0x20) &- 97 < 6 }
}

/// A single pass over the bytes that builds the payload directly, with no intermediate tree.
/// Errors travel outwards through `at(_:_:)`, which adds each level's step to their path, so the
/// path costs nothing unless something is wrong.
struct PayloadParser {
    private let input: UnsafeBufferPointer<UInt8>
    private var position = 0
    private let limits: PayloadLimits
    private let maxCauseDepth: Int
    /// What the caller keeps per aggregation key; nil builds every sample.
    private let kept: ((String) -> KeptSamples?)?

    init(input: UnsafeBufferPointer<UInt8>, limits: PayloadLimits, kept: ((String) -> KeptSamples?)? = nil) {
        self.input = input
        self.limits = limits
        self.maxCauseDepth = min(max(limits.maxCauseDepth, 0), 100)
        self.kept = kept
    }

    // MARK: - The payload

    mutating func parsePayload() throws(PayloadError) -> SkimmedPayload {
        if input.count >= 3, input[0] == 0xEF, input[1] == 0xBB, input[2] == 0xBF { position = 3 }
        skipWhitespace()
        guard position < input.count, input[position] == .openBrace else { throw mismatch("an object") }
        position += 1
        var targetUUID: String?
        var groups: [SkimmedGroup]?
        var first = true
        while let key = try nextKey(&first) {
            if self.key(key, is: "aggregated_errors") {
                groups = try at(.key("aggregated_errors")) { () throws(PayloadError) in try self.parseGroups() }
            } else if self.key(key, is: "target_uuid") {
                targetUUID = try at(.key("target_uuid")) { () throws(PayloadError) in
                    try self.parseOptionalString(limit: self.limits.maxStringLength)
                }
            } else {
                try skipValue()
            }
        }
        skipWhitespace()
        guard position == input.count else { throw syntaxError("unexpected data after the payload") }
        guard let groups else { throw PayloadError(.missingKey("aggregated_errors"), "missing key aggregated_errors") }
        return SkimmedPayload(targetUUID: targetUUID?.isEmpty == false ? targetUUID : nil, groups: groups)
    }

    private mutating func parseGroups() throws(PayloadError) -> [SkimmedGroup] {
        // Go marshals an empty nil slice as null.
        if isNull() { return [] }
        guard position < input.count, input[position] == .openBracket else { throw mismatch("an array") }
        position += 1
        var groups: [SkimmedGroup] = []
        var index = 0
        var first = true
        while try nextElement(&first) {
            if let maxGroups = limits.maxGroups, index >= maxGroups {
                // Counted to the end so that the error can say how many there were.
                try at(.index(index)) { () throws(PayloadError) in try self.skipValue() }
            } else {
                groups.append(try at(.index(index)) { () throws(PayloadError) in try self.parseGroup() })
            }
            index += 1
        }
        if let maxGroups = limits.maxGroups, index > maxGroups {
            throw PayloadError(
                .tooManyGroups(limit: maxGroups, found: index),
                "\(index) groups, more than the limit of \(maxGroups)"
            )
        }
        return groups
    }

    private mutating func parseGroup() throws(PayloadError) -> SkimmedGroup {
        guard position < input.count, input[position] == .openBrace else { throw mismatch("an object") }
        position += 1
        var aggregationKey: String?
        var totalCount: Int?
        var severity: Severity?
        var createdAt: Date?
        var createdAtSnakeCase = false
        var samples: [ParsedSample] = []
        // Known only once the key has been read: samples before it are all built.
        var keptSamples: KeptSamples?
        var first = true
        while let key = try nextKey(&first) {
            if self.key(key, is: "aggregation_key") {
                let parsedKey = try at(.key("aggregation_key")) { () throws(PayloadError) in
                    try self.parseString(limit: self.limits.maxStringLength)
                }
                aggregationKey = parsedKey
                keptSamples = kept?(parsedKey)
            } else if self.key(key, is: "total_count") {
                totalCount = try at(.key("total_count")) { () throws(PayloadError) in try self.parseCount() }
            } else if self.key(key, is: "severity") {
                severity = try at(.key("severity")) { () throws(PayloadError) in try self.parseSeverity() }
            } else if self.key(key, is: "latest_errors") {
                let covered = keptSamples
                samples = try at(.key("latest_errors")) { () throws(PayloadError) in try self.parseSamples(skipping: covered) }
            } else if self.key(key, is: "created_at") {
                createdAt = try at(.key("created_at")) { () throws(PayloadError) in try self.parseTimestamp() }
                createdAtSnakeCase = true
            } else if self.key(key, is: "createdAt") {
                // Scala clients 0.2.0 and 0.2.1.
                let date = try at(.key("createdAt")) { () throws(PayloadError) in try self.parseTimestamp() }
                if !createdAtSnakeCase { createdAt = date }
            } else {
                try skipValue()
            }
        }
        guard let aggregationKey else { throw PayloadError(.missingKey("aggregation_key"), "missing key aggregation_key") }
        guard let totalCount else { throw PayloadError(.missingKey("total_count"), "missing key total_count") }
        // The Periskop server reads a missing severity as error; a sample without one has its group's.
        let groupSeverity = severity ?? .error
        if samples.count > limits.maxSamplesPerGroup {
            samples = Self.newest(samples, keeping: limits.maxSamplesPerGroup, timestamp: \.timestamp)
        }
        var latestErrors: [ErrorWithContext] = []
        latestErrors.reserveCapacity(samples.count)
        var skipped: [SampleStub] = []
        for entry in samples {
            switch entry {
            case .built(var sample, let hasSeverity):
                if !hasSeverity { sample.severity = groupSeverity }
                latestErrors.append(sample)
            case .skipped(let stub):
                skipped.append(stub)
            }
        }
        let group = AggregatedError(
            aggregationKey: aggregationKey,
            totalCount: totalCount,
            severity: groupSeverity,
            createdAt: createdAt,
            latestErrors: latestErrors
        )
        return SkimmedGroup(group: group, skipped: skipped)
    }

    /// The newest samples by timestamp (those without one count as oldest), in their original order.
    private static func newest<Sample>(_ samples: [Sample], keeping limit: Int, timestamp: (Sample) -> Date?) -> [Sample] {
        guard limit > 0 else { return [] }
        let newestFirst = samples.indices.sorted { lhs, rhs in
            let left = timestamp(samples[lhs]) ?? .distantPast
            let right = timestamp(samples[rhs]) ?? .distantPast
            return left != right ? left > right : lhs > rhs
        }
        return newestFirst.prefix(limit).sorted().map { samples[$0] }
    }

    /// A sample as read: built, or (covered by what the caller keeps) only checked.
    private enum ParsedSample {
        case built(ErrorWithContext, hasSeverity: Bool)
        case skipped(SampleStub)

        var timestamp: Date? {
            switch self {
            case .built(let sample, _): sample.timestamp
            case .skipped(let stub): stub.timestamp
            }
        }
    }

    private mutating func parseSamples(skipping covered: KeptSamples?) throws(PayloadError) -> [ParsedSample] {
        if isNull() { return [] }
        guard position < input.count, input[position] == .openBracket else { throw mismatch("an array") }
        position += 1
        var samples: [ParsedSample] = []
        var index = 0
        var first = true
        while try nextElement(&first) {
            samples.append(try at(.index(index)) { () throws(PayloadError) in try self.parseSample(skipping: covered) })
            index += 1
        }
        return samples
    }

    /// With `covered`, checks the sample first, building nothing but its uuid, time and severity;
    /// only a sample it does not cover is then read again from its start and built.
    private mutating func parseSample(skipping covered: KeptSamples?) throws(PayloadError) -> ParsedSample {
        if let covered {
            let start = position
            let checked = try parseSample(build: false).sample
            if covered.covers(uuid: checked.uuid, timestamp: checked.timestamp) {
                return .skipped(SampleStub(uuid: checked.uuid, timestamp: checked.timestamp))
            }
            position = start
        }
        let (sample, hasSeverity) = try parseSample(build: true)
        return .built(sample, hasSeverity: hasSeverity)
    }

    /// `build: false` checks every field exactly as building does, on the same path, but leaves
    /// the error and HTTP context empty: all it builds is the uuid, time and severity.
    private mutating func parseSample(build: Bool) throws(PayloadError) -> (sample: ErrorWithContext, hasSeverity: Bool) {
        guard position < input.count, input[position] == .openBrace else { throw mismatch("an object") }
        position += 1
        var error: ErrorInstance?
        var uuid = ""
        var timestamp: Date?
        var severity: Severity?
        var httpContext: HTTPContext?
        var first = true
        while let key = try nextKey(&first) {
            if self.key(key, is: "error") {
                error = try at(.key("error")) { () throws(PayloadError) in try self.parseErrorInstance(depth: 0, build: build) }
            } else if self.key(key, is: "uuid") {
                uuid = try optionalText(at: "uuid")
            } else if self.key(key, is: "timestamp") {
                timestamp = try at(.key("timestamp")) { () throws(PayloadError) in try self.parseTimestamp() }
            } else if self.key(key, is: "severity") {
                severity = try at(.key("severity")) { () throws(PayloadError) in try self.parseSeverity() }
            } else if self.key(key, is: "http_context") {
                httpContext = try at(.key("http_context")) { () throws(PayloadError) in try self.parseHTTPContext(build: build) }
            } else {
                try skipValue()
            }
        }
        guard let error else { throw PayloadError(.missingKey("error"), "missing key error") }
        let sample = ErrorWithContext(error: error, uuid: uuid, timestamp: timestamp, severity: severity ?? .error, httpContext: httpContext)
        return (sample, severity != nil)
    }

    private mutating func parseErrorInstance(depth: Int, build: Bool) throws(PayloadError) -> ErrorInstance {
        guard position < input.count, input[position] == .openBrace else { throw mismatch("an object") }
        position += 1
        var className = ""
        var message = ""
        var stacktrace: [String] = []
        var cause: ErrorInstance?
        var first = true
        while let key = try nextKey(&first) {
            if self.key(key, is: "class") {
                className = try optionalText(at: "class", build: build)
            } else if self.key(key, is: "message") {
                message = try optionalText(at: "message", build: build)
            } else if self.key(key, is: "stacktrace") {
                stacktrace = try at(.key("stacktrace")) { () throws(PayloadError) in try self.parseStacktrace(build: build) }
            } else if self.key(key, is: "cause"), depth < maxCauseDepth {
                let parsed = try at(.key("cause")) { () throws(PayloadError) -> ErrorInstance? in
                    if self.isNull() { return nil }
                    guard self.position < self.input.count, self.input[self.position] == .openBrace else { throw self.mismatch("an object or null") }
                    return try self.parseErrorInstance(depth: depth + 1, build: build)
                }
                if build { cause = parsed }
            } else {
                // Unknown keys, and causes deeper than the limit, which are cut off.
                try skipValue()
            }
        }
        return ErrorInstance(className: className, message: message, stacktrace: stacktrace, cause: cause)
    }

    private mutating func parseStacktrace(build: Bool) throws(PayloadError) -> [String] {
        if isNull() { return [] }
        guard position < input.count, input[position] == .openBracket else { throw mismatch("an array or null") }
        position += 1
        var lines: [String] = []
        var index = 0
        var first = true
        while try nextElement(&first) {
            if index < limits.maxStacktraceLines {
                let line = try at(.index(index)) { () throws(PayloadError) in try self.parseString(limit: self.limits.maxStringLength, build: build) }
                if build { lines.append(line) }
            } else {
                try at(.index(index)) { () throws(PayloadError) in try self.skipValue() }
            }
            index += 1
        }
        return lines
    }

    private mutating func parseHTTPContext(build: Bool) throws(PayloadError) -> HTTPContext? {
        if isNull() { return nil }
        guard position < input.count, input[position] == .openBrace else { throw mismatch("an object or null") }
        position += 1
        var context = HTTPContext(requestMethod: "", requestURL: "")
        var first = true
        while let key = try nextKey(&first) {
            if self.key(key, is: "request_method") {
                context.requestMethod = try optionalText(at: "request_method", build: build)
            } else if self.key(key, is: "request_url") {
                context.requestURL = try optionalText(at: "request_url", build: build)
            } else if self.key(key, is: "request_headers") {
                context.requestHeaders = try at(.key("request_headers")) { () throws(PayloadError) in try self.parseHeaders(build: build) }
            } else if self.key(key, is: "request_body") {
                context.requestBody = try at(.key("request_body")) { () throws(PayloadError) in
                    try self.parseOptionalString(limit: self.limits.maxBodyLength, build: build)
                }
            } else {
                try skipValue()
            }
        }
        return build ? context : nil
    }

    private mutating func parseHeaders(build: Bool) throws(PayloadError) -> [String: String] {
        if isNull() { return [:] }
        guard position < input.count, input[position] == .openBrace else { throw mismatch("an object or null") }
        position += 1
        var headers: [String: String] = [:]
        var first = true
        while let key = try nextKey(&first) {
            let value: String?
            do throws(PayloadError) {
                value = try parseOptionalString(limit: limits.maxStringLength, build: build)
            } catch {
                // The name is made only when building, or for the error's path.
                throw error.prefixed(with: .key(string(key, limit: limits.maxStringLength)))
            }
            if build { headers[string(key, limit: limits.maxStringLength)] = value ?? "" }
        }
        return headers
    }

    // MARK: - Values

    /// A string field where null means "" (absent is "" too: callers start from it). Without
    /// `build`, the string is checked but not made, and the result is "".
    private mutating func optionalText(at key: String, build: Bool = true) throws(PayloadError) -> String {
        let text = try at(.key(key)) { () throws(PayloadError) in
            try self.parseOptionalString(limit: self.limits.maxStringLength, build: build)
        }
        return text ?? ""
    }

    private mutating func parseString(limit: Int, build: Bool = true) throws(PayloadError) -> String {
        guard position < input.count, input[position] == .quote else { throw mismatch("a string") }
        let raw = try scanString()
        return build ? string(raw, limit: limit) : ""
    }

    private mutating func parseOptionalString(limit: Int, build: Bool = true) throws(PayloadError) -> String? {
        if isNull() { return nil }
        guard position < input.count, input[position] == .quote else { throw mismatch("a string or null") }
        let raw = try scanString()
        return build ? string(raw, limit: limit) : ""
    }

    private mutating func parseCount() throws(PayloadError) -> Int {
        guard position < input.count, input[position] == .minus || input[position].isDigit else {
            throw mismatch("a non-negative integer")
        }
        let number = try scanNumber()
        let invalid = PayloadError(.invalidValue, "expected a non-negative integer, found \(text(number))")
        if number.isInteger {
            var value = 0
            for index in number.start..<number.end where input[index] != .minus {
                let (shifted, overflowed) = value.multipliedReportingOverflow(by: 10)
                let (sum, carried) = shifted.addingReportingOverflow(Int(input[index] &- 48))
                guard !overflowed, !carried else { throw invalid }
                value = sum
            }
            guard input[number.start] != .minus || value == 0 else { throw invalid }
            return value
        }
        // 3.0 or 1e3 are integers written oddly; 2.5 is not a count.
        guard let value = Double(text(number)), value >= 0, value.rounded() == value, value <= 9_007_199_254_740_992 else { throw invalid }
        return Int(value)
    }

    private mutating func parseSeverity() throws(PayloadError) -> Severity? {
        if isNull() { return nil }
        guard position < input.count, input[position] == .quote else { throw mismatch("a severity (info, warning or error)") }
        let raw = try scanString()
        if key(raw, is: "error") { return .error }
        if key(raw, is: "warning") { return .warning }
        if key(raw, is: "info") { return .info }
        if raw.start == raw.end { return nil }
        let text = string(raw, limit: 256)
        guard let severity = Severity(wireName: text) else {
            throw PayloadError(.invalidValue, "unknown severity \(JSONText.quoted(text)), expected info, warning or error")
        }
        return severity
    }

    /// RFC 3339 text in any client's style, or Unix seconds; nil for null, "" and Go's zero time.
    private mutating func parseTimestamp() throws(PayloadError) -> Date? {
        guard position < input.count else { throw unexpected() }
        let byte = input[position]
        if byte == .quote {
            let raw = try scanString()
            if raw.start == raw.end { return nil }
            let instant: RFC3339.Instant?
            if raw.hasEscapes {
                instant = unescape(raw).withUnsafeBufferPointer { RFC3339.instant(of: $0) }
            } else {
                instant = RFC3339.instant(of: UnsafeBufferPointer(rebasing: input[raw.start..<raw.end]))
            }
            guard let instant else { throw PayloadError(.invalidValue, "not a timestamp: \(JSONText.quoted(string(raw, limit: 1024)))") }
            return instant == .goZero ? nil : instant.date
        }
        if byte == .minus || byte.isDigit {
            let number = try scanNumber()
            guard let seconds = Double(text(number)), let instant = RFC3339.Instant(unixSeconds: seconds) else {
                throw PayloadError(.invalidValue, "not a timestamp: \(text(number))")
            }
            return instant == .goZero ? nil : instant.date
        }
        if isNull() { return nil }
        throw mismatch("a timestamp")
    }

    // MARK: - Tokens

    private struct RawString {
        var start: Int
        var end: Int
        var hasEscapes: Bool
    }

    private struct RawNumber {
        var start: Int
        var end: Int
        var isInteger: Bool
    }

    @inline(__always)
    private mutating func skipWhitespace() {
        while position < input.count {
            switch input[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// Runs `body` and, if it throws, adds `component` to the error's path.
    @inline(__always)
    private func at<T>(_ component: PayloadError.PathComponent, _ body: () throws(PayloadError) -> T) throws(PayloadError) -> T {
        do {
            return try body()
        } catch {
            throw error.prefixed(with: component)
        }
    }

    /// Call after the opening brace; nil at the closing one. Leaves the position at the value.
    private mutating func nextKey(_ first: inout Bool) throws(PayloadError) -> RawString? {
        skipWhitespace()
        guard position < input.count else { throw unexpected() }
        if input[position] == .closeBrace {
            position += 1
            return nil
        }
        if first {
            first = false
        } else {
            guard input[position] == .comma else { throw syntaxError("expected ',' or '}' in an object") }
            position += 1
        }
        let key = try scanKeyAndColon()
        skipWhitespace()
        return key
    }

    private mutating func scanKeyAndColon() throws(PayloadError) -> RawString {
        skipWhitespace()
        guard position < input.count else { throw unexpected() }
        guard input[position] == .quote else { throw syntaxError("expected a key in quotes") }
        let key = try scanString()
        skipWhitespace()
        guard position < input.count else { throw unexpected() }
        guard input[position] == .colon else { throw syntaxError("expected ':' after a key") }
        position += 1
        return key
    }

    /// Call after the opening bracket; false at the closing one. Leaves the position at the value.
    private mutating func nextElement(_ first: inout Bool) throws(PayloadError) -> Bool {
        skipWhitespace()
        guard position < input.count else { throw unexpected() }
        if input[position] == .closeBracket {
            position += 1
            return false
        }
        if first {
            first = false
        } else {
            guard input[position] == .comma else { throw syntaxError("expected ',' or ']' in an array") }
            position += 1
            skipWhitespace()
        }
        return true
    }

    private mutating func isNull() -> Bool {
        guard position + 4 <= input.count, input[position] == UInt8(ascii: "n"), input[position + 1] == UInt8(ascii: "u"),
            input[position + 2] == UInt8(ascii: "l"), input[position + 3] == UInt8(ascii: "l")
        else { return false }
        position += 4
        return true
    }

    private mutating func scanString() throws(PayloadError) -> RawString {
        let start = position + 1
        var index = start
        var hasEscapes = false
        while true {
            // Eight bytes at a time over plain text, the bulk of a payload.
            if let base = input.baseAddress {
                while index &+ 8 <= input.count, !Self.mayEndPlainText(UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)) {
                    index &+= 8
                }
            }
            guard index < input.count else {
                position = index
                throw unexpected()
            }
            let byte = input[index]
            if byte == .quote { break }
            if byte == .backslash {
                hasEscapes = true
                index += 1
                guard index < input.count else {
                    position = index
                    throw unexpected()
                }
                switch input[index] {
                case .quote, .backslash, UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"), UInt8(ascii: "n"),
                    UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    for offset in 1...4 {
                        guard index + offset < input.count else {
                            position = index + offset
                            throw unexpected()
                        }
                        guard input[index + offset].isHexDigit else {
                            position = index + offset
                            throw syntaxError("invalid \\u escape in a string")
                        }
                    }
                    index += 5
                default:
                    position = index - 1
                    throw syntaxError("invalid escape in a string")
                }
                continue
            }
            if byte < 0x20 {
                position = index
                throw syntaxError("control character in a string")
            }
            index += 1
        }
        position = index + 1
        return RawString(start: start, end: index, hasEscapes: hasEscapes)
    }

    /// Whether any of eight bytes is a quote, a backslash or a control character (SWAR: exact for
    /// "any", which is all the string scanner asks).
    @inline(__always)
    private static func mayEndPlainText(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        let zeroQuote = (quotes &- ones) & ~quotes
        let zeroBackslash = (backslashes &- ones) & ~backslashes
        let control = (word &- ones &* 0x20) & ~word
        return (zeroQuote | zeroBackslash | control) & highs != 0
    }

    private mutating func scanNumber() throws(PayloadError) -> RawNumber {
        let start = position
        var index = position
        var isInteger = true
        func digits(_ index: inout Int) throws(PayloadError) {
            guard index < input.count else {
                position = index
                throw unexpected()
            }
            guard input[index].isDigit else {
                position = index
                throw syntaxError("invalid number")
            }
            while index < input.count, input[index].isDigit { index += 1 }
        }
        if input[index] == .minus { index += 1 }
        if index < input.count, input[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            try digits(&index)
        }
        if index < input.count, input[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            try digits(&index)
        }
        if index < input.count, input[index] | 0x20 == UInt8(ascii: "e") {
            isInteger = false
            index += 1
            if index < input.count, input[index] == UInt8(ascii: "+") || input[index] == .minus { index += 1 }
            try digits(&index)
        }
        position = index
        return RawNumber(start: start, end: index, isInteger: isInteger)
    }

    private mutating func scanLiteral() throws(PayloadError) -> String {
        for literal in ["true", "false", "null"] where input[position] == literal.utf8.first {
            for (offset, expected) in literal.utf8.enumerated() {
                guard position + offset < input.count else {
                    position += offset
                    throw unexpected()
                }
                guard input[position + offset] == expected else {
                    position += offset
                    throw unexpected()
                }
            }
            position += literal.utf8.count
            return literal
        }
        throw unexpected()
    }

    /// Skips one value of any shape without recursion, so that hostile nesting cannot overflow the stack.
    private mutating func skipValue() throws(PayloadError) {
        var closers: [UInt8] = []
        while true {
            skipWhitespace()
            guard position < input.count else { throw unexpected() }
            switch input[position] {
            case .openBrace:
                position += 1
                skipWhitespace()
                if position < input.count, input[position] == .closeBrace {
                    position += 1
                } else {
                    closers.append(.closeBrace)
                    _ = try scanKeyAndColon()
                    continue
                }
            case .openBracket:
                position += 1
                skipWhitespace()
                if position < input.count, input[position] == .closeBracket {
                    position += 1
                } else {
                    closers.append(.closeBracket)
                    continue
                }
            case .quote:
                _ = try scanString()
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
                _ = try scanLiteral()
            case let byte where byte == .minus || byte.isDigit:
                _ = try scanNumber()
            default:
                throw unexpected()
            }
            var needsValue = false
            while let closer = closers.last {
                skipWhitespace()
                guard position < input.count else { throw unexpected() }
                let byte = input[position]
                if byte == .comma {
                    position += 1
                    if closer == .closeBrace { _ = try scanKeyAndColon() }
                    needsValue = true
                    break
                } else if byte == closer {
                    position += 1
                    closers.removeLast()
                } else {
                    throw syntaxError(closer == .closeBrace ? "expected ',' or '}' in an object" : "expected ',' or ']' in an array")
                }
            }
            if !needsValue { return }
        }
    }

    // MARK: - Text

    private func key(_ raw: RawString, is name: StaticString) -> Bool {
        let length = raw.end - raw.start
        if raw.hasEscapes { return string(raw, limit: length) == name.description }
        guard length == name.utf8CodeUnitCount else { return false }
        let expected = name.utf8Start
        for offset in 0..<length where input[raw.start + offset] != expected[offset] { return false }
        return true
    }

    private static let truncationMarker: [UInt8] = Array(TextBounds.marker.utf8)

    private func string(_ raw: RawString, limit: Int) -> String {
        guard raw.hasEscapes else {
            return Self.string(UnsafeBufferPointer(rebasing: input[raw.start..<raw.end]), limit: limit)
        }
        // Unescaped text is never longer than its escaped form.
        return String(unsafeUninitializedCapacity: raw.end - raw.start + Self.truncationMarker.count) { buffer in
            let count = unescape(raw, into: buffer)
            guard count > limit else { return count }
            let cut = Self.boundary(UnsafeBufferPointer(buffer), before: limit)
            for (offset, byte) in Self.truncationMarker.enumerated() { buffer[cut + offset] = byte }
            return cut + Self.truncationMarker.count
        }
    }

    /// At most `limit` bytes of UTF-8, cut at a character boundary and marked when cut.
    private static func string(_ bytes: UnsafeBufferPointer<UInt8>, limit: Int) -> String {
        guard bytes.count > limit else { return String(decoding: bytes, as: UTF8.self) }
        let cut = boundary(bytes, before: limit)
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[..<cut]), as: UTF8.self) + TextBounds.marker
    }

    /// The largest offset at most `limit` that does not split a UTF-8 sequence.
    private static func boundary(_ bytes: UnsafeBufferPointer<UInt8>, before limit: Int) -> Int {
        var cut = max(limit, 0)
        while cut > 0, bytes[cut] & 0xC0 == 0x80 { cut -= 1 }
        return cut
    }

    private func unescape(_ raw: RawString) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: raw.end - raw.start) { buffer, count in
            count = unescape(raw, into: buffer)
        }
    }

    /// Writes the unescaped bytes (escapes were checked by `scanString`) and returns their count.
    private func unescape(_ raw: RawString, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var index = raw.start
        var count = 0
        func hex4(_ at: Int) -> UInt32 {
            var value: UInt32 = 0
            for offset in 0..<4 {
                let byte = input[at + offset]
                value = value << 4 + UInt32(byte.isDigit ? byte &- 48 : (byte | 0x20) &- 87)
            }
            return value
        }
        while index < raw.end {
            let byte = input[index]
            guard byte == .backslash else {
                out[count] = byte
                count += 1
                index += 1
                continue
            }
            let escaped = input[index + 1]
            index += 2
            switch escaped {
            case UInt8(ascii: "b"): out[count] = 0x08
            case UInt8(ascii: "f"): out[count] = 0x0C
            case UInt8(ascii: "n"): out[count] = 0x0A
            case UInt8(ascii: "r"): out[count] = 0x0D
            case UInt8(ascii: "t"): out[count] = 0x09
            case UInt8(ascii: "u"):
                var scalar = hex4(index)
                index += 4
                if (0xD800...0xDBFF).contains(scalar), index + 6 <= raw.end, input[index] == .backslash,
                    input[index + 1] == UInt8(ascii: "u"), case let low = hex4(index + 2), (0xDC00...0xDFFF).contains(low)
                {
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                }
                // A lone surrogate is not a character: it becomes U+FFFD.
                for unit in UTF8.encode(Unicode.Scalar(scalar) ?? "\u{FFFD}")! {
                    out[count] = unit
                    count += 1
                }
                continue
            default:
                out[count] = escaped
            }
            count += 1
        }
        return count
    }

    private func text(_ number: RawNumber) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: input[number.start..<number.end]), as: UTF8.self)
    }

    // MARK: - Errors

    private func syntaxError(_ reason: String) -> PayloadError {
        PayloadError(.invalidJSON(byteOffset: position), reason)
    }

    private func unexpected() -> PayloadError {
        guard position < input.count else { return syntaxError("unexpected end of input") }
        let byte = input[position]
        if byte >= 0x21, byte < 0x7F {
            return syntaxError("unexpected character '\(Character(Unicode.Scalar(byte)))'")
        }
        return syntaxError("unexpected byte 0x\(String(byte, radix: 16, uppercase: true))")
    }

    /// The error for a value of the wrong type here, naming what was found; or, when there is no
    /// valid value here at all, the JSON error.
    private mutating func mismatch(_ expected: String) -> PayloadError {
        let start = position
        defer { position = start }
        guard position < input.count else { return unexpected() }
        let found: String
        do throws(PayloadError) {
            switch input[position] {
            case .quote: found = JSONText.quoted(string(try scanString(), limit: 1024))
            case .openBrace: found = "an object"
            case .openBracket: found = "an array"
            case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"): found = try scanLiteral()
            case let byte where byte == .minus || byte.isDigit: found = text(try scanNumber())
            default: return unexpected()
            }
        } catch {
            return error
        }
        return PayloadError(.typeMismatch, "expected \(expected), found \(found)")
    }
}
