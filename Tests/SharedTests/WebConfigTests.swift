import CanopyTestSupport
import Foundation
import Logging
import NIOSSL
import Testing

@testable import Shared

/// The web config file as exporter-toolkit defines it: what loads, what is refused (with file,
/// line and key), and how credentials are checked.
@Suite struct WebConfigTests {
    static func directory() throws -> String {
        let path = NSTemporaryDirectory() + "canopy-webconfig-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The issues of `yaml`, as `file:line: key: message` lines.
    static func issues(_ yaml: String, file: String = "/etc/canopy/web.yml") -> [String] {
        do {
            _ = try WebConfig.parse(yaml, file: file)
            return []
        } catch {
            return error.issues.map(\.description)
        }
    }

    @Test func aFullConfigLoads() throws {
        let certificates = try TestCertificates()
        let config = try WebConfig.parse(
            """
            tls_server_config:
              cert_file: \(certificates.serverCert)
              key_file: \(certificates.serverKey)
              client_auth_type: RequireAndVerifyClientCert
              client_ca_file: \(certificates.ca)
              min_version: TLS12
              max_version: TLS13
              cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256]
              curve_preferences: [X25519, CurveP256]
              prefer_server_cipher_suites: true
            http_server_config:
              http2: false
              headers:
                X-Frame-Options: deny
                Strict-Transport-Security: max-age=31536000
            basic_auth_users:
              \(TestUsers.alice.name): \(TestUsers.alice.hash)
              \(TestUsers.carol.name): '\(TestUsers.carol.hash)'
            """, file: "web.yml")
        let tls = try #require(config.tls)
        #expect(tls.clientAuth == .requireAndVerifyClientCert)
        #expect(tls.cipherSuites == [.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384])
        #expect(tls.curves == [.x25519, .secp256r1])
        #expect(config.users == [TestUsers.alice.name: TestUsers.alice.hash, TestUsers.carol.name: TestUsers.carol.hash])
        #expect(config.headers.map(\.name) == ["X-Frame-Options", "Strict-Transport-Security"])
        #expect(config.summary == "TLS (RequireAndVerifyClientCert), 2 users, 2 headers")
    }

    @Test func anEmptyFileOrEmptyTLSSectionServesPlainHTTPToAnyone() throws {
        #expect(try WebConfig.parse("", file: "web.yml").summary == "no TLS, no users")
        #expect(try WebConfig.parse("tls_server_config: {}\nbasic_auth_users: {}\n", file: "web.yml").tls == nil)
    }

    @Test func relativePathsAreRelativeToTheFile() throws {
        let certificates = try TestCertificates()
        let file = certificates.directory + "/web.yml"
        try "tls_server_config: {cert_file: server.pem, key_file: server-key.pem}\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(try WebConfig.load(file: file).isTLS)
    }

    @Test func badEntriesAreNamedWithFileLineAndKey() throws {
        let certificates = try TestCertificates()
        #expect(
            Self.issues(
                """
                basic_auth_users:
                  alice: plaintext-password
                  bob: \(TestUsers.bob.hash)
                """) == [
                    "/etc/canopy/web.yml:2:10: basic_auth_users.alice: not a bcrypt hash (\"$2y$10$\" and 53 characters); make one with `htpasswd -nBC 10 alice`"
                ])
        #expect(Self.issues("tls_server_config:\n  colour: blue\n") == ["/etc/canopy/web.yml:2:3: tls_server_config.colour: unknown key colour"])
        #expect(Self.issues("basic_auth_user:\n  alice: x\n") == ["/etc/canopy/web.yml:1:1: basic_auth_user: unknown key basic_auth_user"])
        #expect(
            Self.issues("tls_server_config:\n  cert_file: /nonexistent/cert.pem\n  key_file: \(certificates.serverKey)\n")
                == ["/etc/canopy/web.yml:2:14: tls_server_config.cert_file: cannot read /nonexistent/cert.pem"])
        #expect(
            Self.issues(
                "tls_server_config:\n  cert_file: \(certificates.serverCert)\n  key_file: \(certificates.serverKey)\n  client_auth_type: RequireCert\n"
            )
                == [
                    "/etc/canopy/web.yml:4:21: tls_server_config.client_auth_type: unknown client_auth_type \"RequireCert\" (one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)"
                ])
    }

    @Test func tlsSettingsThatCannotWorkAreRefused() throws {
        let c = try TestCertificates()
        let pair = "cert_file: \(c.serverCert), key_file: \(c.serverKey)"
        func first(_ tls: String) -> String { Self.issues("tls_server_config: {\(tls)}\n").first ?? "accepted" }
        #expect(first("cert_file: \(c.serverCert)").hasSuffix("tls_server_config: missing key_file (the certificate's private key, PEM)"))
        #expect(
            first("\(pair), client_ca_file: /nonexistent/ca.pem, client_auth_type: RequireAndVerifyClientCert").contains(
                "client_ca_file: cannot read /nonexistent/ca.pem"))
        #expect(first("\(pair), client_ca_file: \(c.ca)").contains("client_ca_file is set but client_auth_type is NoClientCert"))
        #expect(first("\(pair), client_auth_type: VerifyClientCertIfGiven").contains("VerifyClientCertIfGiven needs client_ca_file"))
        #expect(first("cert_file: \(c.serverCert), key_file: \(c.strangerKey)").contains("does key_file belong to cert_file?"))
        #expect(first("cert_file: \(c.serverKey), key_file: \(c.serverKey)").contains("holds no valid PEM certificate"))
        #expect(first("\(pair), min_version: TLS13, max_version: TLS12").contains("tls_server_config.min_version: min_version is above max_version"))
        #expect(first("\(pair), max_version: TLS11").contains("tls_server_config.max_version: min_version is above max_version"))
        #expect(first("\(pair), min_version: SSL3").contains("unknown TLS version \"SSL3\" (one of TLS10, TLS11, TLS12, TLS13)"))
        #expect(
            first("\(pair), cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]").contains(
                "tls_server_config.cipher_suites[0]: TLS_RSA_WITH_AES_128_CBC_SHA is insecure"))
        #expect(
            first("\(pair), cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, AES128-SHA]").contains(
                "cipher_suites[1]: unknown cipher suite AES128-SHA"))
        #expect(first("\(pair), curve_preferences: [CurveP192]").contains("unknown curve CurveP192"))
        #expect(first("\(pair), client_allowed_sans: [a]").contains("tls_server_config.client_allowed_sans: not supported by Canopy"))
        #expect(first("cert_file: \(c.serverCert), cert: x, key_file: \(c.serverKey)").contains("cert_file and cert are mutually exclusive"))
    }

    @Test func headersFollowExporterToolkitsRules() throws {
        #expect(Self.issues("http_server_config: {headers: {X-Frame-Options: sameorigin, Content-Security-Policy: \"default-src 'self'\"}}").isEmpty)
        #expect(
            Self.issues("http_server_config:\n  headers:\n    Set-Cookie: a=b\n").first?.hasPrefix(
                "/etc/canopy/web.yml:3:17: http_server_config.headers.Set-Cookie: the header Set-Cookie cannot be configured (only Strict-Transport-Security,"
            ) == true)
        #expect(
            Self.issues("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n")
                == [
                    "/etc/canopy/web.yml:3:29: http_server_config.headers.X-Content-Type-Options: X-Content-Type-Options must be one of nosniff, not \"sniff\""
                ])
        #expect(Self.issues("http_server_config: {http2: maybe}").first?.contains("http_server_config.http2: expected true or false") == true)
        #expect(Self.issues("rate_limit: {burst: 10}").first?.contains("rate_limit: not supported by Canopy") == true)
    }

    @Test func bcryptHashesFromHtpasswdAndItsVariantsVerify() {
        let alice = TestUsers.alice
        #expect(BcryptHash.isValid(alice.hash))
        #expect(BcryptHash.verify(alice.password, hash: alice.hash))
        // `$2b$` and `$2a$` name the same computation for passwords of ASCII and under 72 bytes.
        #expect(BcryptHash.verify(alice.password, hash: "$2b$" + alice.hash.dropFirst(4)))
        #expect(BcryptHash.verify(alice.password, hash: "$2a$" + alice.hash.dropFirst(4)))
        #expect(!BcryptHash.verify("Secret", hash: alice.hash))
        #expect(BcryptHash.isValid(BcryptHash.unknownUser))
        #expect(!BcryptHash.isValid("$2x$04$q/2gymeJtZgMWq/tRtfAhOWLiwwGix7eaLAGWTRg/UZh/uX/yJNdO"))
        #expect(!BcryptHash.isValid("$2y$03$q/2gymeJtZgMWq/tRtfAhOWLiwwGix7eaLAGWTRg/UZh/uX/yJNdO"))
        #expect(!BcryptHash.isValid("$2y$04$q/2gymeJtZgMWq/tRtfAhOWLiwwGix7eaLAGWTRg/UZh/uX/yJNd"))
    }

    static func access(_ yaml: String, token: Secret? = nil) throws -> WebAccess {
        WebAccess(config: try WebConfig.parse(yaml, file: "web.yml"), logger: Logger(label: "test"), token: { token })
    }

    static func basic(_ user: String, _ password: String) -> String { "Basic " + Data("\(user):\(password)".utf8).base64EncodedString() }

    @Test func credentialsAreCheckedAndSuccessesCached() async throws {
        let alice = TestUsers.alice
        let access = try Self.access("basic_auth_users: {\(alice.name): \(alice.hash)}", token: .inline("the-token"))
        let basic = WebAccess.Verdict.refused(challenge: "Basic realm=\"canopy\"")
        #expect(await access.check(authorization: nil) == basic)
        #expect(await access.check(authorization: "Basic not-base64!") == basic)
        #expect(await access.check(authorization: Self.basic(alice.name, "wrong")) == basic)
        #expect(await access.check(authorization: Self.basic("mallory", alice.password)) == basic)
        #expect(await access.check(authorization: "Digest username=alice") == basic)
        // The API token is a credential of its own; a wrong one is refused with a Bearer challenge.
        #expect(await access.check(authorization: "Bearer the-token") == .allowed)
        #expect(await access.check(authorization: "Bearer the-tokem") == .refused(challenge: "Bearer realm=\"canopy\""))
        #expect(access.bcryptRuns.load(ordering: .relaxed) == 2, "bcrypt ran for the wrong password and the unknown user only")

        for _ in 0..<20 { #expect(await access.check(authorization: Self.basic(alice.name, alice.password)) == .allowed) }
        #expect(access.bcryptRuns.load(ordering: .relaxed) == 3, "bcrypt ran once for 20 requests with the same credentials")
        // A wrong password is never cached as a success, and never lets the right one out of the cache.
        #expect(await access.check(authorization: Self.basic(alice.name, alice.password + "x")) == basic)
        #expect(await access.check(authorization: Self.basic(alice.name, alice.password)) == .allowed)
        #expect(access.bcryptRuns.load(ordering: .relaxed) == 4)
    }

    @Test func withoutUsersAnyoneMayAskAndABearerAloneOpensNothing() async throws {
        #expect(await try Self.access("http_server_config: {headers: {X-Frame-Options: deny}}").check(authorization: nil) == .allowed)
        let leaf = try Self.access("basic_auth_users: {\(TestUsers.alice.name): \(TestUsers.alice.hash)}")
        #expect(await leaf.check(authorization: "Bearer anything") == .refused(challenge: "Basic realm=\"canopy\""))
    }

    @Test func aReloadSwapsUsersButNeverSwitchesTLS() async throws {
        let certificates = try TestCertificates()
        let file = try Self.directory() + "/web.yml"
        let (alice, bob) = (TestUsers.alice, TestUsers.bob)
        try "basic_auth_users: {\(alice.name): \(alice.hash)}\n".write(toFile: file, atomically: true, encoding: .utf8)
        let access = WebAccess(config: try WebConfig.load(file: file), logger: Logger(label: "test"))
        #expect(await access.check(authorization: Self.basic(alice.name, alice.password)) == .allowed)

        try "basic_auth_users: {\(bob.name): \(bob.hash)}\n".write(toFile: file, atomically: true, encoding: .utf8)
        try access.reload()
        #expect(await access.check(authorization: Self.basic(alice.name, alice.password)) != .allowed)
        #expect(await access.check(authorization: Self.basic(bob.name, bob.password)) == .allowed)

        try "basic_auth_users: {\(alice.name): plain}\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: ConfigError.self) { try access.reload() }
        #expect(await access.check(authorization: Self.basic(bob.name, bob.password)) == .allowed, "a broken file leaves the old users in force")

        try "tls_server_config: {cert_file: \(certificates.serverCert), key_file: \(certificates.serverKey)}\n".write(
            toFile: file, atomically: true, encoding: .utf8)
        let error = try #require(throws: ConfigError.self) { try access.reload() }
        #expect("\(error)" == "\(file): tls_server_config: TLS cannot be switched on by a reload: restart the server to serve HTTPS")
        #expect(!access.isTLS)
    }
}
