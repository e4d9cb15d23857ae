/// `time.Time.String()` in UTC, for `*time.Time` values.
enum GoTime {
    /// `2006-01-02 15:04:05.999999999 +0000 UTC`.
    static func string(_ nanoseconds: Int64) -> String {
        let (year, month, day, secondOfDay, fraction) = parts(nanoseconds)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let yearText = year < 0 ? "-" + padded(-year, 4) : padded(year, 4)
        var out = "\(yearText)-\(two(month))-\(two(day)) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))"
        if fraction > 0 {
            var digits = padded(fraction, 9)
            while digits.hasSuffix("0") { digits.removeLast() }
            out += "." + digits
        }
        return out + " +0000 UTC"
    }

    /// `time.Time.GoString()`: `time.Date(1970, time.January, 1, 0, 0, 2, 0, time.UTC)`.
    static func goString(_ nanoseconds: Int64) -> String {
        let (year, month, day, secondOfDay, fraction) = parts(nanoseconds)
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]
        let clock = "\(secondOfDay / 3600), \(secondOfDay / 60 % 60), \(secondOfDay % 60), \(fraction)"
        return "time.Date(\(year), time.\(months[Int(month) - 1]), \(day), \(clock), time.UTC)"
    }

    /// The UTC date, the second of the day and the nanoseconds past it (floored, for times before 1970 too).
    private static func parts(_ nanoseconds: Int64) -> (year: Int64, month: Int64, day: Int64, secondOfDay: Int64, fraction: Int64) {
        var seconds = nanoseconds / 1_000_000_000
        var fraction = nanoseconds % 1_000_000_000
        if fraction < 0 {
            fraction += 1_000_000_000
            seconds -= 1
        }
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = civil(days)
        return (year, month, day, secondOfDay, fraction)
    }

    private static func padded(_ n: Int64, _ width: Int) -> String {
        let text = String(n)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }

    /// Year, month and day of a day count since 1970-01-01 (proleptic Gregorian).
    static func civil(_ days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
