import CanopyTestSupport
import Foundation
import NIOSSL
import Shared
import Testing

@testable import Hub

/// `--web.config.file` on the hub, and the hub scraping a leaf that has one: every path needs
/// credentials, the API token is a credential of its own and still guards writes, and the
/// leaves job's `basic_auth` and `tls_config` reach a protected leaf for scrapes and pages alike.
@Suite(.serialized) struct HubWebConfigTests {
    static let token = "hub-token-42"

    /// A leaf process (plain) with one target, and an in-process hub behind `web` scraping it.
    static func withProtectedHub<T: Sendable>(
        _ web: (TestCertificates) -> String, _ body: (HTTPTestClient, TestCertificates) async throws -> T
    ) async throws -> T {
        let cluster = try await TestCluster.shared.postgres()
        return try await TestDatabase.with { (database: TestDatabase) async throws -> T in
            let target = FakeTarget()
            target.report("card declined", total: 3)
            return try await withServices([target.makeApplication()]) { () async throws -> T in
                let certificates = try TestCertificates()
                let leaf = try HubEndToEndTests.Leaf(
                    team: "payments", service: "checkout", targets: [await target.address()], directory: certificates.directory)
                try await leaf.start()
                let file = certificates.directory + "/web.yml"
                try web(certificates).write(toFile: file, atomically: true, encoding: .utf8)
                let webConfig = try WebConfig.load(file: file)
                let tls = try certificates.client()
                let result: T = try await withInProcessHub(
                    database: database, cluster: cluster, leaves: [("payments", leaf.port)], directory: certificates.directory, token: token,
                    webConfig: webConfig
                ) { (base: String) async throws -> T in try await body(HTTPTestClient(base: base, tls: tls), certificates) }
                await leaf.stop()
                return result
            }
        }
    }

    @Test func everyPathNeedsCredentialsAndTheTokenStillGuardsWrites() async throws {
        let alice = TestUsers.alice
        try await Self.withProtectedHub({ c in
            """
            tls_server_config: {cert_file: \(c.serverCert), key_file: \(c.serverKey)}
            http_server_config: {headers: {X-Content-Type-Options: nosniff, Content-Security-Policy: "default-src 'self'"}}
            basic_auth_users: {\(alice.name): \(alice.hash)}
            """
        }) { hub, _ in
            #expect(hub.base.hasPrefix("https://"))
            let asAlice = hub.with(headers: HTTPTestClient.basic(alice.name, alice.password))
            let withToken = hub.with(headers: ["Authorization": "Bearer \(Self.token)"])
            try await expectEventually(timeout: .seconds(30)) { try await HubAPITests.group(asAlice)?["total"] as? Int == 3 }
            let id = try #require(try await HubAPITests.group(asAlice)?["id"] as? Int)

            let paths = [
                "/", "/groups", "/groups/\(id)", "/leaves", "/graph?expr=canopy_exceptions_total", "/alerts", "/rules", "/api/v1/teams",
                "/api/v1/groups",
                "/api/v1/groups/\(id)", "/api/v1/leaves", "/api/v1/scrapes", "/api/v1/rules", "/api/v1/query?query=1", "/api/v1/labels", "/services/",
                "/services/payments:checkout/errors/", "/targets/", "/metrics", "/-/ready", "/-/healthy", "/static/canopy.css", "/static/canopy.js",
            ]
            let refusals: [(String, HTTPTestClient)] = [
                ("no credentials", hub),
                ("a wrong password", hub.with(headers: HTTPTestClient.basic(alice.name, "wrong"))),
                ("an unknown user", hub.with(headers: HTTPTestClient.basic("mallory", alice.password))),
            ]
            for path in paths {
                for (what, client) in refusals {
                    let answer = try await client.head(path)
                    #expect(answer.status == 401, "\(path) with \(what)")
                    #expect(answer.headers.first(name: "WWW-Authenticate") == "Basic realm=\"canopy\"", "\(path) with \(what)")
                    #expect(answer.headers.first(name: "Content-Security-Policy") == "default-src 'self'", "\(path) with \(what)")
                }
                let allowed = try await asAlice.head(path)
                #expect(allowed.status == 200, "\(path) with alice's password: \(allowed.body.prefix(300))")
                #expect(
                    allowed.headers.first(name: "Content-Security-Policy") == "default-src 'self'",
                    "the web config's policy replaces the pages' own on \(path)")
                #expect(try await withToken.get(path).status == 200, "\(path) with the API token")
            }
            let wrongToken = try await hub.head("/api/v1/teams", headers: ["Authorization": "Bearer nope"])
            #expect(wrongToken.status == 401 && wrongToken.headers.first(name: "WWW-Authenticate") == "Bearer realm=\"canopy\"")

            // A write needs the token exactly as without a web config: a user's password is not enough.
            let change = #"{"status": "resolved", "actor": "ann"}"#
            let byAlice = try await asAlice.request("/api/v1/groups/\(id)/status", method: .POST, body: change)
            #expect(byAlice.status == 401 && byAlice.body.contains("needs the API token"), "\(byAlice)")
            #expect(try await hub.request("/api/v1/groups/\(id)/status", method: .POST, body: change).status == 401)
            let byToken = try await withToken.request("/api/v1/groups/\(id)/status", method: .POST, body: change)
            #expect(byToken.status == 200, "\(byToken.body)")
            #expect(try await HubAPITests.group(asAlice)?["status"] as? String == "resolved")
            #expect(try await withToken.request("/-/reload", method: .POST).status == 200)

            await #expect(throws: (any Error).self, "plain HTTP on the TLS port") {
                _ = try await HTTPTestClient(base: hub.base.replacingOccurrences(of: "https:", with: "http:")).get("/-/healthy")
            }
        }
    }

    /// A leaf behind TLS (a certificate for `leaf.canopy.test` only), client certificates and
    /// basic auth; the hub's leaves job has the matching `tls_config` and `basic_auth`.
    @Test func theHubScrapesAProtectedLeafWithItsJobsCredentials() async throws {
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            let target = FakeTarget()
            target.report("card declined", total: 3)
            try await withServices([target.makeApplication()]) {
                let certificates = try TestCertificates(subjectAltName: "DNS:leaf.canopy.test")
                let directory = certificates.directory
                let alice = TestUsers.alice
                try """
                tls_server_config:
                  cert_file: \(certificates.serverCert)
                  key_file: \(certificates.serverKey)
                  client_auth_type: RequireAndVerifyClientCert
                  client_ca_file: \(certificates.ca)
                basic_auth_users: {\(alice.name): \(alice.hash)}
                """.write(toFile: directory + "/leaf-web.yml", atomically: true, encoding: .utf8)
                let leaf = try HubEndToEndTests.Leaf(team: "payments", service: "checkout", targets: [await target.address()], directory: directory)
                leaf.arguments = ["--web.config.file", directory + "/leaf-web.yml"]
                var leafTLS = try certificates.client(certificate: certificates.clientCert, key: certificates.clientKey)
                leafTLS.certificateVerification = .noHostnameVerification
                leaf.client = HTTPTestClient(
                    base: "https://127.0.0.1:\(leaf.port)", tls: leafTLS, headers: HTTPTestClient.basic(alice.name, alice.password))
                try await leaf.start()
                #expect(try await leaf.client.with(headers: [:]).get("/-/ready").status == 401, "the leaf is protected")

                // The password is read from its file at each scrape: wrong first, then right.
                let passwordFile = directory + "/leaf-password"
                try "not-the-password\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
                let job =
                    "scheme: https, basic_auth: {username: \(alice.name), password_file: \(passwordFile)}, tls_config: {ca_file: \(certificates.ca), "
                    + "server_name: leaf.canopy.test, cert_file: \(certificates.clientCert), key_file: \(certificates.clientKey)}"
                try await withInProcessHub(
                    database: database, cluster: cluster, leaves: [("payments", leaf.port)], directory: directory, leafJob: job
                ) { base in
                    let hub = HTTPTestClient(base: base)
                    func leafReport() async throws -> [String: Any]? { (try await hub.json("/api/v1/leaves") as? [[String: Any]])?.first }
                    try await expectEventually("the leaf is down with the 401 named", timeout: .seconds(30)) {
                        let report = try await leafReport()
                        return report?["health"] as? String == "down"
                            && (report?["last_error"] as? String ?? "").contains("HTTP status 401: check the job's basic_auth or authorization")
                    }
                    let metrics = try await hub.get("/metrics").body
                    let failures = metrics.split(separator: "\n").first { $0.hasPrefix("canopy_leaf_scrape_failures_total{leaf=\"payments\"") }
                    #expect(failures.map { !$0.hasSuffix(" 0") } == true, "the failed scrapes are counted: \(failures ?? "no such line")")
                    #expect(metrics.contains("canopy_leaf_up{leaf=\"payments\",instance=\"127.0.0.1:\(leaf.port)\"} 0"))
                    #expect(try await hub.get("/leaves").body.contains("HTTP status 401"), "the leaves page shows why")
                    #expect(try await HubAPITests.group(hub) == nil)

                    try "\(alice.password)\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
                    try await expectEventually("the hub has the leaf's exceptions", timeout: .seconds(30)) {
                        try await HubAPITests.group(hub)?["total"] as? Int == 3
                    }
                    #expect(try await leafReport()?["health"] as? String == "up")
                    // The group page asks the leaf for the instances, with the same credentials.
                    let id = try #require(try await HubAPITests.group(hub)?["id"] as? Int)
                    let page = try await hub.get("/groups/\(id)")
                    #expect(page.status == 200)
                    #expect(page.body.contains(await target.address()), "the group page lists the leaf's instance")
                    #expect(!page.body.contains("HTTP status"), "the leaf answered the group page's question")
                }
                await leaf.stop()
            }
        }
    }
}
