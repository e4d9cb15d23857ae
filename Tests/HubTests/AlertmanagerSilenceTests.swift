import CanopyTestSupport
import Foundation
import Shared
import Testing

@testable import Hub

/// Silences made, listed and expired through the hub's `/api/v1/silences`, in real Alertmanagers.
@Suite struct AlertmanagerSilenceTests {
    static let token = "s3cret"

    static func staticConfig(_ addresses: [String]) -> String {
        "alertmanagers: [{static_configs: [{targets: [\(addresses.map { "'\($0)'" }.joined(separator: ", "))]}]}]"
    }

    /// The body of a silence of one group for an hour.
    static let groupSilence = """
        {"matchers": [{"name": "team", "value": "payments", "isRegex": false, "isEqual": true},
                      {"name": "service", "value": "checkout"}, {"name": "aggregation_key", "value": "card declined"}],
         "duration": "1h", "comment": "known, fix deploying", "createdBy": "ann"}
        """

    static let groupLabels = ["team": "payments", "service": "checkout", "aggregation_key": "card declined"]

    /// The `data.silences` of an answer.
    static func silences(_ body: String) throws -> [[String: Any]] {
        try #require((try jsonObject(body)["data"] as? [String: Any])?["silences"] as? [[String: Any]])
    }

    /// The pages' form: matchers as `name=value` fields, a duration or a time, and back to the page.
    @Test func aFormMakesTheSilenceAndGoesBack() async throws {
        try await AlertmanagerServer.withRunning(1) { running in
            let alertmanager = running[0].alertmanager
            try await AlertingHub.with(alerting: Self.staticConfig([alertmanager.address])) { hub in
                try await hub.waitForAlertmanagers(1)
                let form = ["team=payments", "service=checkout", "aggregation_key=a=b c"].map { "matcher=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") }
                    .joined(separator: "&") + "&duration=24h&comment=deploying+a+fix&created_by=ann&return=%2Fgraph%3Fexpr%3Dup"
                let headers = ["Content-Type": "application/x-www-form-urlencoded"]
                let made = try await hub.api.request("/api/v1/silences", method: .POST, body: form, headers: headers)
                // Sent back (the client follows the 303) to the page it came from.
                #expect(made.status == 200 && made.body.contains("name=\"expr\""), "\(made.status) \(made.body.prefix(300))")
                let stored = try #require(try await alertmanager.silences().first)
                #expect(stored["comment"] as? String == "deploying a fix" && stored["createdBy"] as? String == "ann")
                let matchers = (stored["matchers"] as? [[String: Any]] ?? []).map { "\($0["name"] ?? "")=\($0["value"] ?? "")" }.sorted()
                #expect(matchers == ["aggregation_key=a=b c", "service=checkout", "team=payments"])
                // Until a time (UTC), and never back to another site.
                let local = Date().addingTimeInterval(2 * 86400).formatted(
                    .iso8601.year().month().day().dateTimeSeparator(.standard).time(includingFractionalSeconds: false).timeZone(separator: .omitted))
                let minute = String(local.prefix(16))  // what a datetime-local input sends: 2026-12-03T18:04
                let until = "matcher=team%3Dpayments&duration=until&until=\(minute.replacingOccurrences(of: ":", with: "%3A"))&comment=x&created_by=ann&return=%2F%2Fevil.example"
                let back = try await hub.api.request("/api/v1/silences", method: .POST, body: until, headers: headers)
                #expect(back.status == 200 && back.body.contains("<h1>Alerts"), "to /alerts: \(back.body.prefix(300))")
                let later = try #require(try await alertmanager.silences().first { ($0["endsAt"] as? String)?.hasPrefix(minute) == true })
                #expect(later["createdBy"] as? String == "ann")
                // A form without a comment is refused with the reason.
                let bad = try await hub.api.request(
                    "/api/v1/silences", method: .POST, body: "matcher=team%3Dpayments&duration=1h&created_by=ann", headers: headers)
                #expect(bad.status == 400 && bad.body.contains("comment is required"), "\(bad.body)")
            }
        }
    }

    @Test func silenceIsMadeListedSilencesItsAlertAndExpires() async throws {
        try await AlertmanagerServer.withRunning(1) { running in
            let (alertmanager, webhook) = running[0]
            try await AlertingHub.with(alerting: Self.staticConfig([alertmanager.address]), token: Self.token) { hub in
                try await hub.waitForAlertmanagers(1)
                let denied = try await hub.post("/api/v1/silences", json: Self.groupSilence)
                #expect(denied.status == 401)
                #expect(try await alertmanager.silences().isEmpty)

                let created = try await hub.post("/api/v1/silences", json: Self.groupSilence, token: Self.token)
                #expect(created.status == 200, "\(created.body)")
                #expect(try jsonObject(created.body)["status"] as? String == "success")
                let made = try Self.silences(created.body)
                #expect(made.count == 1)
                #expect(made.first?["alertmanager"] as? String == alertmanager.base)
                let id = try #require(made.first?["id"] as? String)

                // In Alertmanager, as asked.
                let stored = try #require(try await alertmanager.silences().first { $0["id"] as? String == id })
                #expect((stored["status"] as? [String: Any])?["state"] as? String == "active")
                #expect(stored["createdBy"] as? String == "ann")
                #expect(stored["comment"] as? String == "known, fix deploying")
                let matchers = (stored["matchers"] as? [[String: Any]] ?? []).map { "\($0["name"] ?? "")=\($0["value"] ?? "") \($0["isEqual"] ?? "") \($0["isRegex"] ?? "")" }
                #expect(matchers.sorted() == ["aggregation_key=card declined 1 0", "service=checkout 1 0", "team=payments 1 0"])
                if let starts = (stored["startsAt"] as? String).flatMap(CanopyJSON.parse), let ends = (stored["endsAt"] as? String).flatMap(CanopyJSON.parse) {
                    #expect(abs(ends.timeIntervalSince(starts) - 3600) < 5)
                } else {
                    Issue.record("the silence has no times: \(stored)")
                }

                // Listed by the hub, with its Alertmanager.
                let listed = try Self.silences(try await hub.api.get("/api/v1/silences").body)
                #expect(listed.map { $0["id"] as? String } == [id])
                #expect(listed.first?["alertmanager"] as? String == alertmanager.base)
                #expect(listed.first?["comment"] as? String == "known, fix deploying")

                // A matching alert is suppressed by it; one of another group goes through.
                try hub.sender.send([
                    firingAlert("CanopyBurst", labels: Self.groupLabels),
                    firingAlert("CanopyBurst", labels: ["team": "payments", "service": "ledger", "aggregation_key": "timeout"]),
                ])
                try await expectEventually { webhook.alerts(named: "CanopyBurst").contains { $0.labels["service"] == "ledger" } }
                let inAlertmanager = try await alertmanager.alerts()
                let silenced = try #require(inAlertmanager.first { ($0["labels"] as? [String: String])?["service"] == "checkout" })
                let status = try #require(silenced["status"] as? [String: Any])
                #expect(status["state"] as? String == "suppressed")
                #expect(status["silencedBy"] as? [String] == [id])
                #expect(!webhook.alerts(named: "CanopyBurst").contains { $0.labels["service"] == "checkout" })

                // Expired: needs the token too; then Alertmanager lets the alert through.
                #expect(try await hub.delete("/api/v1/silences/\(id)").status == 401)
                let expired = try await hub.delete("/api/v1/silences/\(id)", token: Self.token)
                #expect(expired.status == 200, "\(expired.body)")
                let expiredIn = (try jsonObject(expired.body)["data"] as? [String: Any])?["expired"] as? [[String: Any]]
                #expect(expiredIn?.map { $0["alertmanager"] as? String } == [alertmanager.base])
                let after = try #require(try await alertmanager.silences().first { $0["id"] as? String == id })
                #expect((after["status"] as? [String: Any])?["state"] as? String == "expired")
                #expect(try Self.silences(try await hub.api.get("/api/v1/silences").body).isEmpty)
                try await expectEventually("the alert was not let through once its silence expired") {
                    webhook.alerts(named: "CanopyBurst").contains { $0.labels["service"] == "checkout" }
                }
                let unknown = try await hub.delete("/api/v1/silences/\(UUID().uuidString.lowercased())", token: Self.token)
                #expect(unknown.status == 404, "\(unknown.body)")
            }
        }
    }

    /// Two Alertmanagers (not a cluster): both get every alert, each its own copy of a silence.
    @Test func twoAlertmanagersBothGetAlertsAndSilences() async throws {
        try await AlertmanagerServer.withRunning(2) { running in
            let bases = running.map(\.alertmanager.base)
            try await AlertingHub.with(alerting: Self.staticConfig(running.map(\.alertmanager.address))) { hub in
                try await hub.waitForAlertmanagers(2)
                try hub.sender.send([firingAlert("LeafDown", labels: ["leaf": "payments"])])
                for (_, webhook) in running {
                    try await expectEventually { !webhook.alerts(named: "LeafDown").isEmpty }
                }

                let created = try await hub.post("/api/v1/silences", json: Self.groupSilence)
                #expect(created.status == 200, "\(created.body)")
                let made = try Self.silences(created.body)
                #expect(Set(made.compactMap { $0["alertmanager"] as? String }) == Set(bases))
                let ids = made.compactMap { $0["id"] as? String }
                #expect(Set(ids).count == 2)
                for (alertmanager, _) in running {
                    let theirs = try await alertmanager.silences().compactMap { $0["id"] as? String }
                    #expect(theirs.count == 1 && ids.contains(theirs[0]))
                }
                let listed = try Self.silences(try await hub.api.get("/api/v1/silences").body)
                #expect(Set(listed.compactMap { $0["id"] as? String }) == Set(ids))
                #expect(Set(listed.compactMap { $0["alertmanager"] as? String }) == Set(bases))

                try hub.sender.send([firingAlert("CanopyBurst", labels: Self.groupLabels)])
                for (alertmanager, _) in running {
                    try await expectEventually("not suppressed in \(alertmanager.base)") {
                        try await alertmanager.alerts().contains { alert in
                            (alert["labels"] as? [String: String])?["alertname"] == "CanopyBurst"
                                && (alert["status"] as? [String: Any])?["state"] as? String == "suppressed"
                        }
                    }
                }
                for id in ids {
                    #expect(try await hub.delete("/api/v1/silences/\(id)").status == 200)
                }
                #expect(try Self.silences(try await hub.api.get("/api/v1/silences").body).isEmpty)
            }
        }
    }

    /// One Alertmanager down: the others still take the silence, and the answer names the one that failed.
    @Test func partialFailuresAreListed() async throws {
        try await AlertmanagerServer.withRunning(1) { running in
            let (alertmanager, _) = running[0]
            let down = "127.0.0.1:\(try freePort())"
            try await AlertingHub.with(alerting: Self.staticConfig([alertmanager.address, down])) { hub in
                try await hub.waitForAlertmanagers(2)
                let created = try await hub.post("/api/v1/silences", json: Self.groupSilence)
                #expect(created.status == 200, "\(created.body)")
                #expect(try Self.silences(created.body).map { $0["alertmanager"] as? String } == [alertmanager.base])
                let errors = (try jsonObject(created.body)["data"] as? [String: Any])?["errors"] as? [[String: Any]]
                #expect(errors?.map { $0["alertmanager"] as? String } == ["http://\(down)"])
                #expect((errors?.first?["error"] as? String)?.contains("connection failed") == true, "\(created.body)")

                let listed = try await hub.api.get("/api/v1/silences")
                #expect(listed.status == 200)
                #expect(try Self.silences(listed.body).count == 1)
                let listErrors = (try jsonObject(listed.body)["data"] as? [String: Any])?["errors"] as? [[String: Any]]
                #expect(listErrors?.map { $0["alertmanager"] as? String } == ["http://\(down)"])
            }
        }
    }

    /// Every Alertmanager down: 503 naming it, for each route.
    @Test func alertmanagerDownIs503NamingIt() async throws {
        let down = "127.0.0.1:\(try freePort())"
        try await AlertingHub.with(alerting: Self.staticConfig([down])) { hub in
            try await hub.waitForAlertmanagers(1)
            let created = try await hub.post("/api/v1/silences", json: Self.groupSilence)
            #expect(created.status == 503)
            #expect(try errorMessage(created.body).hasPrefix("no Alertmanager took the silence: Alertmanager http://\(down): connection failed"), "\(created.body)")
            let listed = try await hub.api.get("/api/v1/silences")
            #expect(listed.status == 503)
            #expect(try errorMessage(listed.body).hasPrefix("no Alertmanager listed its silences: Alertmanager http://\(down): "), "\(listed.body)")
            let expired = try await hub.delete("/api/v1/silences/abc")
            #expect(expired.status == 503)
            #expect(try errorMessage(expired.body).hasPrefix("silence abc not expired: Alertmanager http://\(down): "), "\(expired.body)")
        }
    }

    /// Bad input is a 400 that says what is wrong, before any Alertmanager is asked.
    @Test func badInputIs400() async throws {
        try await AlertingHub.with(alerting: Self.staticConfig(["127.0.0.1:\(try freePort())"])) { hub in
            func refused(_ body: String, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
                let answer = try await hub.post("/api/v1/silences", json: body)
                #expect(answer.status == 400, "\(answer.body)", sourceLocation: sourceLocation)
                #expect(try errorMessage(answer.body).contains(expected), "\(answer.body)", sourceLocation: sourceLocation)
            }
            let matchers = #""matchers": [{"name": "team", "value": "payments"}]"#
            try await refused("not json", "body must be JSON")
            try await refused(#"{\#(matchers), "duration": "1h", "createdBy": "ann"}"#, "comment is required")
            try await refused(#"{\#(matchers), "duration": "1h", "comment": "x"}"#, "createdBy is required")
            try await refused(#"{"matchers": [], "duration": "1h", "comment": "x", "createdBy": "ann"}"#, "matchers: at least one")
            try await refused(
                #"{"matchers": [{"name": "team", "value": "(", "isRegex": true}], "duration": "1h", "comment": "x", "createdBy": "ann"}"#,
                "matchers[0].value: not a valid regular expression")
            try await refused(#"{"matchers": [{"name": "0team", "value": "x"}], "duration": "1h", "comment": "x", "createdBy": "ann"}"#, "not a valid label name")
            try await refused(
                #"{\#(matchers), "startsAt": "2030-01-02T00:00:00Z", "endsAt": "2030-01-01T00:00:00Z", "comment": "x", "createdBy": "ann"}"#,
                "endsAt (2030-01-01T00:00:00.000Z) must be after startsAt (2030-01-02T00:00:00.000Z)")
            try await refused(#"{\#(matchers), "duration": "400d", "comment": "x", "createdBy": "ann"}"#, "at most 365d")
            try await refused(#"{\#(matchers), "comment": "x", "createdBy": "ann"}"#, "duration (such as 1h) or endsAt (RFC 3339) is required")
        }
    }

    /// No `alerting`: nowhere to make silences, and the answer says why.
    @Test func withoutAlertmanagersSilencesAre503() async throws {
        try await AlertingHub.with(alerting: nil) { hub in
            let listed = try await hub.api.get("/api/v1/silences")
            #expect(listed.status == 503)
            #expect(try errorMessage(listed.body).contains("none is configured (alerting.alertmanagers in the hub config)"), "\(listed.body)")
            #expect(try await hub.post("/api/v1/silences", json: Self.groupSilence).status == 503)
        }
    }
}
