/// A PromQL duration such as `1h30m`, held as whole milliseconds, PromQL's finest unit. Offsets
/// may be negative; ranges and steps are positive.
public struct PromDuration: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var milliseconds: Int64

    public init(milliseconds: Int64) {
        self.milliseconds = milliseconds
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.milliseconds < rhs.milliseconds }

    /// The units in the order a duration must use them, each at most once. A year is 365 days, a
    /// week 7 days, a day 24 hours, as Prometheus counts them.
    static let units: [(name: String, milliseconds: Int64)] = [
        ("y", 365 * 24 * 3_600_000), ("w", 7 * 24 * 3_600_000), ("d", 24 * 3_600_000),
        ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1),
    ]

    /// The largest duration Prometheus accepts: Go's `time.Duration` counts nanoseconds in an Int64.
    static let maximumMilliseconds: Int64 = Int64.max / 1_000_000

    /// Parses a duration as Prometheus's `model.ParseDuration` does, with its error messages:
    /// digits and a unit, repeated, units from largest to smallest, `ms` for milliseconds.
    public static func parse(_ text: String) throws(DurationError) -> PromDuration {
        if text == "0" { return PromDuration(milliseconds: 0) }
        if text.isEmpty { throw DurationError(message: "empty duration string") }
        let invalid = DurationError(message: "not a valid duration string: \(GoText.quote(text))")
        let bytes = Array(text.utf8)
        var index = 0
        var nextUnit = 0
        var total: Int64 = 0
        var outOfRange = false
        while index < bytes.count {
            var count: Int64 = 0
            let digitsStart = index
            while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
                // Saturates: an absurdly long number is out of range, not a crash.
                let (times10, overflow1) = count.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(Int64(bytes[index] - UInt8(ascii: "0")))
                count = overflow1 || overflow2 ? Int64.max : sum
                index += 1
            }
            if index == digitsStart || index == bytes.count { throw invalid }
            var unitName = String(UnicodeScalar(bytes[index]))
            index += 1
            if unitName == "m", index < bytes.count, bytes[index] == UInt8(ascii: "s") {
                unitName = "ms"
                index += 1
            }
            guard let unitIndex = units.firstIndex(where: { $0.name == unitName }), unitIndex >= nextUnit else {
                throw invalid
            }
            nextUnit = unitIndex + 1
            let (product, overflow1) = count.multipliedReportingOverflow(by: units[unitIndex].milliseconds)
            let (sum, overflow2) = total.addingReportingOverflow(product)
            if overflow1 || overflow2 || sum > maximumMilliseconds { outOfRange = true }
            total = overflow1 || overflow2 ? Int64.max : sum
        }
        if outOfRange { throw DurationError(message: "duration out of range") }
        return PromDuration(milliseconds: total)
    }

    /// Prometheus's canonical form (`model.Duration.String`): `90m` prints as `1h30m`; years and
    /// weeks only when they divide the duration exactly, so 90 days stay `90d`. Negative
    /// durations get a leading `-`.
    public var description: String {
        if milliseconds == 0 { return "0s" }
        if milliseconds < 0 {
            return "-" + PromDuration(milliseconds: milliseconds == Int64.min ? Int64.max : -milliseconds).description
        }
        var rest = milliseconds
        var out = ""
        for (index, unit) in Self.units.enumerated() {
            if index < 2, rest % unit.milliseconds != 0 { continue }
            let count = rest / unit.milliseconds
            if count > 0 {
                out += "\(count)\(unit.name)"
                rest -= count * unit.milliseconds
            }
        }
        return out
    }
}

/// Why a duration's text was rejected.
public struct DurationError: Error, Sendable, Hashable {
    public var message: String
}
