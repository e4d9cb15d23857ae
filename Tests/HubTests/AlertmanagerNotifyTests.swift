import CanopyTestSupport
import Foundation
import Shared
import Testing

@testable import Hub

/// Alerts through the hub's notifier to real Alertmanagers (Debian's), and on to a webhook in the test.
@Suite struct AlertmanagerNotifyTests {
    static func staticConfig(_ addresses: [String], extra: String = "") -> String {
        "{static_configs: [{targets: [\(addresses.map { "'\($0)'" }.joined(separator: ", "))]}]\(extra.isEmpty ? "" : ", " + extra)}"
    }

    static func alertsURL(_ alertmanager: AlertmanagerServer) -> String { alertmanager.base + "/api/v2/alerts" }

    @Test func alertsArriveWithLabelsAndAnnotationsAndResolve() async throws {
        try await AlertmanagerServer.withRunning(1) { running in
            let (alertmanager, webhook) = running[0]
            try await AlertingHub.with(alerting: "alertmanagers: [\(Self.staticConfig([alertmanager.address]))]") { hub in
                try await hub.waitForAlertmanagers(1)
                let alert = firingAlert(
                    "CanopyBurst", labels: ["team": "payments", "service": "checkout", "aggregation_key": "card declined", "severity": "page"],
                    annotations: ["summary": "card declined 40 times in 5m", "group": "http://hub.example:7979/groups/7"])
                try hub.sender.send([alert])
                try await expectEventually("the webhook did not get the firing alert") { !webhook.alerts(named: "CanopyBurst").isEmpty }
                let firing = try #require(webhook.alerts(named: "CanopyBurst").first)
                #expect(firing.status == "firing")
                #expect(firing.labels == alert.labels)
                #expect(firing.annotations == alert.annotations)
                #expect(firing.generatorURL == alert.generatorURL)
                #expect(try await hub.metric("canopy_notifications_sent_total", alertmanager: Self.alertsURL(alertmanager)) == 1)
                #expect(try await hub.metric("canopy_notifications_errors_total", alertmanager: Self.alertsURL(alertmanager)) == 0)
                #expect(try await hub.metric("canopy_notifications_queue_capacity") == 10_000)
                #expect(try await hub.metric("canopy_notifications_queue_length", alertmanager: Self.alertsURL(alertmanager)) == 0)
                let (status, verdict) = try promtoolCheckMetrics(try await hub.api.get("/metrics").body)
                #expect(status == 0, "promtool: \(verdict)")

                // Resolved: endsAt in the past, and the webhook hears it resolved.
                try hub.sender.send([resolved(alert)])
                try await expectEventually("the webhook did not get the resolved alert") {
                    webhook.alerts(named: "CanopyBurst").contains { $0.status == "resolved" }
                }
                let resolution = try #require(webhook.alerts(named: "CanopyBurst").last)
                #expect(resolution.labels == alert.labels)
                #expect(try await hub.metric("canopy_notifications_sent_total", alertmanager: Self.alertsURL(alertmanager)) == 2)
            }
        }
    }

    /// A refused and a hanging Alertmanager cost only their own alerts: the good one gets every
    /// alert at once, `send` never waits, and the failures are counted per Alertmanager.
    @Test func unreachableOrHangingAlertmanagersDoNotStopTheOthers() async throws {
        try await AlertmanagerServer.withRunning(1) { running in
            let (alertmanager, webhook) = running[0]
            let refused = "127.0.0.1:\(try freePort())"
            let hanging = try SilentListener()
            let briefly = try SilentListener()
            let alerting = """
                alertmanagers:
                - \(Self.staticConfig([refused, hanging.address, alertmanager.address], extra: "timeout: 1m"))
                - \(Self.staticConfig([briefly.address], extra: "timeout: 500ms"))
                """
            try await AlertingHub.with(alerting: alerting) { hub in
                try await hub.waitForAlertmanagers(4)
                let started = ContinuousClock.now
                try hub.sender.send([firingAlert("First")])
                try hub.sender.send([firingAlert("Second")])
                #expect(ContinuousClock.now - started < .milliseconds(100), "send waited for an Alertmanager")
                try await expectEventually("the reachable Alertmanager did not get both alerts while another hangs") {
                    !webhook.alerts(named: "First").isEmpty && !webhook.alerts(named: "Second").isEmpty
                }
                #expect(try await hub.metric("canopy_notifications_sent_total", alertmanager: Self.alertsURL(alertmanager)) == 2)
                // Refused at once: both alerts counted as errors and dropped.
                try await expectEventually { try await hub.metric("canopy_notifications_errors_total", alertmanager: "http://\(refused)/api/v2/alerts") == 2 }
                #expect(try await hub.metric("canopy_notifications_dropped_total", alertmanager: "http://\(refused)/api/v2/alerts") == 2)
                // Hanging past its 500 ms timeout: an error too.
                try await expectEventually { try await hub.metric("canopy_notifications_errors_total", alertmanager: "http://\(briefly.address)/api/v2/alerts") == 2 }
                // Still waiting on its first post, within its minute: nothing sent, nothing failed yet.
                let stuck = "http://\(hanging.address)/api/v2/alerts"
                #expect(try await hub.metric("canopy_notifications_sent_total", alertmanager: stuck) == 0)
                #expect(try await hub.metric("canopy_notifications_errors_total", alertmanager: stuck) == 0)
            }
        }
    }

    /// Each Alertmanager's queue holds `--alertmanager.notification-queue-capacity` alerts; past
    /// that the oldest go, and are counted.
    @Test func queueOverflowDropsTheOldestAndCountsThem() async throws {
        let hanging = try SilentListener()
        let url = "http://\(hanging.address)/api/v2/alerts"
        try await AlertingHub.with(alerting: "alertmanagers: [\(Self.staticConfig([hanging.address], extra: "timeout: 1m"))]", queueCapacity: 5) { hub in
            try await hub.waitForAlertmanagers(1)
            #expect(try await hub.metric("canopy_notifications_queue_capacity") == 5)
            // The loop takes the first alert and waits on the post; the rest queue behind it.
            try hub.sender.send([firingAlert("InFlight")])
            try await expectEventually { try await hub.metric("canopy_notifications_queue_length", alertmanager: url) == 0 }
            try hub.sender.send((1...20).map { firingAlert("Queued\($0)") })
            #expect(try await hub.metric("canopy_notifications_queue_length", alertmanager: url) == 5)
            #expect(try await hub.metric("canopy_notifications_dropped_total", alertmanager: url) == 15)
            try hub.sender.send((1...3).map { firingAlert("Later\($0)") })
            #expect(try await hub.metric("canopy_notifications_queue_length", alertmanager: url) == 5)
            #expect(try await hub.metric("canopy_notifications_dropped_total", alertmanager: url) == 18)
        }
    }

    /// `alert_relabel_configs`, global and per `alertmanagers` entry, as Prometheus applies them:
    /// an alert they drop is not sent, and the labels they change are sent changed.
    @Test func alertRelabellingDropsAndChangesLabels() async throws {
        try await AlertmanagerServer.withRunning(1) { running in
            let (alertmanager, webhook) = running[0]
            let alerting = """
                alert_relabel_configs:
                - {source_labels: [severity], regex: debug, action: drop}
                - {action: labeldrop, regex: replica}
                - {source_labels: [team], target_label: owner}
                alertmanagers:
                - \(Self.staticConfig([alertmanager.address], extra: "alert_relabel_configs: [{target_label: via, replacement: canopy}]"))
                """
            try await AlertingHub.with(alerting: alerting) { hub in
                try await hub.waitForAlertmanagers(1)
                try hub.sender.send([
                    firingAlert("Noise", labels: ["severity": "debug", "team": "payments"]),
                    firingAlert("Page", labels: ["severity": "page", "team": "payments", "replica": "b"]),
                ])
                try await expectEventually("the kept alert did not arrive") { !webhook.alerts(named: "Page").isEmpty }
                let page = try #require(webhook.alerts(named: "Page").first)
                #expect(page.labels == ["alertname": "Page", "severity": "page", "team": "payments", "owner": "payments", "via": "canopy"])
                // Both went in one post, had they both been sent: Alertmanager has only the kept one.
                let names = try await alertmanager.alerts().compactMap { ($0["labels"] as? [String: String])?["alertname"] }
                #expect(names == ["Page"])
                #expect(webhook.alerts(named: "Noise").isEmpty)
            }
        }
    }

    /// `/-/reload` (SIGHUP does the same) switches to the Alertmanagers of the new file; a file with
    /// errors is refused and the running config stays.
    @Test func reloadPicksUpChangedAlertmanagers() async throws {
        try await AlertmanagerServer.withRunning(2) { running in
            let (first, firstHook) = running[0]
            let (second, secondHook) = running[1]
            try await AlertingHub.with(alerting: "alertmanagers: [\(Self.staticConfig([first.address]))]") { hub in
                try await hub.waitForAlertmanagers(1)
                try hub.sender.send([firingAlert("Before")])
                try await expectEventually { !firstHook.alerts(named: "Before").isEmpty }

                let refused = try await hub.reload(alerting: "alertmanagers: [{static_configs: [{targets: ['\(second.address)']}], api_version: v1}]")
                #expect(refused.status == 400)
                #expect(refused.body.contains("api_version v1 is not supported"), "\(refused.body)")

                let reloaded = try await hub.reload(alerting: "alertmanagers: [\(Self.staticConfig([second.address]))]")
                #expect(reloaded.status == 200, "\(reloaded.body)")
                try await expectEventually("the new Alertmanager was not discovered") {
                    try await hub.metric("canopy_notifications_sent_total", alertmanager: Self.alertsURL(second)) == 0
                }
                #expect(try await hub.metric("canopy_notifications_sent_total", alertmanager: Self.alertsURL(first)) == nil)
                try hub.sender.send([firingAlert("After")])
                try await expectEventually { !secondHook.alerts(named: "After").isEmpty }
                let atFirst = try await first.alerts().compactMap { ($0["labels"] as? [String: String])?["alertname"] }
                #expect(atFirst == ["Before"])
            }
        }
    }

    /// The `canopy-hub` binary: the queue capacity flag, and SIGHUP picking up a new Alertmanager.
    @Test func hubBinaryTakesTheQueueFlagAndReloadsOnHangup() async throws {
        let refused = try ServerProcess.run("canopy-hub", ["--alertmanager.notification-queue-capacity", "0"])
        #expect(refused.status == 1)
        #expect(refused.output.contains("--alertmanager.notification-queue-capacity must be at least 1"), "\(refused.output)")

        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            try await AlertmanagerServer.withRunning(2) { running in
                let directory = NSTemporaryDirectory() + "canopy-alerting-binary-" + UUID().uuidString
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let file = directory + "/hub.yml"
                func write(_ alertmanagers: [AlertmanagerServer]) throws {
                    try """
                    database: {url: 'postgres://canopy@/\(database.name)?host=\(cluster.socketDirectory)&port=\(cluster.port)'}
                    alerting:
                      alertmanagers: [\(Self.staticConfig(alertmanagers.map(\.address)))]
                    """.write(toFile: file, atomically: true, encoding: .utf8)
                }
                try write([running[0].alertmanager])
                let hub = try ServerProcess(
                    "canopy-hub", ["--config", file, "--data-dir", directory + "/hub", "--alertmanager.notification-queue-capacity", "7"])
                let metrics = AlertingMetrics(api: HTTPTestClient(base: try await hub.base()))
                try await expectEventually { try await metrics.value("canopy_notifications_alertmanagers_discovered") == 1 }
                #expect(try await metrics.value("canopy_notifications_queue_capacity") == 7)
                try write(running.map(\.alertmanager))
                hub.send(SIGHUP)
                try await expectEventually("SIGHUP did not bring the second Alertmanager") {
                    try await metrics.value("canopy_notifications_sent_total", alertmanager: Self.alertsURL(running[1].alertmanager)) == 0
                }
                #expect(try await metrics.value("canopy_notifications_alertmanagers_discovered") == 2)
                #expect(await hub.stop() == 0)
            }
        }
    }

    /// A hub without `alerting` has no notifier: nothing for rules to send to, no notification metrics.
    @Test func withoutAlertmanagersThereIsNoNotifier() async throws {
        try await AlertingHub.with(alerting: nil) { hub in
            #expect(hub.server.alertSender == nil)
            #expect(try await hub.metric("canopy_notifications_queue_capacity") == nil)
            // Added by a reload: that needs a restart, and says so.
            let reloaded = try await hub.reload(alerting: "alertmanagers: [\(Self.staticConfig(["127.0.0.1:9093"]))]")
            #expect(reloaded.status == 400)
            #expect(reloaded.body.contains("restart it to send alerts"), "\(reloaded.body)")
        }
    }
}
