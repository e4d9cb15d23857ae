import Foundation
import Hummingbird
import Shared
import Testing

@testable import Hub

/// The notifier's and the silences' parts that need no Alertmanager: the queue, relabelling,
/// the checks on a new silence, the matchers for the pages.
@Suite struct AlertmanagerUnitTests {
    static func alert(_ name: String) -> PostableAlert {
        PostableAlert(labels: ["alertname": name], annotations: [:], startsAt: Date(), endsAt: nil, generatorURL: "")
    }

    static func names(_ alerts: [PostableAlert]) -> [String] { alerts.compactMap { $0.labels["alertname"] } }

    @Test func queueDropsTheOldestWhenFullAndBatches() {
        var queue = AlertQueue(capacity: 3)
        #expect(queue.append([Self.alert("a"), Self.alert("b")]) == 0)
        #expect(queue.append([Self.alert("c"), Self.alert("d")]) == 1)
        #expect(Self.names(queue.next(limit: 10)) == ["b", "c", "d"])
        // More than fit at all: only the newest stay.
        #expect(queue.append((1...5).map { Self.alert("\($0)") }) == 2)
        #expect(Self.names(queue.next(limit: 2)) == ["3", "4"])
        #expect(Self.names(queue.next(limit: 2)) == ["5"])
        #expect(queue.next(limit: 2).isEmpty)
        #expect(queue.count == 0)
    }

    @Test func relabellingDropsAndRewritesAsPrometheus() throws {
        let relabeler = try Relabeler([
            RelabelConfig(sourceLabels: ["severity"], regex: "debug", action: .drop),
            RelabelConfig(regex: "replica", action: .labeldrop),
        ])
        var noisy = Self.alert("Noise")
        noisy.labels["severity"] = "debug"
        var kept = Self.alert("Kept")
        kept.labels["replica"] = "a"
        let relabelled = Notifier.relabel([noisy, kept], relabeler)
        #expect(relabelled.map(\.labels) == [["alertname": "Kept"]])
        #expect(Notifier.relabel([noisy], try Relabeler([])) == [noisy])
        // Left without labels: Alertmanager would refuse the batch it is in.
        #expect(Notifier.relabel([kept], try Relabeler([RelabelConfig(regex: ".*", action: .labeldrop)])).isEmpty)
    }

    @Test func alertmanagerNamesComeFromTheAlertsURL() {
        let settings = ScrapeSettings(interval: .seconds(10), timeout: .seconds(10), bodySizeLimit: 1)
        let prefixed = Alertmanager(set: "alertmanagers[0]", alertsURL: "https://am:9093/prefix/api/v2/alerts", settings: settings)
        #expect(prefixed.apiURL == "https://am:9093/prefix/api/v2")
        #expect(prefixed.url == "https://am:9093/prefix")
    }

    @Test func matchersForAGroupAndForAnAlert() {
        let group = SilenceMatcher.group(team: "payments", service: "checkout", aggregationKey: "card declined")
        #expect(group.map { "\($0.name)=\($0.value)" } == ["team=payments", "service=checkout", "aggregation_key=card declined"])
        #expect(group.allSatisfy { $0.isEqual && !$0.isRegex })
        let alert = SilenceMatcher.alert(labels: ["severity": "page", "alertname": "CanopyBurst", "team": "payments"])
        let expected = [
            SilenceMatcher(name: "alertname", value: "CanopyBurst"), SilenceMatcher(name: "severity", value: "page"),
            SilenceMatcher(name: "team", value: "payments"),
        ]
        #expect(alert == expected)
    }

    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func parse(_ json: String) throws(HTTPError) -> PostableSilence {
        try SilenceRequest.parse(Data(json.utf8), now: now)
    }

    static func refusal(_ json: String) -> String? {
        do {
            _ = try parse(json)
            return nil
        } catch {
            #expect(error.status == .badRequest)
            return error.body
        }
    }

    @Test func aSilenceHasADurationOrAnEnd() throws {
        let matchers = #""matchers": [{"name": "team", "value": "payments"}, {"name": "env", "value": "dev", "isEqual": false}]"#
        let hour = try Self.parse(#"{\#(matchers), "duration": "1h30m", "comment": " deploy ", "createdBy": "ann"}"#)
        #expect(hour.startsAt == Self.now)
        #expect(hour.endsAt == Self.now.addingTimeInterval(5400))
        #expect(hour.comment == "deploy")
        #expect(hour.matchers == [SilenceMatcher(name: "team", value: "payments"), SilenceMatcher(name: "env", value: "dev", isEqual: false)])
        let until = try Self.parse(#"{\#(matchers), "startsAt": "2027-01-15T08:00:00Z", "endsAt": "2027-01-15T10:00:00Z", "comment": "c", "createdBy": "ann"}"#)
        #expect(until.startsAt == CanopyJSON.parse("2027-01-15T08:00:00Z"))
        #expect(until.endsAt == CanopyJSON.parse("2027-01-15T10:00:00Z"))
        // A year at most.
        #expect(try Self.parse(#"{\#(matchers), "duration": "365d", "comment": "c", "createdBy": "ann"}"#).endsAt == Self.now.addingTimeInterval(365 * 86400))
    }

    @Test func badSilencesSayWhatIsWrong() {
        let matchers = #""matchers": [{"name": "team", "value": "payments"}]"#
        let cases: [(String, String)] = [
            (#"{\#(matchers), "duration": "1h", "endsAt": "2027-01-15T10:00:00Z", "comment": "c", "createdBy": "a"}"#, "give duration or endsAt, not both"),
            (#"{\#(matchers), "duration": "soon", "comment": "c", "createdBy": "a"}"#, "duration: not a duration"),
            (#"{\#(matchers), "duration": "366d", "comment": "c", "createdBy": "a"}"#, "at most 365d"),
            (#"{\#(matchers), "startsAt": "2027-01-01T00:00:00Z", "endsAt": "2029-01-01T00:00:00Z", "comment": "c", "createdBy": "a"}"#, "at most 365d"),
            (#"{\#(matchers), "endsAt": "2020-01-01T00:00:00Z", "comment": "c", "createdBy": "a"}"#, "must be after startsAt"),
            (#"{\#(matchers), "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2020-02-01T00:00:00Z", "comment": "c", "createdBy": "a"}"#, "is in the past"),
            (#"{\#(matchers), "endsAt": "tomorrow", "comment": "c", "createdBy": "a"}"#, "endsAt must be an RFC 3339 time, not tomorrow"),
            (#"{\#(matchers), "duration": "1h", "comment": "  ", "createdBy": "a"}"#, "comment is required"),
            (#"{"matchers": [{"name": "team", "value": ""}], "duration": "1h", "comment": "c", "createdBy": "a"}"#, "at least one must not match the empty string"),
            (#"{"matchers": [{"name": "team", "value": ".*", "isRegex": true}], "duration": "1h", "comment": "c", "createdBy": "a"}"#, "at least one must not match the empty string"),
            (#"{"matchers": [{"name": "team", "value": "x", "isEqual": false}], "duration": "1h", "comment": "c", "createdBy": "a"}"#, "at least one must not match the empty string"),
            (#"{"matchers": [{"name": "team", "value": "a(", "isRegex": true}], "duration": "1h", "comment": "c", "createdBy": "a"}"#, "not a valid regular expression"),
            (#"{"matchers": [{"value": "x"}], "duration": "1h", "comment": "c", "createdBy": "a"}"#, "body must be JSON"),
        ]
        for (json, expected) in cases {
            let message = Self.refusal(json)
            #expect(message?.contains(expected) == true, "\(json): \(message ?? "accepted")")
        }
    }
}
