import Foundation

/// Splits a time range of the history into the minutes at its ends, read from `group_counts`, and
/// the whole UTC hours between them, read from `group_counts_hourly`: a day of a group is then at
/// most 24 hourly rows and 120 minute rows instead of 1,440 minute rows. The hourly rows are kept
/// in the same transaction as the minute rows, so the current hour's row is as fresh as its minutes.
struct HistorySplit: Sendable, Equatable {
    /// Minutes in `[from, hoursFrom)` and `[hoursTo, to)`; hours in `[hoursFrom, hoursTo)`.
    var from: Date
    var hoursFrom: Date
    var hoursTo: Date
    var to: Date

    /// `hours: false` reads minutes only (a step that is not a whole number of hours).
    init(from: Date, to: Date, hours: Bool = true) {
        self.from = from
        self.to = to
        let firstHour = Date(timeIntervalSince1970: (from.timeIntervalSince1970 / 3600).rounded(.up) * 3600)
        let lastHour = Date(timeIntervalSince1970: (to.timeIntervalSince1970 / 3600).rounded(.down) * 3600)
        if hours && firstHour < lastHour {
            hoursFrom = firstHour
            hoursTo = lastHour
        } else {
            hoursFrom = to
            hoursTo = to
        }
    }

    /// The last `window` up to now: minutes since its start up to the first whole hour, then every
    /// hour from there on, the current one included.
    static func window(_ window: Duration, now: Date) -> HistorySplit {
        // An hour past now, so that the current hour is read from the rollup.
        HistorySplit(from: now.addingTimeInterval(-Double(window.components.seconds)), to: now.addingTimeInterval(3600))
    }
}
