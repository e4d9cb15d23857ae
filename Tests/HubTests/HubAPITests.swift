import CanopyTestSupport
import Foundation
import Logging
import NIOHTTP1
import Periskop
import PostgresNIO
import Shared
import Testing

@testable import Hub

/// The hub's HTTP surface in process, on a real database fed by real federation payloads: the
/// token that guards writes, status changes, errors as JSON, /metrics for promtool, config checks.
/// A hub in this process on `database`, scraping the leaf on `leafPort` every 200 ms, while
/// `body` runs with its base URL.
func withInProcessHub<T: Sendable>(
    database: TestDatabase, cluster: PrivatePostgres, leafPort: Int, directory: String, token: String? = nil, _ body: (String) async throws -> T
) async throws -> T {
    try await withInProcessHub(database: database, cluster: cluster, leaves: [("payments", leafPort)], directory: directory, token: token, body)
}

/// The hub in this process, scraping `leaves` (name, port) every 200 ms. `leafJob` is more of
/// each leaves job (`scheme: https, basic_auth: {...}`); with a TLS `webConfig` the base is `https://`.
func withInProcessHub<T: Sendable>(
    database: TestDatabase, cluster: PrivatePostgres, leaves: [(name: String, port: Int)], directory: String, token: String? = nil,
    query: QuerySettings = QuerySettings(), ruleFiles: [String] = [], evaluationInterval: String = "1m", extraConfig: String = "",
    leafJob: String = "", webConfig: WebConfig? = nil, _ body: (String) async throws -> T
) async throws -> T {
    let jobs = leaves.map { "{name: \($0.name), static_configs: [{targets: ['127.0.0.1:\($0.port)']}]\(leafJob.isEmpty ? "" : ", " + leafJob)}" }
    // Written to a file, so that `/-/reload` reads it again.
    let file = directory + "/hub.yml"
    try """
        global: {scrape_interval: 200ms, scrape_timeout: 200ms, evaluation_interval: \(evaluationInterval)}
        database: {url: 'postgres://canopy@/\(database.name)?host=\(cluster.socketDirectory)&port=\(cluster.port)'}
        leaves: [\(jobs.joined(separator: ", "))]
        rule_files: [\(ruleFiles.map { "'\($0)'" }.joined(separator: ", "))]
        \(token.map { "api: {token: '\($0)'}" } ?? "")
        \(extraConfig)
        """.write(toFile: file, atomically: true, encoding: .utf8)
    let config = try HubConfig.load(file: file)
    var logger = Logger(label: "in-process-hub")
    logger.logLevel = .warning
    let port = PortPromise()
    let app = try await HubServer(
        options: .init(configFile: file, host: "127.0.0.1", port: 0, dataDir: directory + "/hub", query: query, webConfig: webConfig), config: config, logger: logger
    ).buildApplication { port.fulfil($0) }
    return try await withServices([app]) { try await body("\(webConfig?.isTLS == true ? "https" : "http")://127.0.0.1:\(await port.value)") }
}

@Suite struct HubAPITests {
    /// A leaf stand-in: serves a federation payload the test controls, over real HTTP.
    static func withHub<T: Sendable>(token: String? = nil, _ body: (HTTPTestClient, FakeTarget) async throws -> T) async throws -> T {
        let cluster = try await TestCluster.shared.postgres()
        return try await TestDatabase.with { database in
            let target = FakeTarget()
            target.report("card declined", total: 3)
            return try await withServices([target.makeApplication()]) {
                let directory = NSTemporaryDirectory() + "canopy-hubapi-" + UUID().uuidString
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                let leafProcess = try HubEndToEndTests.Leaf(team: "payments", service: "checkout", targets: [await target.address()], directory: directory)
                try await leafProcess.start()
                let result = try await withInProcessHub(database: database, cluster: cluster, leafPort: leafProcess.port, directory: directory, token: token) {
                    try await body(HTTPTestClient(base: $0), target)
                }
                await leafProcess.stop()
                return result
            }
        }
    }

    static func group(_ hub: HTTPTestClient) async throws -> [String: Any]? {
        let page = try await hub.json("/api/v1/groups") as? [String: Any]
        return (page?["groups"] as? [[String: Any]])?.first
    }

    /// Encoded characters in paths and queries mean those characters, on the API and the pages.
    @Test func encodedPathsAndQueriesMeanTheirCharacters() async throws {
        try await Self.withHub { hub, target in
            target.report("templates", total: 1, message: "C++ template error")
            target.report("literal", total: 1, message: "discount 100%20 off")
            target.report("spaced", total: 1, message: "two words here")
            func messages(_ query: String) async throws -> [String] {
                let page = try await hub.json("/api/v1/groups" + query) as? [String: Any]
                return ((page?["groups"] as? [[String: Any]]) ?? []).compactMap { $0["message"] as? String }.sorted()
            }
            try await expectEventually(timeout: .seconds(20)) { try await messages("").count == 4 }
            #expect(try await messages("?q=C%2B%2B") == ["C++ template error"])
            #expect(try await messages("?q=100%2520") == ["discount 100%20 off"])
            #expect(try await messages("?q=two+words") == ["two words here"])
            #expect(try await messages("?team=pay%6Dents&q=two%20words") == ["two words here"])

            // The Periskop API names services `team:service`; an encoded colon is a colon.
            let periskop = try #require(try await hub.json("/services/payments%3Acheckout/errors/") as? [[String: Any]])
            #expect(periskop.compactMap { $0["aggregation_key"] as? String }.sorted() == ["card declined", "literal", "spaced", "templates"])
            #expect(try await hub.get("/api/v1/teams/pay%6Dents/services").status == 200)

            // The search box shows what was searched, and the list has what it found.
            let page = try await hub.get("/groups?q=C%2B%2B")
            #expect(page.status == 200)
            #expect(page.body.contains(#"<input type="search" name="q" value="C++""#))
            #expect(page.body.contains("C++ template error"))
            #expect(!page.body.contains("two words here"))
            let literal = try await hub.get("/groups?q=100%2520")
            #expect(literal.body.contains(#"value="100%20""#))
            #expect(literal.body.contains("discount 100%20 off"))
            #expect(!literal.body.contains("C++ template error"))
        }
    }

    @Test func statusChangesNeedTheTokenAndAreRecorded() async throws {
        try await Self.withHub(token: "s3cret") { hub, target in
            try await expectEventually(timeout: .seconds(20)) { try await Self.group(hub)?["total"] as? Int == 3 }
            let id = try #require(try await Self.group(hub)?["id"] as? Int)
            let body = #"{"status": "resolved", "actor": "ann", "comment": "fixed"}"#
            let denied = try await hub.request("/api/v1/groups/\(id)/status", method: .POST, body: body)
            #expect(denied.status == 401)
            #expect(denied.body.contains("needs the API token"))
            let wrong = try await hub.request("/api/v1/groups/\(id)/status", method: .POST, body: body, headers: ["Authorization": "Bearer nope"])
            #expect(wrong.status == 401)
            let done = try await hub.request("/api/v1/groups/\(id)/status", method: .POST, body: body, headers: ["Authorization": "Bearer s3cret"])
            #expect(done.status == 200)
            #expect(try await Self.group(hub)?["status"] as? String == "resolved")
            // It occurs again: regressed.
            target.report("card declined", total: 4)
            try await expectEventually(timeout: .seconds(20)) { try await Self.group(hub)?["status"] as? String == "regressed" }
            let detail = try #require(try await hub.json("/api/v1/groups/\(id)") as? [String: Any])
            let changes = try #require(detail["status_changes"] as? [[String: Any]])
            #expect(changes.map { $0["actor"] as? String } == ["canopy", "ann"])
            // Bad requests say what is wrong, as JSON.
            let bad = try await hub.request("/api/v1/groups/\(id)/status", method: .POST, body: #"{"status": "gone"}"#, headers: ["Authorization": "Bearer s3cret"])
            #expect(bad.status == 400)
            #expect(bad.body.contains("status must be resolved, unresolved or ignored"))
            #expect(try await hub.get("/api/v1/groups/999999").status == 404)
            #expect(try await hub.get("/api/v1/groups?sort=loudest").body.contains("sort must be"))
            #expect(try await hub.get("/api/v1/groups?cursor=xyz").status == 400)
        }
    }

    @Test func ignoreForATimeAndOccurrencesOverHTTP() async throws {
        try await Self.withHub { hub, target in
            try await expectEventually(timeout: .seconds(20)) { try await Self.group(hub)?["total"] as? Int == 3 }
            let id = try #require(try await Self.group(hub)?["id"] as? Int)
            let ignored = try await hub.request("/api/v1/groups/\(id)/status", method: .POST, body: #"{"status": "ignored", "ignore_occurrences": 2}"#)
            #expect(ignored.status == 200)
            target.report("card declined", total: 4)
            try await expectEventually(timeout: .seconds(20)) { try await Self.group(hub)?["total"] as? Int == 4 }
            #expect(try await Self.group(hub)?["status"] as? String == "ignored")
            target.report("card declined", total: 5)
            try await expectEventually(timeout: .seconds(20)) { try await Self.group(hub)?["status"] as? String == "unresolved" }
            let points = try #require(try await hub.json("/api/v1/groups/\(id)/occurrences?range=1h&step=1m") as? [[String: Any]])
            #expect((60...61).contains(points.count))  // the minute now is in progress
            #expect(points.compactMap { $0["count"] as? Int }.reduce(0, +) == 5)
        }
    }

    @Test func metricsPassPromtoolAndLeavesShowHealth() async throws {
        try await Self.withHub { hub, _ in
            try await expectEventually(timeout: .seconds(20)) { try await Self.group(hub)?["total"] as? Int == 3 }
            let leaves = try #require(try await hub.json("/api/v1/leaves") as? [[String: Any]])
            #expect(leaves.first?["team"] as? String == "payments")
            #expect(leaves.first?["health"] as? String == "up")
            // The snapshot log: the scrape that added the 3, then unchanged ones skipped unread.
            try await expectEventually(timeout: .seconds(20)) {
                let scrapes = try await hub.json("/api/v1/scrapes?limit=100") as? [[String: Any]] ?? []
                return scrapes.contains { $0["outcome"] as? String == "applied" && ($0["occurrences_added"] as? Int ?? 0) == 3 }
                    && scrapes.contains { $0["outcome"] as? String == "unchanged" }
            }
            let metrics = try await hub.get("/metrics").body
            #expect(metrics.contains("canopy_leaf_up{leaf=\"payments\""))
            #expect(metrics.contains("canopy_hub_rows_written_total"))
            let (status, verdict) = try promtoolCheckMetrics(metrics)
            #expect(status == 0, "promtool: \(verdict)")
            let services = try #require(try await hub.json("/api/v1/teams/payments/services") as? [[String: Any]])
            #expect(services.first?["name"] as? String == "checkout")
            #expect(services.first?["targets_up"] as? Int == 1)
            #expect(try await hub.get("/api/v1/teams/nobody/services").status == 404)
        }
    }

    @Test func checkConfigNamesEachError() throws {
        let directory = NSTemporaryDirectory() + "canopy-hubcfg-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let file = directory + "/hub.yml"
        try """
        global: {scrape_interval: fast}
        database: {url: 'mysql://x'}
        storage: {retention: 10m, samples: 3}
        leaves:
        - name: a
          static_configs: [{targets: ['x:1']}]
        - name: a
          static_configs: [{targets: ['y:1']}]
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let (status, output) = try ServerProcess.run("canopy-hub", ["check-config", file])
        #expect(status == 1)
        #expect(output.contains("\(file):1:27: global.scrape_interval: not a duration"))
        #expect(output.contains("database.url: not a PostgreSQL URL"))
        #expect(output.contains("storage.retention: retention must be at least 1h"))
        #expect(output.contains("storage.samples: unknown key samples"))
        #expect(output.contains("duplicate leaves name \"a\""))
        let example = ServerProcess.packageRoot.appendingPathComponent("deploy/hub.example.yml").path
        let (good, text) = try ServerProcess.run("canopy-hub", ["check-config", example])
        #expect(good == 0, "\(text)")
        #expect(text.contains("7 rules in 2 groups"), "the example loads the shipped rules: \(text)")
    }

    /// Rule files are checked with the config: each problem with its file, line and rule.
    @Test func checkConfigChecksTheRuleFiles() throws {
        let directory = NSTemporaryDirectory() + "canopy-hubrules-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/rules", withIntermediateDirectories: true)
        try "groups:\n  - name: fine\n    rules:\n      - alert: Fine\n        expr: up\n".write(toFile: directory + "/rules/a.yml", atomically: true, encoding: .utf8)
        try "groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: rate(up)\n".write(toFile: directory + "/rules/b.yml", atomically: true, encoding: .utf8)
        try "rule_files: ['rules/*.yml', missing.yml]\nglobal: {evaluation_interval: soon}\n".write(toFile: directory + "/hub.yml", atomically: true, encoding: .utf8)
        let (status, output) = try ServerProcess.run("canopy-hub", ["check-config", directory + "/hub.yml"])
        #expect(status == 1)
        #expect(output.contains(#"rules/b.yml:5:15: groups[0].rules[0].expr: group "broken", rule 1, "Broken": could not parse expression"#), "\(output)")
        #expect(output.contains("missing.yml: no such rule file"), "\(output)")
        #expect(output.contains("global.evaluation_interval"), "\(output)")
        #expect(!output.contains("a.yml"), "the good file has nothing to say")
    }
}
