/// Parses durations as Prometheus and Go write them: `15s`, `1m30s`, `500ms`, `1h`, `2d`, `1w`,
/// `1y`, and Go's fractional `1.5s`, `100us`, `10ns`. A bare `0` is zero.
public enum DurationParser {
    public struct Failure: Error, CustomStringConvertible {
        public let text: String
        /// Well written but longer than Go's `time.Duration` holds (Int64 nanoseconds).
        public var outOfRange = false
        public var description: String {
            outOfRange
                ? "duration out of range: \"\(text)\" (at most 292y)" : "not a duration: \"\(text)\" (examples: 15s, 1m30s, 500ms, 2h)"
        }
    }

    public static func parse(_ text: String) throws(Failure) -> Duration {
        if text == "0" { return .zero }
        // Int64 nanoseconds, as Go's time.Duration and NIO's TimeAmount: about 292 years.
        var total: Int64 = 0
        var scanner = Substring(text)
        guard !scanner.isEmpty else { throw Failure(text: text) }
        while !scanner.isEmpty {
            let number = scanner.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { throw Failure(text: text) }
            scanner = scanner.dropFirst(number.count)
            let unit = scanner.prefix { $0.isLetter || $0 == "µ" }
            scanner = scanner.dropFirst(unit.count)
            let seconds: Double
            switch unit {
            case "ns": seconds = 1e-9
            case "us", "µs": seconds = 1e-6
            case "ms": seconds = 1e-3
            case "s": seconds = 1
            case "m": seconds = 60
            case "h": seconds = 3600
            case "d": seconds = 86400
            case "w": seconds = 7 * 86400
            case "y": seconds = 365 * 86400
            default: throw Failure(text: text)
            }
            let nanoseconds = (value * seconds * 1e9).rounded()
            guard nanoseconds < 0x1p63 else { throw Failure(text: text, outOfRange: true) }
            let (sum, overflow) = total.addingReportingOverflow(Int64(nanoseconds))
            guard !overflow else { throw Failure(text: text, outOfRange: true) }
            total = sum
        }
        return .nanoseconds(total)
    }

    /// Formats a duration the way a config would write it: `15s`, `1m30s`, `250ms`.
    public static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if seconds == 0 && attoseconds == 0 { return "0s" }
        if seconds < 1 { return "\(attoseconds / 1_000_000_000_000_000)ms" }
        var rest = seconds
        var text = ""
        for (unit, size) in [("d", Int64(86400)), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        let millis = attoseconds / 1_000_000_000_000_000
        return millis > 0 ? text + "\(millis)ms" : text
    }
}

/// Parses byte sizes as Prometheus writes them (`body_size_limit: 10MB`); units are powers of 1024.
public enum ByteSizeParser {
    public struct Failure: Error, CustomStringConvertible {
        public let text: String
        public var description: String { "not a byte size: \"\(text)\" (examples: 512KB, 10MB, 1GiB, 1048576)" }
    }

    public static func parse(_ text: String) throws(Failure) -> Int {
        let digits = text.prefix { $0.isNumber }
        guard let number = Int(digits) else { throw Failure(text: text) }
        let unit = text.dropFirst(digits.count).trimmingPrefix(" ").uppercased()
        let factor: Int
        switch unit {
        case "", "B": factor = 1
        case "KB", "KIB", "K": factor = 1 << 10
        case "MB", "MIB", "M": factor = 1 << 20
        case "GB", "GIB", "G": factor = 1 << 30
        default: throw Failure(text: text)
        }
        let (value, overflow) = number.multipliedReportingOverflow(by: factor)
        guard !overflow else { throw Failure(text: text) }
        return value
    }
}

extension Duration {
    /// The duration in seconds, for metrics, JSON and arithmetic with `Date`.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
