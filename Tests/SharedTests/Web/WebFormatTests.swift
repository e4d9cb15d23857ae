import Foundation
import Testing

@testable import Shared

@Suite struct WebFormatTests {
    let now = WebFixtures.now

    @Test func relativeTimes() {
        func ago(_ seconds: Double) -> String { WebFormat.relative(now.addingTimeInterval(-seconds), now: now) }
        #expect(ago(0) == "just now")
        #expect(ago(9) == "just now")
        #expect(ago(42) == "42 s ago")
        #expect(ago(180) == "3 min ago")
        #expect(ago(3599) == "59 min ago")
        #expect(ago(5 * 3600 + 100) == "5 h ago")
        #expect(ago(12 * 86400) == "12 d ago")
        #expect(ago(-180) == "in 3 min")
        #expect(ago(90 * 86400) == "2025-02-02")
    }

    @Test func absoluteTimesAreUTC() {
        let date = Date(timeIntervalSince1970: 1_746_281_105.9)  // 14:05:05.9 UTC
        #expect(WebFormat.absolute(date) == "2025-05-03 14:05:05 UTC")
        #expect(WebFormat.datetime(date) == "2025-05-03T14:05:05Z")
        #expect(WebFormat.day(Date(timeIntervalSince1970: 0)) == "1970-01-01")
        #expect(
            TimeView(date, now: now)
                == TimeView(known: true, datetime: "2025-05-03T14:05:05Z", relative: "in 5 min", absolute: "2025-05-03 14:05:05 UTC")
        )
    }

    @Test func compactCounts() {
        let cases: [(Int64, String)] = [
            (0, "0"), (999, "999"), (1000, "1k"), (1234, "1.2k"), (1999, "1.9k"), (12_345, "12k"), (999_999, "999k"),
            (1_000_000, "1M"), (3_456_789, "3.4M"), (12_000_000_000, "12B"), (-1500, "-1.5k"), (.max, "9223372036B"),
        ]
        for (count, text) in cases { #expect(WebFormat.compact(count) == text, "\(count)") }
    }

    @Test func groupedCounts() {
        #expect(WebFormat.grouped(0) == "0")
        #expect(WebFormat.grouped(999) == "999")
        #expect(WebFormat.grouped(1000) == "1,000")
        #expect(WebFormat.grouped(1_234_567) == "1,234,567")
        #expect(WebFormat.grouped(-12_345) == "-12,345")
        #expect(CountView(12_345) == CountView(compact: "12k", exact: "12,345"))
    }

    @Test func durations() {
        #expect(WebFormat.duration(.milliseconds(0)) == "0 ms")
        #expect(WebFormat.duration(.milliseconds(250)) == "250 ms")
        #expect(WebFormat.duration(.milliseconds(1500)) == "1.5 s")
        #expect(WebFormat.duration(.seconds(2)) == "2 s")
        #expect(WebFormat.duration(.seconds(42)) == "42 s")
        #expect(WebFormat.duration(.seconds(200)) == "3 min 20 s")
        #expect(WebFormat.duration(.seconds(180)) == "3 min")
        #expect(WebFormat.duration(.seconds(7500)) == "2 h 5 min")
        #expect(WebFormat.duration(.seconds(3 * 86400 + 4 * 3600 + 5)) == "3 d 4 h")
        #expect(WebFormat.duration(seconds: 0.0123) == "12 ms")
    }
}

extension CountView {
    init(compact: String, exact: String) {
        self.init(0)
        self.compact = compact
        self.exact = exact
    }
}
