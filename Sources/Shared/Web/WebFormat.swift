import Foundation

/// How the pages write times, counts and durations: short, in English, in UTC, and the same on
/// every machine (no locale), so that rendered pages can be compared in tests.
public enum WebFormat {
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// "just now", "42 s ago", "3 min ago", "5 h ago", "12 d ago", "in 3 min" (a clock ahead of
    /// ours), and past 60 days the UTC date.
    public static func relative(_ date: Date, now: Date) -> String {
        let seconds = now.timeIntervalSince(date)
        let magnitude = abs(seconds)
        if magnitude < 10 { return "just now" }
        if magnitude >= 60 * 86400 { return day(date) }
        let amount: String
        switch magnitude {
        case ..<60: amount = "\(Int(magnitude)) s"
        case ..<3600: amount = "\(Int(magnitude / 60)) min"
        case ..<86400: amount = "\(Int(magnitude / 3600)) h"
        default: amount = "\(Int(magnitude / 86400)) d"
        }
        return seconds >= 0 ? "\(amount) ago" : "in \(amount)"
    }

    /// `2025-05-03 14:00:05 UTC`: for titles and tooltips.
    public static func absolute(_ date: Date) -> String {
        let c = utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return "\(day(date)) \(two(c.hour!)):\(two(c.minute!)):\(two(c.second!)) UTC"
    }

    /// `2025-05-03T14:00:05Z`: the `datetime` attribute of `<time>`.
    public static func datetime(_ date: Date) -> String {
        let c = utc.dateComponents([.hour, .minute, .second], from: date)
        return "\(day(date))T\(two(c.hour!)):\(two(c.minute!)):\(two(c.second!))Z"
    }

    /// `2025-05-03`.
    public static func day(_ date: Date) -> String {
        let c = utc.dateComponents([.year, .month, .day], from: date)
        return "\(c.year!)-\(two(c.month!))-\(two(c.day!))"
    }

    /// `14:05`: axis labels within a day or so.
    static func clock(_ date: Date) -> String {
        let c = utc.dateComponents([.hour, .minute], from: date)
        return "\(two(c.hour!)):\(two(c.minute!))"
    }

    /// `May 3`: axis labels over several days.
    static func monthDay(_ date: Date) -> String {
        let c = utc.dateComponents([.month, .day], from: date)
        return "\(months[c.month! - 1]) \(c.day!)"
    }

    /// `999`, `1.2k`, `12k`, `345k`, `1.2M`, `3.4B`. Rounds down, so a count is never overstated
    /// (and 999,999 does not become "1000k").
    public static func compact(_ count: Int64) -> String {
        if count < 0 { return "-" + compact(count == .min ? .max : -count) }
        if count < 1000 { return String(count) }
        for (scale, suffix) in [(Int64(1_000_000_000), "B"), (1_000_000, "M"), (1000, "k")] where count >= scale {
            let whole = count / scale
            if whole >= 10 { return "\(whole)\(suffix)" }
            let tenth = (count % scale) / (scale / 10)
            return tenth == 0 ? "\(whole)\(suffix)" : "\(whole).\(tenth)\(suffix)"
        }
        return String(count)
    }

    /// `12,345`: the exact count, for a tooltip beside a compact one.
    public static func grouped(_ count: Int64) -> String {
        let digits = String(count.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return count < 0 ? "-" + out : out
    }

    /// `250 ms`, `1.5 s`, `42 s`, `3 min 20 s`, `2 h 5 min`, `3 d 4 h`: scrape durations and ages.
    public static func duration(_ duration: Duration) -> String {
        let milliseconds = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        if milliseconds < 0 { return "-" + Self.duration(.milliseconds(-milliseconds)) }
        if milliseconds < 1000 { return "\(milliseconds) ms" }
        if milliseconds < 10_000 {
            let tenths = milliseconds / 100
            return tenths % 10 == 0 ? "\(tenths / 10) s" : "\(tenths / 10).\(tenths % 10) s"
        }
        let seconds = milliseconds / 1000
        func pair(_ big: Int64, _ bigUnit: String, _ small: Int64, _ smallUnit: String) -> String {
            small == 0 ? "\(big) \(bigUnit)" : "\(big) \(bigUnit) \(small) \(smallUnit)"
        }
        switch seconds {
        case ..<60: return "\(seconds) s"
        case ..<3600: return pair(seconds / 60, "min", seconds % 60, "s")
        case ..<86400: return pair(seconds / 3600, "h", seconds % 3600 / 60, "min")
        default: return pair(seconds / 86400, "d", seconds % 86400 / 3600, "h")
        }
    }

    public static func duration(seconds: TimeInterval) -> String {
        duration(.milliseconds(Int64((seconds * 1000).rounded(.down))))
    }

    /// `14:05:30`: axis labels within minutes.
    static func clockSeconds(_ date: Date) -> String {
        let c = utc.dateComponents([.hour, .minute, .second], from: date)
        return "\(two(c.hour!)):\(two(c.minute!)):\(two(c.second!))"
    }

    /// A measured value, short and exact enough to read: integers without decimals (`12345`),
    /// others to six significant digits (`0.0166667`, `1234.57`), the very small and very large
    /// with an exponent (`1.5e-09`), and `NaN`, `+Inf`, `-Inf` as Prometheus writes them. No
    /// locale, no grouping: the text can be pasted back into a query.
    public static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        let magnitude = abs(value)
        if value == value.rounded(), magnitude < 1e15 { return String(Int64(value)) }
        if magnitude < 1e-4 || magnitude >= 1e15 {
            var exponent = Int(log10(magnitude).rounded(.down))
            var mantissa = value / pow(10, Double(exponent))
            if abs((mantissa * 1e5).rounded()) >= 1e6 {  // 9.999996 rounds to 10
                exponent += 1
                mantissa /= 10
            }
            guard mantissa.isFinite else { return "\(value)" }  // subnormal: Swift's own form
            let sign = exponent < 0 ? "-" : "+"
            let digits = String(abs(exponent))
            return fixed(mantissa, decimals: 5) + "e" + sign + (digits.count < 2 ? "0" : "") + digits
        }
        let integerDigits = magnitude < 1 ? 1 + Int(log10(magnitude).rounded(.down)) : Int(log10(magnitude).rounded(.down)) + 1
        return fixed(value, decimals: max(0, 6 - integerDigits))
    }

    /// `value` rounded to `decimals` places, trailing zeros dropped (`2.50` is `2.5`, `3.0` is `3`),
    /// without a locale and without `-0`.
    public static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return number(value) }
        let places = min(max(decimals, 0), 17)
        let scaled = (abs(value) * pow(10, Double(places))).rounded()
        guard scaled < 9e18 else { return "\(value)" }  // beyond Int64: Swift's shortest form
        var digits = String(UInt64(scaled))
        if places > 0 {
            if digits.count <= places { digits = String(repeating: "0", count: places - digits.count + 1) + digits }
            var fraction = String(digits.suffix(places))
            while fraction.hasSuffix("0") { fraction.removeLast() }
            digits = String(digits.dropLast(places)) + (fraction.isEmpty ? "" : "." + fraction)
        }
        return (value < 0 && scaled != 0 ? "-" : "") + digits
    }

    private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
