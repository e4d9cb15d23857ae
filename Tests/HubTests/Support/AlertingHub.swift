import CanopyTestSupport
import Foundation
import Logging
import Shared
import Testing

@testable import Hub

/// A hub in this process with an `alerting:` section, no leaves, on a fresh database; its config
/// is a file, so that `/-/reload` reads changes to it.
struct AlertingHub: Sendable {
    let api: HTTPTestClient
    let server: HubServer
    let configFile: String
    let databaseLine: String

    /// `alerting` is the section's body in YAML (`alertmanagers: [...]`), or nil for none.
    static func with<T: Sendable>(
        alerting: String?, token: String? = nil, queueCapacity: Int = 10_000, _ body: (AlertingHub) async throws -> T
    ) async throws -> T {
        let cluster = try await TestCluster.shared.postgres()
        return try await TestDatabase.with { database in
            let directory = NSTemporaryDirectory() + "canopy-alerting-hub-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let databaseLine = "database: {url: 'postgres://canopy@/\(database.name)?host=\(cluster.socketDirectory)&port=\(cluster.port)'}"
            let configFile = directory + "/hub.yml"
            try Self.config(databaseLine, alerting: alerting).write(toFile: configFile, atomically: true, encoding: .utf8)
            var config = try HubConfig.load(file: configFile)
            config.apiToken = token.map(Secret.inline)
            var logger = Logger(label: "alerting-hub")
            logger.logLevel = .warning
            let port = PortPromise()
            var options = HubServer.Options(configFile: configFile, host: "127.0.0.1", port: 0, dataDir: directory + "/hub")
            options.notificationQueueCapacity = queueCapacity
            let server = HubServer(options: options, config: config, logger: logger)
            let app = try await server.buildApplication { port.fulfil($0) }
            return try await withServices([app]) {
                let hub = AlertingHub(
                    api: HTTPTestClient(base: "http://127.0.0.1:\(await port.value)"), server: server, configFile: configFile, databaseLine: databaseLine)
                return try await body(hub)
            }
        }
    }

    private static func config(_ databaseLine: String, alerting: String?) -> String {
        let section = alerting.map { "alerting:\n" + $0.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n") } ?? ""
        return "leaves: []\n\(databaseLine)\n\(section)\n"
    }

    /// Writes a new `alerting` section and asks the hub to reload; the answer's status and body.
    func reload(alerting: String?) async throws -> (status: Int, body: String) {
        try Self.config(databaseLine, alerting: alerting).write(toFile: configFile, atomically: true, encoding: .utf8)
        return try await api.request("/-/reload", method: .POST)
    }

    var sender: any AlertSender {
        get throws { try #require(server.alertSender) }
    }

    func metric(_ name: String, alertmanager: String? = nil) async throws -> Double? {
        try await AlertingMetrics(api: api).value(name, alertmanager: alertmanager)
    }

    /// Waits until the notifier has found `count` Alertmanagers.
    func waitForAlertmanagers(_ count: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await expectEventually("the hub did not discover \(count) Alertmanagers", timeout: .seconds(10), sourceLocation: sourceLocation) {
            try await metric("canopy_notifications_alertmanagers_discovered") == Double(count)
        }
    }

    /// A `POST` with the token, when given.
    func post(_ path: String, json: String, token: String? = nil) async throws -> (status: Int, body: String) {
        var headers = ["Content-Type": "application/json"]
        if let token { headers["Authorization"] = "Bearer \(token)" }
        return try await api.request(path, method: .POST, body: json, headers: headers)
    }

    func delete(_ path: String, token: String? = nil) async throws -> (status: Int, body: String) {
        try await api.request(path, method: .DELETE, headers: token.map { ["Authorization": "Bearer \($0)"] } ?? [:])
    }
}

/// A hub's `/metrics`, read for the notifier's samples.
struct AlertingMetrics: Sendable {
    let api: HTTPTestClient

    /// The value of `name`, or of `name{alertmanager="..."}`, as written there; nil if absent.
    func value(_ name: String, alertmanager: String? = nil) async throws -> Double? {
        let series = alertmanager.map { "\(name){alertmanager=\"\($0)\"}" } ?? name
        let (_, text) = try await api.get("/metrics")
        for line in text.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }
}

/// A firing alert as the rule manager sends it: started a minute ago, `endsAt` ten minutes ahead.
func firingAlert(_ name: String, labels: [String: String] = [:], annotations: [String: String] = [:]) -> PostableAlert {
    PostableAlert(
        labels: labels.merging(["alertname": name]) { mine, _ in mine }, annotations: annotations, startsAt: Date().addingTimeInterval(-60),
        endsAt: Date().addingTimeInterval(600), generatorURL: "http://hub.example:7979/graph?expr=\(name)")
}

/// The same alert once resolved: `endsAt` just past.
func resolved(_ alert: PostableAlert) -> PostableAlert {
    var alert = alert
    alert.endsAt = Date().addingTimeInterval(-1)
    return alert
}

/// A JSON value as a dictionary, for the hub's and Alertmanager's answers.
func jsonObject(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

/// The message of the hub's JSON error, `{"error": {"message": ...}}`.
func errorMessage(_ text: String) throws -> String {
    try #require((try jsonObject(text)["error"] as? [String: Any])?["message"] as? String, "not an error: \(text)")
}
