import CanopyTestSupport
import Foundation
import NIOSSL
import Shared
import Testing

@testable import Leaf

/// `--web.config.file` on a real leaf over real TLS: every path answers 401 without valid
/// credentials, the client-certificate modes do what Go's do, and a reload swaps users, headers
/// and certificates while refusing a broken file.
@Suite struct LeafWebConfigTests {
    /// Every kind of thing a leaf serves: pages, the team API, the Periskop server API, operations, assets.
    static let paths = [
        "/groups", "/groups/checkout/card%20declined", "/targets", "/api/v1/services", "/api/v1/services/checkout/errors", "/api/v1/targets",
        "/api/v1/federate", "/services/", "/services/checkout/errors/", "/targets/", "/metrics", "/-/ready", "/-/healthy", "/static/canopy.css",
        "/static/canopy.js",
    ]

    static func write(_ yaml: String, to directory: String) throws -> String {
        let file = directory + "/web.yml"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    /// The message of an error answer, `{"error": {"message": ...}}`.
    static func errorMessage(_ body: String) throws -> String {
        let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        return try #require((object?["error"] as? [String: Any])?["message"] as? String, "not an error answer: \(body)")
    }

    static func tlsSection(_ certificates: TestCertificates, extra: String = "") -> String {
        "tls_server_config: {cert_file: \(certificates.serverCert), key_file: \(certificates.serverKey)\(extra)}"
    }

    /// A leaf scraping one target (service checkout, one group) behind `webConfig`.
    static func withLeaf<T: Sendable>(webConfig: String, in directory: String, _ body: (RunningLeaf, FakeTarget) async throws -> T) async throws -> T
    {
        let target = FakeTarget()
        target.report("card declined", total: 3)
        return try await withServices([target.makeApplication()]) {
            let config = try LeafHarness.config(
                """
                global: {scrape_interval: 200ms, scrape_timeout: 200ms, external_labels: {team: payments}}
                services:
                - name: checkout
                  static_configs: [{targets: ['\(await target.address())']}]
                  scraper: {endpoint: /-/exceptions}
                """)
            let web = try WebConfig.load(file: try Self.write(webConfig, to: directory))
            return try await LeafHarness.run(config, dataDir: directory + "/data", webConfig: web) { leaf in try await body(leaf, target) }
        }
    }

    @Test func everyPathNeedsCredentialsOverTLS() async throws {
        let certificates = try TestCertificates()
        let (alice, carol) = (TestUsers.alice, TestUsers.carol)
        let web = """
            \(Self.tlsSection(certificates))
            http_server_config: {headers: {X-Frame-Options: deny, Strict-Transport-Security: max-age=300}}
            basic_auth_users: {\(alice.name): \(alice.hash), \(carol.name): '\(carol.hash)'}
            """
        try await Self.withLeaf(webConfig: web, in: certificates.directory) { leaf, _ in
            #expect(leaf.base.hasPrefix("https://"))
            let anonymous = leaf.with(tls: try certificates.client())
            let allowed = anonymous.with(headers: HTTPTestClient.basic(alice.name, alice.password))
            _ = try await eventually(timeout: .seconds(20)) { (try? await allowed.totals(of: "checkout")) == ["card declined": 3] }

            let refusals: [(String, HTTPTestClient)] = [
                ("no credentials", anonymous),
                ("a wrong password", anonymous.with(headers: HTTPTestClient.basic(alice.name, "wrong"))),
                ("an unknown user", anonymous.with(headers: HTTPTestClient.basic("mallory", alice.password))),
                ("a bearer token (the leaf has none)", anonymous.with(headers: ["Authorization": "Bearer secret"])),
            ]
            for path in Self.paths + ["/no-such-page"] {
                for (what, client) in refusals {
                    let answer = try await client.head(path)
                    #expect(answer.status == 401, "\(path) with \(what)")
                    #expect(answer.headers.first(name: "WWW-Authenticate") == "Basic realm=\"canopy\"", "\(path) with \(what)")
                    #expect(answer.headers.first(name: "X-Frame-Options") == "deny", "\(path) with \(what): the configured headers")
                    #expect(!answer.body.contains("card declined"), "\(path) with \(what) leaks data")
                }
            }
            // Wrong password and unknown user cannot be told apart.
            let wrong = try await refusals[1].1.head("/groups")
            let unknown = try await refusals[2].1.head("/groups")
            #expect(wrong.body == unknown.body && wrong.headers.first(name: "Content-Length") == unknown.headers.first(name: "Content-Length"))

            for path in Self.paths {
                let answer = try await allowed.head(path)
                #expect(answer.status == 200, "\(path) with alice's password: \(answer.body.prefix(200))")
                #expect(answer.headers.first(name: "Strict-Transport-Security") == "max-age=300", "\(path)")
                #expect(answer.headers.first(name: "X-Frame-Options") == "deny", "\(path)")
            }
            #expect(try await allowed.get("/no-such-page").status == 404)
            // carol's hash has cost 10, as operators make them.
            #expect(try await anonymous.with(headers: HTTPTestClient.basic(carol.name, carol.password)).get("/api/v1/services").status == 200)
            #expect(try await allowed.request("/-/reload", method: .POST).status == 200)
            #expect(try await anonymous.request("/-/reload", method: .POST).status == 401)

            // Plain HTTP on the TLS port: no answer at all.
            let plain = HTTPTestClient(
                base: leaf.base.replacingOccurrences(of: "https://", with: "http://"), headers: HTTPTestClient.basic(alice.name, alice.password))
            await #expect(throws: (any Error).self) { _ = try await plain.get("/-/healthy") }
            // A client that does not trust the CA does not get through either.
            await #expect(throws: (any Error).self) { _ = try await allowed.with(tls: .makeClientConfiguration()).get("/-/healthy") }
        }
    }

    @Test func clientCertificateModesAreGosModes() async throws {
        let certificates = try TestCertificates()
        let none = try certificates.client()
        let ours = try certificates.client(certificate: certificates.clientCert, key: certificates.clientKey)
        let stranger = try certificates.client(certificate: certificates.strangerCert, key: certificates.strangerKey)
        // For each mode: does a client without a certificate, with one from our CA, with one from elsewhere get in?
        let modes: [(String, [Bool])] = [
            ("NoClientCert", [true, true, true]),
            ("RequestClientCert", [true, true, true]),
            ("RequireAnyClientCert", [false, true, true]),
            ("VerifyClientCertIfGiven", [true, true, false]),
            ("RequireAndVerifyClientCert", [false, true, false]),
        ]
        for (mode, expected) in modes {
            let ca = mode == "NoClientCert" ? "" : ", client_ca_file: \(certificates.ca)"
            let web = Self.tlsSection(certificates, extra: ", client_auth_type: \(mode)\(ca)")
            let directory = certificates.directory + "/\(mode)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try await Self.withLeaf(webConfig: web, in: directory) { leaf, _ in
                for (client, (name, admitted)) in zip([none, ours, stranger], zip(["no certificate", "our CA's", "a stranger's"], expected)) {
                    let status = try? await leaf.with(tls: client).get("/-/healthy").status
                    #expect(status == (admitted ? 200 : nil), "\(mode) with \(name): \(status.map(String.init) ?? "refused")")
                }
            }
        }
    }

    @Test func aReloadSwapsUsersHeadersAndCertificatesAndRefusesABrokenFile() async throws {
        let certificates = try TestCertificates()
        let (alice, bob) = (TestUsers.alice, TestUsers.bob)
        let file = certificates.directory + "/web.yml"
        func web(_ user: (name: String, password: String, hash: String), frame: String) -> String {
            "\(Self.tlsSection(certificates))\nhttp_server_config: {headers: {X-Frame-Options: \(frame)}}\nbasic_auth_users: {\(user.name): \(user.hash)}\n"
        }
        try await Self.withLeaf(webConfig: web(alice, frame: "deny"), in: certificates.directory) { leaf, _ in
            let client = leaf.with(tls: try certificates.client())
            let asAlice = client.with(headers: HTTPTestClient.basic(alice.name, alice.password))
            let asBob = client.with(headers: HTTPTestClient.basic(bob.name, bob.password))
            #expect(try await asAlice.get("/api/v1/services").status == 200)
            #expect(try await asBob.get("/api/v1/services").status == 401)

            try web(bob, frame: "sameorigin").write(toFile: file, atomically: true, encoding: .utf8)
            #expect(try await asAlice.request("/-/reload", method: .POST).status == 200)
            #expect(try await asAlice.get("/api/v1/services").status == 401, "alice's password no longer opens the leaf")
            let bobs = try await asBob.head("/api/v1/services")
            #expect(bobs.status == 200)
            #expect(bobs.headers.first(name: "X-Frame-Options") == "sameorigin")

            // A broken file is refused with its errors; bob's password still works.
            try "\(Self.tlsSection(certificates))\nbasic_auth_users: {bob: hunter2}\n".write(toFile: file, atomically: true, encoding: .utf8)
            let refused = try await asBob.request("/-/reload", method: .POST)
            #expect(refused.status == 400)
            let message = try Self.errorMessage(refused.body)
            #expect(message.contains("\(file):2:25: basic_auth_users.bob: not a bcrypt hash"), "\(message)")
            #expect(try await asBob.get("/api/v1/services").status == 200)

            // Switching TLS off needs a restart.
            try "basic_auth_users: {\(bob.name): \(bob.hash)}\n".write(toFile: file, atomically: true, encoding: .utf8)
            let off = try await asBob.request("/-/reload", method: .POST)
            #expect(off.status == 400 && off.body.contains("TLS cannot be switched off by a reload: restart the server"), "\(off.body)")

            // New certificate files: new connections get them, without a restart.
            let newCA = try certificates.rotateServerCertificate()
            let trustsNew = asBob.with(tls: try certificates.client(trusting: newCA))
            await #expect(throws: (any Error).self, "before the reload the leaf still presents the old certificate") {
                _ = try await trustsNew.get("/-/healthy")
            }
            try web(bob, frame: "deny").write(toFile: file, atomically: true, encoding: .utf8)
            #expect(try await asBob.request("/-/reload", method: .POST).status == 200)
            #expect(try await trustsNew.get("/-/healthy").status == 200)
            // Settings unlike any used before, so that no connection opened before the reload is reused.
            var trustsOld = try certificates.client()
            trustsOld.minimumTLSVersion = .tlsv12
            await #expect(throws: (any Error).self, "a client that trusts only the old CA is refused now") {
                _ = try await asBob.with(tls: trustsOld).get("/-/healthy")
            }
        }
    }

    /// The binary, as an operator runs it: check-config names the problems, SIGHUP reloads.
    @Test func theBinaryChecksServesAndReloadsOnHangup() async throws {
        let certificates = try TestCertificates()
        let (alice, bob) = (TestUsers.alice, TestUsers.bob)
        let file = certificates.directory + "/web.yml"
        try "\(Self.tlsSection(certificates))\nbasic_auth_users:\n  \(alice.name): \(alice.hash)\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        let checked = try LeafProcess.run(["check-config", "--web.config.file", file])
        #expect(checked.status == 0 && checked.output.contains("\(file): OK (web config: TLS (NoClientCert), 1 user)"), "\(checked.output)")
        let example = LeafProcess.packageRoot.appendingPathComponent("deploy/web.example.yml").path
        let exampleChecked = try LeafProcess.run(["check-config", "--web.config.file", example])
        #expect(
            exampleChecked.status == 0 && exampleChecked.output.contains("OK (web config: no TLS, no users, 1 header)"), "\(exampleChecked.output)")

        let broken = certificates.directory + "/broken.yml"
        try
            "tls_server_config:\n  cert_file: missing.pem\n  key_file: \(certificates.serverKey)\n  client_auth_type: Sometimes\nbasic_auth_users:\n  eve: plain\n"
            .write(toFile: broken, atomically: true, encoding: .utf8)
        let leafConfig = certificates.directory + "/leaf.yml"
        try "global: {external_labels: {team: payments}}\n".write(toFile: leafConfig, atomically: true, encoding: .utf8)
        let refused = try LeafProcess.run(["check-config", "--web.config.file", broken, leafConfig])
        #expect(refused.status == 1)
        #expect(
            refused.output.contains("\(broken):4:21: tls_server_config.client_auth_type: unknown client_auth_type \"Sometimes\""), "\(refused.output)"
        )
        #expect(refused.output.contains("\(broken):6:8: basic_auth_users.eve: not a bcrypt hash"), "\(refused.output)")
        #expect(
            refused.output.contains("\(broken):2:14: tls_server_config.cert_file: cannot read \(certificates.directory)/missing.pem"),
            "\(refused.output)")
        #expect(refused.output.contains("\(leafConfig): OK"), "the leaf's config is checked too: \(refused.output)")
        let notStarted = try LeafProcess.run(["--web.config.file", broken, "--listen", "127.0.0.1:0"])
        #expect(notStarted.status == 1 && notStarted.output.contains("the web config has errors"), "\(notStarted.output)")

        let leaf = try LeafProcess.start(["--web.config.file", file, "--data-dir", certificates.directory + "/data"])
        let client = HTTPTestClient(base: try await leaf.base(scheme: "https"), tls: try certificates.client())
        #expect(leaf.log.contains("https://127.0.0.1:"), "the leaf logs its https URL")
        #expect(try await client.get("/-/ready").status == 401)
        #expect(try await client.with(headers: HTTPTestClient.basic(alice.name, alice.password)).get("/-/ready").status == 200)

        try "\(Self.tlsSection(certificates))\nbasic_auth_users:\n  \(bob.name): \(bob.hash)\n".write(toFile: file, atomically: true, encoding: .utf8)
        leaf.send(SIGHUP)
        let asBob = client.with(headers: HTTPTestClient.basic(bob.name, bob.password))
        let reloaded = try await eventually(timeout: .seconds(10)) { (try? await asBob.get("/-/ready").status) == 200 }
        #expect(reloaded, "SIGHUP reloads the web config:\n\(leaf.log.suffix(2000))")
        #expect(try await client.with(headers: HTTPTestClient.basic(alice.name, alice.password)).get("/-/ready").status == 401)
        // The client keeps its connections open; SIGTERM still ends the leaf at once (it does not
        // wait the 5 s TLS default for a close_notify that an idle client never sends).
        let stopping = ContinuousClock.now
        #expect(await leaf.stop() == 0)
        #expect(ContinuousClock.now - stopping < .seconds(3), "SIGTERM took \(ContinuousClock.now - stopping)")
    }
}
