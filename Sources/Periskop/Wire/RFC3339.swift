import Foundation

/// RFC 3339 timestamps as Periskop clients write them, parsed and printed by hand:
/// `ISO8601DateFormatter` is slow and drops fractional seconds, and sample times must keep them.
///
/// Precision is the microsecond: parsing truncates finer digits, and printing writes milliseconds,
/// or microseconds when the time has any, so that print-then-parse gives back the same `Date`.
public enum RFC3339 {
    /// Parses `2021-09-03T13:58:15.932289427Z`, `2018-01-02T11:22:33.000+01:00`, `2020-02-17T22:42:45Z`
    /// and the like (`T`, `t` or a space between date and time; no offset is read as UTC).
    /// Nil when the text is not such a timestamp.
    public static func date(from string: some StringProtocol) -> Date? {
        var text = String(string)
        return text.withUTF8 { instant(of: $0)?.date }
    }

    /// Prints UTC with milliseconds (`2021-09-03T13:58:15.932Z`), or with microseconds when the time
    /// has any, the canonical form of the wire format.
    public static func string(from date: Date) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(27)
        append(date, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Internals shared with the decoder and encoder

    /// A point in time as whole Unix seconds and microseconds, the precision the wire format keeps.
    struct Instant: Equatable {
        var unixSeconds: Int64
        var microseconds: Int64

        /// Go's zero time, which the Periskop server writes where a client sent no `created_at`.
        static let goZero = Instant(unixSeconds: -62_135_596_800, microseconds: 0)
        /// 9999-12-31T23:59:59Z: the last second a four-digit year can print.
        static let maxUnixSeconds: Int64 = 253_402_300_799
        static let minUnixSeconds: Int64 = -62_135_596_800

        var date: Date {
            Date(timeIntervalSinceReferenceDate: Double(unixSeconds - 978_307_200) + Double(microseconds) / 1_000_000)
        }

        init(unixSeconds: Int64, microseconds: Int64) {
            self.unixSeconds = unixSeconds
            self.microseconds = microseconds
        }

        init(_ date: Date) {
            var interval = date.timeIntervalSinceReferenceDate
            if !interval.isFinite { interval = 0 }
            // Clamp to what four-digit years can show; only hand-made dates reach the edges.
            interval = min(max(interval, Double(Self.minUnixSeconds - 978_307_200)), Double(Self.maxUnixSeconds - 978_307_200))
            var whole = interval.rounded(.down)
            var micros = Int64(((interval - whole) * 1_000_000).rounded())
            if micros >= 1_000_000 {
                whole += 1
                micros -= 1_000_000
            }
            self.unixSeconds = Int64(whole) + 978_307_200
            self.microseconds = micros
        }

        /// Unix seconds as the Periskop server writes them, a JSON number, maybe with a fraction.
        init?(unixSeconds value: Double) {
            guard value.isFinite, value >= Double(Self.minUnixSeconds), value <= Double(Self.maxUnixSeconds) else { return nil }
            var whole = value.rounded(.down)
            var micros = Int64(((value - whole) * 1_000_000).rounded())
            if micros >= 1_000_000 {
                whole += 1
                micros -= 1_000_000
            }
            self.unixSeconds = Int64(whole)
            self.microseconds = micros
        }
    }

    static func instant(of text: UnsafeBufferPointer<UInt8>) -> Instant? {
        let count = text.count
        guard count >= 19 else { return nil }
        @inline(__always) func digit(_ index: Int) -> Int64? {
            let value = Int64(text[index]) - 48
            return value >= 0 && value <= 9 ? value : nil
        }
        @inline(__always) func number(_ start: Int, _ length: Int) -> Int64? {
            var value: Int64 = 0
            for index in start..<(start + length) {
                guard let d = digit(index) else { return nil }
                value = value * 10 + d
            }
            return value
        }
        guard let year = number(0, 4), text[4] == UInt8(ascii: "-"),
            let month = number(5, 2), text[7] == UInt8(ascii: "-"),
            let day = number(8, 2),
            text[10] == UInt8(ascii: "T") || text[10] == UInt8(ascii: "t") || text[10] == UInt8(ascii: " "),
            let hour = number(11, 2), text[13] == UInt8(ascii: ":"),
            let minute = number(14, 2), text[16] == UInt8(ascii: ":"),
            let second = number(17, 2)
        else { return nil }
        guard year >= 1, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year),
            hour <= 23, minute <= 59, second <= 60
        else { return nil }

        var index = 19
        var micros: Int64 = 0
        if index < count, text[index] == UInt8(ascii: ".") || text[index] == UInt8(ascii: ",") {
            index += 1
            var digits = 0
            while index < count, let d = digit(index) {
                if digits < 6 { micros = micros * 10 + d }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            for _ in min(digits, 6)..<6 { micros *= 10 }
        }

        var offsetSeconds: Int64 = 0
        if index < count {
            switch text[index] {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                index += 1
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                let sign: Int64 = text[index] == UInt8(ascii: "-") ? -1 : 1
                index += 1
                guard index + 2 <= count, let offsetHours = number(index, 2) else { return nil }
                index += 2
                if index < count, text[index] == UInt8(ascii: ":") { index += 1 }
                guard index + 2 <= count, let offsetMinutes = number(index, 2) else { return nil }
                index += 2
                guard offsetHours <= 23, offsetMinutes <= 59 else { return nil }
                offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
            default:
                return nil
            }
        }
        guard index == count else { return nil }

        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Instant(unixSeconds: seconds, microseconds: micros)
    }

    /// Appends what `string(from:)` prints, for writers that build JSON bytes.
    public static func append(_ date: Date, to out: inout [UInt8]) {
        let instant = Instant(date)
        var days = instant.unixSeconds / 86_400
        var secondOfDay = instant.unixSeconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = civilFromDays(days)
        @inline(__always) func put(_ value: Int64, width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(48 + (rest / divisor) % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        put(year, width: 4)
        out.append(UInt8(ascii: "-"))
        put(month, width: 2)
        out.append(UInt8(ascii: "-"))
        put(day, width: 2)
        out.append(UInt8(ascii: "T"))
        put(secondOfDay / 3600, width: 2)
        out.append(UInt8(ascii: ":"))
        put(secondOfDay / 60 % 60, width: 2)
        out.append(UInt8(ascii: ":"))
        put(secondOfDay % 60, width: 2)
        out.append(UInt8(ascii: "."))
        if instant.microseconds % 1000 == 0 {
            put(instant.microseconds / 1000, width: 3)
        } else {
            put(instant.microseconds, width: 6)
        }
        out.append(UInt8(ascii: "Z"))
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's days_from_civil and civil_from_days: exact for the proleptic Gregorian calendar.
    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (month <= 2 ? yearOfEra + era * 400 + 1 : yearOfEra + era * 400, month, day)
    }
}
