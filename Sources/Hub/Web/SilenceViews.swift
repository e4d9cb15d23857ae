import Foundation
import PromQL
import Shared

/// "Silence for 1 h / 24 h / until …": a form posting to `/api/v1/silences` (a write form, so a
/// token is asked for when the hub needs one) with the matchers of one alert or one group, a
/// comment and who silences; back on the same page afterwards.
struct SilenceFormView: Sendable {
    struct Matcher: Sendable {
        let field: String
    }

    let idPrefix: String
    let matchers: [Matcher]
    let summary: String
    let returnPath: String
    /// Two hours from now, in the form the `datetime-local` input takes (UTC).
    let untilDefault: String

    init(_ matchers: [SilenceMatcher], id: String, summary: String, returnPath: String, now: Date) {
        idPrefix = id
        self.matchers = matchers.map { Matcher(field: "\($0.name)=\($0.value)") }
        self.summary = summary
        self.returnPath = returnPath
        untilDefault = String(Self.utcMinutes.string(from: now.addingTimeInterval(7200)))
    }

    private static let utcMinutes: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm"
        return formatter
    }()
}

/// A silence in force on an alert: who made it, until when, and why.
struct SilencedView: Sendable {
    let createdBy: String
    let until: TimeView
    let comment: String
    let id: String
}

extension Silences {
    /// The active silences of every Alertmanager, or nil without Alertmanagers; Alertmanagers
    /// that fail are left out (the page says so).
    func active() async -> (silences: [GettableSilence], failures: [String])? {
        guard let outcomes = await list() else { return nil }
        var silences: [GettableSilence] = []
        var failures: [String] = []
        for outcome in outcomes {
            switch outcome.result {
            case .success(let listed): silences += listed.filter { $0.status.state == "active" }
            case .failure(let error): failures.append("\(outcome.alertmanager): \(error)")
            }
        }
        return (silences, failures)
    }
}

extension GettableSilence {
    /// Whether the silence silences an alert with `labels`, as Alertmanager matches it.
    func silences(_ labels: [String: String]) -> Bool {
        matchers.allSatisfy { matcher in (try? matcher.labelMatcher().matches(labels[matcher.name] ?? "")) ?? false }
    }
}
