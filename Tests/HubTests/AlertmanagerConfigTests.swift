import CanopyTestSupport
import Foundation
import Shared
import Testing

@testable import Hub

/// `alerting:` in the hub config: Prometheus's shape, its defaults, and every error with its line and key.
@Suite struct AlertmanagerConfigTests {
    static func directory() throws -> String {
        let directory = NSTemporaryDirectory() + "canopy-alerting-config-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func everyOptionIsRead() throws {
        let directory = try Self.directory()
        for file in ["ca.pem", "password", "token"] { _ = FileManager.default.createFile(atPath: directory + "/" + file, contents: Data("x".utf8)) }
        let config = try HubConfig.parse(
            """
            alerting:
              alert_relabel_configs:
              - {action: labeldrop, regex: replica}
              alertmanagers:
              - static_configs: [{targets: ['am1:9093', 'am2:9093'], labels: {region: eu}}]
                file_sd_configs: [{files: [ams/*.json], refresh_interval: 1m}]
                dns_sd_configs: [{names: [_alertmanager._tcp.example.org]}]
                http_sd_configs: [{url: 'http://inventory/ams'}]
                scheme: https
                path_prefix: /alertmanager/
                timeout: 3s
                api_version: v2
                basic_auth: {username: hub, password_file: password}
                tls_config: {ca_file: ca.pem, server_name: am.example.org}
                relabel_configs: [{source_labels: [region], regex: us, action: drop}]
                alert_relabel_configs: [{target_label: sent_by, replacement: hub}]
              - static_configs: [{targets: ['am3:9093']}]
                authorization: {credentials_file: token}
            """, file: directory + "/hub.yml")
        let alerting = config.alerting
        #expect(alerting.alertRelabelConfigs.map(\.action) == [.labeldrop])
        #expect(alerting.alertmanagers.count == 2)
        let first = try #require(alerting.alertmanagers.first).job
        #expect(first.name == "alertmanagers[0]")
        #expect(first.staticConfigs == [StaticConfig(targets: ["am1:9093", "am2:9093"], labels: ["region": "eu"])])
        #expect(first.fileConfigs == [FileDiscoveryConfig(files: [directory + "/ams/*.json"], refreshInterval: .seconds(60))])
        #expect(first.dnsConfigs.map(\.names) == [["_alertmanager._tcp.example.org"]])
        #expect(first.httpConfigs.map(\.url) == ["http://inventory/ams"])
        #expect(first.scheme == "https")
        #expect(first.endpoint == "/alertmanager/api/v2/alerts")
        #expect(first.timeout == .seconds(3))
        #expect(first.auth == .basic(username: "hub", password: .file(directory + "/password")))
        #expect(first.tls == TLSSettings(caFile: directory + "/ca.pem", serverName: "am.example.org"))
        #expect(first.relabelConfigs.map(\.action) == [.drop])
        #expect(alerting.alertmanagers[0].alertRelabelConfigs.map(\.targetLabel) == ["sent_by"])
        let second = alerting.alertmanagers[1].job
        #expect(second.auth == .authorization(type: "Bearer", credentials: .file(directory + "/token")))
        // The defaults: plain HTTP, no prefix, Prometheus's 10 s.
        #expect(second.scheme == "http")
        #expect(second.endpoint == "/api/v2/alerts")
        #expect(second.timeout == .seconds(10))
    }

    @Test func noAlertingIsNoAlertmanagers() throws {
        let config = try HubConfig.parse("leaves: []\n", file: "hub.yml")
        #expect(config.alerting == AlertingConfig())
        #expect(try HubConfig.parse("alerting: {}\n", file: "hub.yml").alerting.alertmanagers.isEmpty)
    }

    @Test func pathPrefixJoinsAsPrometheusJoinsIt() {
        #expect(AlertmanagerConfig.alertsPath(prefix: "") == "/api/v2/alerts")
        #expect(AlertmanagerConfig.alertsPath(prefix: "/") == "/api/v2/alerts")
        #expect(AlertmanagerConfig.alertsPath(prefix: "am") == "/am/api/v2/alerts")
        #expect(AlertmanagerConfig.alertsPath(prefix: "/a/b//") == "/a/b/api/v2/alerts")
    }

    /// Every mistake at once, each with its line and key, as `promtool check config` reports them.
    @Test func errorsNameLineAndKey() throws {
        let text = """
            alerting:
              alert_relabel_configs:
              - {action: replace, regex: '(', target_label: x}
              alertmanagers:
              - static_configs: [{targets: ['am:9093']}]
                api_version: v1
              - static_configs: [{targets: ['am:9093']}]
                scheme: ftp
                timeout: soon
                colour: blue
                kubernetes_sd_configs: [{role: pod}]
                relabel_configs: [{action: explode}]
                oauth2: {client_id: x}
              extra: 1
            """
        let error = try #require(throws: ConfigError.self) { try HubConfig.parse(text, file: "hub.yml") }
        let found = error.issues.map { "\($0.line ?? 0) \($0.path): \($0.message)" }
        func expectIssue(line: Int, path: String, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) {
            let matching = error.issues.filter { $0.line == line && $0.path == path && $0.message.contains(text) }
            #expect(matching.count == 1, "no issue at line \(line), \(path), with \(text), in:\n\(found.joined(separator: "\n"))", sourceLocation: sourceLocation)
        }
        expectIssue(line: 3, path: "alerting.alert_relabel_configs[0]", containing: "regex")
        expectIssue(line: 6, path: "alerting.alertmanagers[0].api_version", containing: "v1 is not supported")
        expectIssue(line: 8, path: "alerting.alertmanagers[1].scheme", containing: "http or https")
        expectIssue(line: 9, path: "alerting.alertmanagers[1].timeout", containing: "not a duration")
        expectIssue(line: 10, path: "alerting.alertmanagers[1].colour", containing: "unknown key")
        expectIssue(line: 11, path: "alerting.alertmanagers[1].kubernetes_sd_configs", containing: "not supported")
        expectIssue(line: 12, path: "alerting.alertmanagers[1].relabel_configs[0].action", containing: "unknown relabel action")
        expectIssue(line: 13, path: "alerting.alertmanagers[1].oauth2", containing: "not supported")
        expectIssue(line: 14, path: "alerting.extra", containing: "unknown key")
        #expect(error.issues.count == 9, "\(found.joined(separator: "\n"))")
        #expect(error.issues.allSatisfy { $0.file == "hub.yml" })
    }

    /// `canopy-hub check-config` prints them with file, line, column and key, and exits 1.
    @Test func checkConfigReportsAlertingErrors() throws {
        let directory = try Self.directory()
        let file = directory + "/hub.yml"
        try """
        alerting:
          alertmanagers:
          - static_configs: [{targets: ['am:9093']}]
            api_version: v1
            timeout: 0s
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let bad = try ServerProcess.run("canopy-hub", ["check-config", file])
        #expect(bad.status == 1)
        #expect(bad.output.contains("\(file):4:18: alerting.alertmanagers[0].api_version: api_version v1 is not supported"), "\(bad.output)")
        #expect(bad.output.contains("\(file):5:14: alerting.alertmanagers[0].timeout: duration must be greater than zero"), "\(bad.output)")

        try "alerting: {alertmanagers: [{static_configs: [{targets: ['am:9093']}]}]}\n".write(toFile: file, atomically: true, encoding: .utf8)
        let good = try ServerProcess.run("canopy-hub", ["check-config", file])
        #expect(good.status == 0, "\(good.output)")
        #expect(good.output.contains("alertmanagers entries: 1"), "\(good.output)")
    }
}
