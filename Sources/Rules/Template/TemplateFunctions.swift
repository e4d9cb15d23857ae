import Foundation
import PromQL

/// Prometheus's template functions (`template/template.go`, 2.42), with its results and errors.
/// `now` is not among them: Prometheus added it in 3.x, and 2.42 rejects it as undefined.
enum TemplateFunctions {
    typealias Failure = TemplateFunction.Failure

    static let all: [String: TemplateFunction] = [
        "query": TemplateFunction([.string]) { (args, execution) throws(Failure) in try await query(args[0].text, execution) },
        "first": .pure([.queryResult]) { args throws(Failure) in
            guard case .queryResult(let samples) = args[0], let first = samples.first else {
                throw Failure(message: "first() called on vector with no elements")
            }
            return .sample(first)
        },
        "label": .pure([.string, .sample]) { args throws(Failure) in .string(try sample(args[1]).labels[args[0].text] ?? "") },
        "value": .pure([.sample]) { args throws(Failure) in .float(try sample(args[0]).value) },
        "strvalue": .pure([.sample]) { args throws(Failure) in .string(try sample(args[0]).labels["__value__"] ?? "") },
        "args": .pure([], variadic: .any) { args in
            var map: [String: TemplateValue] = [:]
            for (index, arg) in args.enumerated() { map["arg\(index)"] = arg }
            return .anyMap(map)
        },
        "reReplaceAll": TemplateFunction([.string, .string, .string]) { (args, execution) throws(Failure) in
            let pattern = args[0].text
            let regex: CapturingRegex
            do throws(RegexError) {
                regex = try CapturingRegex(pattern)
            } catch {
                throw Failure(message: "regexp: Compile(\(regexpQuote(pattern))): \(error.message)")
            }
            let limit = execution.limits.maximumOutputBytes
            guard let replaced = regex.replacingAll(in: args[2].text, with: args[1].text, maximumLength: limit) else {
                throw Failure(message: "the result is longer than \(limit) bytes")
            }
            return .string(replaced)
        },
        "safeHtml": .pure([.string]) { args in .html(args[0].text) },
        "match": .pure([.string, .string]) { args throws(Failure) in
            do throws(RegexError) {
                return .bool(try CapturingRegex(args[0].text).matches(in: args[1].text))
            } catch {
                throw Failure(message: error.message)
            }
        },
        "title": .pure([.string]) { args in .string(title(args[0].text)) },
        "toUpper": .pure([.string]) { args in .string(mapScalars(args[0].text, simple: simpleUpper) { $0.properties.uppercaseMapping }) },
        "toLower": .pure([.string]) { args in .string(mapScalars(args[0].text, simple: simpleLower) { $0.properties.lowercaseMapping }) },
        "graphLink": .pure([.string]) { args in .string("/graph?g0.expr=\(TemplateBuiltins.queryEscape(args[0].text))&g0.tab=0") },
        "tableLink": .pure([.string]) { args in .string("/graph?g0.expr=\(TemplateBuiltins.queryEscape(args[0].text))&g0.tab=1") },
        "sortByLabel": .pure([.string, .queryResult]) { args in
            guard case .queryResult(let samples) = args[1] else { return args[1] }
            let label = args[0].text
            // Swift's sort is stable, as Go's `sort.Stable`.
            return .queryResult(samples.sorted { goLess($0.labels[label] ?? "", $1.labels[label] ?? "") })
        },
        "stripPort": .pure([.string]) { args in
            let hostPort = args[0].text
            return .string(HostPort.split(hostPort)?.host ?? hostPort)
        },
        "stripDomain": .pure([.string]) { args in .string(stripDomain(args[0].text)) },
        "humanize": .pure([.any]) { args throws(Failure) in .string(humanize(try float(args[0]))) },
        "humanize1024": .pure([.any]) { args throws(Failure) in .string(humanize1024(try float(args[0]))) },
        "humanizeDuration": .pure([.any]) { args throws(Failure) in .string(humanizeDuration(try float(args[0]))) },
        "humanizePercentage": .pure([.any]) { args throws(Failure) in .string(g4(try float(args[0]) * 100) + "%") },
        "humanizeTimestamp": .pure([.any]) { args throws(Failure) in
            let v = try float(args[0])
            if !v.isFinite { return .string(g4(v)) }
            return .string(GoTime.string(try nanoseconds(v)))
        },
        "toTime": .pure([.any]) { args throws(Failure) in
            let v = try float(args[0])
            if !v.isFinite { throw Failure(message: "value is NaN or Inf") }
            return .time(try nanoseconds(v))
        },
        "pathPrefix": TemplateFunction([]) { (_, execution) in .string(URLComponents(string: execution.data.externalURL)?.path ?? "") },
        "externalURL": TemplateFunction([]) { (_, execution) in .string(execution.data.externalURL) },
        "parseDuration": .pure([.string]) { args throws(Failure) in
            do throws(DurationError) {
                return .float(Double(try PromDuration.parse(args[0].text).milliseconds) / 1000)
            } catch {
                throw Failure(message: error.message)
            }
        },
    ]

    // MARK: - Queries

    private static func query(_ expression: String, _ execution: TemplateExecution) async throws(Failure) -> TemplateValue {
        guard let querier = execution.querier else { throw Failure(message: "no querier to run queries with") }
        execution.queries += 1
        if execution.queries > execution.limits.maximumQueries {
            throw Failure(message: "more than \(execution.limits.maximumQueries) queries in one expansion")
        }
        do {
            return .queryResult(try await querier.query(expression))
        } catch {
            throw Failure(message: "\(error)")
        }
    }

    /// A `*sample` argument; a nil one is Go's nil dereference.
    private static func sample(_ value: TemplateValue) throws(Failure) -> TemplateSample {
        guard case .sample(let sample?) = value else {
            throw Failure(message: "runtime error: invalid memory address or nil pointer dereference")
        }
        return sample
    }

    // MARK: - Numbers

    /// Prometheus's `convertToFloat`: floats, integers, and strings as `strconv.ParseFloat` reads them.
    static func float(_ value: TemplateValue) throws(Failure) -> Double {
        switch value.concrete {
        case .float(let v): return v
        case .int(let v): return Double(v)
        case .string(let s):
            switch GoLiteral.parseFloat(s) {
            case .value(let v): return v
            case .outOfRange: throw Failure(message: "strconv.ParseFloat: parsing \(GoText.quote(s)): value out of range")
            case .invalid: throw Failure(message: "strconv.ParseFloat: parsing \(GoText.quote(s)): invalid syntax")
            }
        case let other: throw Failure(message: "can't convert \(other.isNil ? "<nil>" : other.typeName) to float")
        }
    }

    /// `fmt.Sprintf("%.4g", v)`.
    static func g4(_ v: Double) -> String { GoFormat.sprintf("%.4g", [.float(v)]) }

    static func humanize(_ value: Double) -> String {
        var v = value
        if v == 0 || !v.isFinite { return g4(v) }
        var prefix = ""
        if abs(v) >= 1 {
            for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
                if abs(v) < 1000 { break }
                prefix = p
                v /= 1000
            }
            return g4(v) + prefix
        }
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if abs(v) >= 1 { break }
            prefix = p
            v *= 1000
        }
        return g4(v) + prefix
    }

    static func humanize1024(_ value: Double) -> String {
        var v = value
        if abs(v) <= 1 || !v.isFinite { return g4(v) }
        var prefix = ""
        for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
            if abs(v) < 1024 { break }
            prefix = p
            v /= 1024
        }
        return g4(v) + prefix
    }

    static func humanizeDuration(_ value: Double) -> String {
        var v = value
        if !v.isFinite { return g4(v) }
        if v == 0 { return g4(v) + "s" }
        if abs(v) >= 1 {
            var sign = ""
            if v < 0 {
                sign = "-"
                v = -v
            }
            let duration = goInt64(v)
            let seconds = duration % 60
            let minutes = (duration / 60) % 60
            let hours = (duration / 60 / 60) % 24
            let days = duration / 60 / 60 / 24
            if days != 0 { return "\(sign)\(days)d \(hours)h \(minutes)m \(seconds)s" }
            if hours != 0 { return "\(sign)\(hours)h \(minutes)m \(seconds)s" }
            if minutes != 0 { return "\(sign)\(minutes)m \(seconds)s" }
            return sign + g4(v) + "s"
        }
        var prefix = ""
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if abs(v) >= 1 { break }
            prefix = p
            v *= 1000
        }
        return g4(v) + prefix + "s"
    }

    /// Go's `int64(f)` on amd64: truncation, and the minimum for what does not fit.
    private static func goInt64(_ f: Double) -> Int64 {
        guard f.isFinite, f > -9.223372036854775808e18, f < 9.223372036854775808e18 else { return .min }
        return Int64(f)
    }

    /// Prometheus's `floatToTime` as nanoseconds: through `model.Time`, so whole milliseconds.
    private static func nanoseconds(_ v: Double) throws(Failure) -> Int64 {
        let timestamp = v * 1e9
        if timestamp > 9.223372036854775807e18 || timestamp < -9.223372036854775808e18 {
            throw Failure(message: "\(GoFormat.sprint([.float(v)])) cannot be represented as a nanoseconds timestamp since it overflows int64")
        }
        let milliseconds = goInt64(timestamp) / 1_000_000
        return milliseconds * 1_000_000
    }

    // MARK: - Text

    /// `strings.Map` with Go's one-to-one case mappings: a character whose full mapping is
    /// several (`ß` to `SS`) stays as it is, as Go's `unicode.ToUpper` leaves it.
    static func mapScalars(_ s: String, simple: [UInt32: UInt32], _ mapping: (Unicode.Scalar) -> String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            if let exception = simple[scalar.value], let mapped = Unicode.Scalar(exception) {
                out.append(mapped)
                continue
            }
            let mapped = mapping(scalar).unicodeScalars
            if mapped.count == 1 { out.append(mapped.first!) } else { out.append(scalar) }
        }
        return String(out)
    }

    /// The simple mappings that differ from a full mapping of several characters (Unicode's
    /// SpecialCasing): `İ` lowers to `i`, Greek letters with ypogegrammeni upper to one letter.
    static let simpleLower: [UInt32: UInt32] = [0x130: 0x69]
    static let simpleUpper: [UInt32: UInt32] = {
        var table: [UInt32: UInt32] = [0x1FB3: 0x1FBC, 0x1FC3: 0x1FCC, 0x1FF3: 0x1FFC]
        for base: UInt32 in [0x1F80, 0x1F90, 0x1FA0] {
            for offset: UInt32 in 0..<8 { table[base + offset] = base + offset + 8 }
        }
        return table
    }()

    /// `strings.Title`: the first letter of every word in title case.
    static func title(_ s: String) -> String {
        var previous: Unicode.Scalar = " "
        var out = String.UnicodeScalarView()
        for scalar in s.unicodeScalars {
            if isSeparator(previous) {
                let mapped = scalar.properties.titlecaseMapping.unicodeScalars
                out.append(mapped.count == 1 ? mapped.first! : scalar)
            } else {
                out.append(scalar)
            }
            previous = scalar
        }
        return String(out)
    }

    private static func isSeparator(_ r: Unicode.Scalar) -> Bool {
        if r.value <= 0x7F {
            switch r {
            case "0"..."9", "a"..."z", "A"..."Z", "_": return false
            default: return true
            }
        }
        if TemplateLexer.isAlphaNumeric(r) { return false }
        return r.properties.isWhitespace
    }

    /// Go regexp's `quote`: backquoted when it can be, else `strconv.Quote`.
    private static func regexpQuote(_ s: String) -> String {
        let canBackquote = !s.unicodeScalars.contains { $0 == "`" || $0 == "\u{FEFF}" || ($0.value < 0x20 && $0 != "\t") || $0 == "\u{7F}" }
        return canBackquote ? "`" + s + "`" : GoText.quote(s)
    }

    /// Prometheus's `stripDomain`: the host's first label, the port kept; IP addresses unchanged.
    static func stripDomain(_ hostPort: String) -> String {
        let split = HostPort.split(hostPort)
        let host = split?.host ?? hostPort
        let port = split?.port ?? ""
        if HostPort.isIP(host) { return hostPort }
        let first = String(host.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        if port.isEmpty { return first }
        return first.contains(":") ? "[\(first)]:\(port)" : "\(first):\(port)"
    }
}

/// Go's `net.SplitHostPort` and `net.ParseIP`, as `stripPort` and `stripDomain` use them.
enum HostPort {
    static func split(_ hostPort: String) -> (host: String, port: String)? {
        let s = Array(hostPort.utf8)
        guard let i = s.lastIndex(of: UInt8(ascii: ":")) else { return nil }
        var host: [UInt8]
        var j = 0
        var k = 0
        if s.first == UInt8(ascii: "[") {
            guard let end = s.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            guard end + 1 == i else { return nil }
            host = Array(s[1..<end])
            j = 1
            k = end + 1
        } else {
            host = Array(s[..<i])
            if host.contains(UInt8(ascii: ":")) { return nil }
        }
        if s[j...].contains(UInt8(ascii: "[")) || s[k...].contains(UInt8(ascii: "]")) { return nil }
        return (String(decoding: host, as: UTF8.self), String(decoding: s[(i + 1)...], as: UTF8.self))
    }

    /// Whether `net.ParseIP` accepts `text`: dotted IPv4 (no leading zeros) or IPv6, no zone.
    static func isIP(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }
}

extension TemplateValue {
    /// The text of a value already checked to be a `string` argument.
    var text: String {
        if case .string(let s) = self { return s }
        return ""
    }
}
