import Foundation
import PromQL
import Shared

/// One matcher of a silence, as Alertmanager's v2 API writes it.
struct SilenceMatcher: Codable, Sendable, Equatable {
    var name: String
    var value: String
    var isRegex: Bool
    /// False for `!=` and `!~`. Alertmanager takes a missing one as true.
    var isEqual: Bool

    init(name: String, value: String, isRegex: Bool = false, isEqual: Bool = true) {
        self.name = name
        self.value = value
        self.isRegex = isRegex
        self.isEqual = isEqual
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        value = try container.decode(String.self, forKey: .value)
        isRegex = try container.decodeIfPresent(Bool.self, forKey: .isRegex) ?? false
        isEqual = try container.decodeIfPresent(Bool.self, forKey: .isEqual) ?? true
    }

    /// The matcher as PromQL's, which matches label values as Alertmanager does.
    func labelMatcher() throws(RegexError) -> LabelMatcher {
        let type: LabelMatcher.MatchType = isRegex ? (isEqual ? .regexMatch : .regexNoMatch) : (isEqual ? .equal : .notEqual)
        return try LabelMatcher(type, name: name, value: value)
    }

    /// A silence of one exception group: its team, service and aggregation key equal (the labels
    /// every alert about the group carries).
    static func group(team: String, service: String, aggregationKey: String) -> [SilenceMatcher] {
        [
            SilenceMatcher(name: "team", value: team), SilenceMatcher(name: "service", value: service),
            SilenceMatcher(name: "aggregation_key", value: aggregationKey),
        ]
    }

    /// A silence of one alert: every one of its labels equal, in name order.
    static func alert(labels: [String: String]) -> [SilenceMatcher] {
        labels.sorted { $0.key < $1.key }.map { SilenceMatcher(name: $0.key, value: $0.value) }
    }
}

/// A new silence, as `POST /api/v2/silences` takes it.
struct PostableSilence: Codable, Sendable, Equatable {
    var matchers: [SilenceMatcher]
    var startsAt: Date
    var endsAt: Date
    var createdBy: String
    var comment: String
}

/// A silence as `GET /api/v2/silences` gives it.
struct GettableSilence: Codable, Sendable, Equatable {
    struct Status: Codable, Sendable, Equatable {
        /// `active`, `pending` or `expired`.
        var state: String
    }
    var id: String
    var status: Status
    var updatedAt: Date?
    var matchers: [SilenceMatcher]
    var startsAt: Date
    var endsAt: Date
    var createdBy: String
    var comment: String
}

/// Silences live in the Alertmanagers. The hub makes each one in every Alertmanager it sends
/// alerts to, lists theirs merged, and expires them wherever they are; each answer says which
/// Alertmanager it is from, a failure included.
struct Silences: Sendable {
    /// The Alertmanagers discovered now and the client to reach them; nil when there are none to
    /// reach (no `alerting.alertmanagers`, or the notifier is not running).
    let alertmanagers: @Sendable () -> (targets: [Alertmanager], client: AlertmanagerClient)?

    struct Outcome<Value: Sendable>: Sendable {
        var alertmanager: String
        var result: Result<Value, AlertmanagerError>
    }

    func create(_ silence: PostableSilence) async -> [Outcome<String>]? {
        await each { (client, alertmanager) async throws(AlertmanagerError) in try await client.create(silence, in: alertmanager) }
    }

    /// Every Alertmanager's silences, expired ones included.
    func list() async -> [Outcome<[GettableSilence]>]? {
        await each { (client, alertmanager) async throws(AlertmanagerError) in try await client.silences(in: alertmanager) }
    }

    /// Whether each had a silence of that id (which it then expired).
    func expire(id: String) async -> [Outcome<Bool>]? {
        await each { (client, alertmanager) async throws(AlertmanagerError) in try await client.expire(id: id, in: alertmanager) }
    }

    /// `call` on every Alertmanager at once (one that is down costs its timeout, not the others'),
    /// once per Alertmanager even when two `alertmanagers` entries find the same; nil when there is none.
    private func each<Value: Sendable>(
        _ call: @escaping @Sendable (AlertmanagerClient, Alertmanager) async throws(AlertmanagerError) -> Value
    ) async -> [Outcome<Value>]? {
        guard let (targets, client) = alertmanagers(), !targets.isEmpty else { return nil }
        var seen: Set<String> = []
        let unique = targets.filter { seen.insert($0.url).inserted }
        return await withTaskGroup(of: (Int, Outcome<Value>).self) { group in
            for (index, alertmanager) in unique.enumerated() {
                group.addTask {
                    do throws(AlertmanagerError) {
                        return (index, Outcome(alertmanager: alertmanager.url, result: .success(try await call(client, alertmanager))))
                    } catch {
                        return (index, Outcome(alertmanager: alertmanager.url, result: .failure(error)))
                    }
                }
            }
            var outcomes: [(Int, Outcome<Value>)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }
}
