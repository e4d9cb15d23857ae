import Foundation
import NIOSSL

/// `--web.config.file`: TLS, response headers and basic-auth users, in the format of
/// Prometheus's exporter-toolkit, so that one file (and the same habits) serve Prometheus,
/// its exporters and Canopy. Read whole on start and on every reload; a file with any problem
/// is refused whole, each problem named with its line and key.
public struct WebConfig: Sendable {
    public var file: String
    /// nil: plain HTTP.
    public var tls: WebTLSConfig?
    /// Set on every response, replacing what the server would send.
    public var headers: [(name: String, value: String)] = []
    /// User name to bcrypt hash. Empty: no authentication.
    public var users: [String: String] = [:]

    public init(file: String) { self.file = file }

    public static func load(file: String) throws(ConfigError) -> WebConfig {
        try parse(try ConfigReader.text(of: file), file: file)
    }

    public static func parse(_ text: String, file: String) throws(ConfigError) -> WebConfig {
        let reader = ConfigReader(file: file)
        var config = WebConfig(file: file)
        if let root = reader.root(of: text), let top = root.mapping() {
            if let value = top.optional("tls_server_config") { config.tls = WebTLSConfig.read(value, reader: reader) }
            if let value = top.optional("http_server_config"), let http = value.mapping() {
                // Canopy serves HTTP/1.1 only; `http2` is accepted so that a file written for
                // Prometheus still loads (exporter-toolkit too serves HTTP/2 only over TLS).
                _ = http.optional("http2")?.bool()
                if let headers = http.optional("headers")?.mapping() {
                    for entry in headers.allEntries() {
                        guard let value = entry.value.string() else { continue }
                        if let problem = Self.headerProblem(entry.key, value) {
                            reader.issue(problem, at: entry.value)
                        } else {
                            config.headers.append((entry.key, value))
                        }
                    }
                }
                http.finish()
            }
            if let users = top.optional("basic_auth_users")?.mapping() {
                for entry in users.allEntries() {
                    guard let hash = entry.value.string() else { continue }
                    if entry.key.isEmpty || entry.key.contains(":") {
                        reader.issue("a user name must be non-empty and hold no colon (basic auth splits at the first one)", at: entry.value)
                    } else if !BcryptHash.isValid(hash) {
                        reader.issue(
                            "not a bcrypt hash (\"$2y$10$\" and 53 characters); make one with `htpasswd -nBC 10 \(entry.key)`", at: entry.value)
                    } else {
                        config.users[entry.key] = hash
                    }
                }
            }
            for key in ["rate_limit"] where top.has(key) {
                top.ignore(key)
                reader.issue("not supported by Canopy (put a proxy in front to limit rates)", path: top.path(of: key), mark: top.keyMark(key))
            }
            top.finish()
        }
        try reader.finish()
        return config
    }

    /// The headers exporter-toolkit lets a web config set, with the values it allows (nil: any):
    /// the same rules, so that a file accepted here is accepted there and the other way round.
    static let allowedHeaders: [(name: String, values: [String]?)] = [
        ("Strict-Transport-Security", nil),
        ("X-Content-Type-Options", ["nosniff"]),
        ("X-Frame-Options", ["deny", "sameorigin"]),
        ("X-XSS-Protection", nil),
        ("Content-Security-Policy", nil),
    ]

    static func headerProblem(_ name: String, _ value: String) -> String? {
        guard let allowed = allowedHeaders.first(where: { $0.name == name }) else {
            return "the header \(name) cannot be configured (only \(allowedHeaders.map(\.name).joined(separator: ", ")))"
        }
        if let values = allowed.values, !values.contains(value) {
            return "\(name) must be one of \(values.joined(separator: ", ")), not \"\(value)\""
        }
        if value.contains(where: { $0 == "\r" || $0 == "\n" }) { return "a header value must be one line" }
        return nil
    }

    public var isTLS: Bool { tls != nil }

    /// What `check-config` prints for a file that passed.
    public var summary: String {
        var parts = [tls.map { "TLS (\($0.clientAuth.rawValue))" } ?? "no TLS"]
        parts.append(users.isEmpty ? "no users" : "\(users.count) user\(users.count == 1 ? "" : "s")")
        if !headers.isEmpty { parts.append("\(headers.count) header\(headers.count == 1 ? "" : "s")") }
        return parts.joined(separator: ", ")
    }
}

/// `tls_server_config`. The certificate, key and client CA are loaded (and a server context
/// built from them) when the file is read, so that a bad file fails the check, the start or the
/// reload, never a connection.
public struct WebTLSConfig: Sendable {
    public enum ClientAuth: String, Sendable, CaseIterable {
        case noClientCert = "NoClientCert"
        case requestClientCert = "RequestClientCert"
        case requireAnyClientCert = "RequireAnyClientCert"
        case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
        case requireAndVerifyClientCert = "RequireAndVerifyClientCert"

        var verifies: Bool { self == .verifyClientCertIfGiven || self == .requireAndVerifyClientCert }
    }

    public var clientAuth: ClientAuth = .noClientCert
    public var minVersion: TLSVersion = .tlsv12
    public var maxVersion: TLSVersion = .tlsv13
    /// Empty: BoringSSL's defaults.
    public var cipherSuites: [NIOTLSCipher] = []
    public var curves: [NIOTLSCurve] = []
    /// What every new connection is served with.
    public let server: WebTLSServer

    init(
        clientAuth: ClientAuth, minVersion: TLSVersion, maxVersion: TLSVersion, cipherSuites: [NIOTLSCipher], curves: [NIOTLSCurve],
        server: WebTLSServer
    ) {
        self.clientAuth = clientAuth
        self.minVersion = minVersion
        self.maxVersion = maxVersion
        self.cipherSuites = cipherSuites
        self.curves = curves
        self.server = server
    }

    /// Go's names (`crypto/tls`) of the suites Go calls secure, which BoringSSL does too. TLS 1.3's
    /// suites are accepted and left to the library: neither Go nor BoringSSL lets them be chosen.
    static let cipherNames: [String: NIOTLSCipher] = [
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": .TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": .TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": .TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": .TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ]
    static let tls13CipherNames: Set<String> = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]
    /// Suites Go knows but calls insecure (exporter-toolkit refuses them too).
    static let insecureCipherNames: Set<String> = [
        "TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_256_CBC_SHA",
        "TLS_RSA_WITH_AES_128_CBC_SHA256", "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
        "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    ]
    static let versions: [(name: String, version: TLSVersion)] = [("TLS10", .tlsv1), ("TLS11", .tlsv11), ("TLS12", .tlsv12), ("TLS13", .tlsv13)]
    static let curveNames: [String: NIOTLSCurve] = ["CurveP256": .secp256r1, "CurveP384": .secp384r1, "CurveP521": .secp521r1, "X25519": .x25519]

    /// A PEM given as a file or inline, as exporter-toolkit has `cert_file` beside `cert`.
    enum PEM {
        case file(String)
        case inline(String)

        var bytes: [UInt8]? {
            switch self {
            case .file(let path): FileManager.default.contents(atPath: path).map { Array($0) }
            case .inline(let text): Array(text.utf8)
            }
        }
    }

    /// nil when the mapping is empty (exporter-toolkit too serves plain HTTP then) or wrong.
    static func read(_ value: ConfigValue, reader: ConfigReader) -> WebTLSConfig? {
        guard let mapping = value.mapping() else { return nil }
        defer { mapping.finish() }
        let issuesBefore = reader.issues.count
        func pem(file fileKey: String, inline inlineKey: String) -> (PEM, ConfigValue)? {
            let file = mapping.optional(fileKey)
            let inline = mapping.optional(inlineKey)
            if file != nil && inline != nil { reader.issue("\(fileKey) and \(inlineKey) are mutually exclusive", at: inline!) }
            if let file, let path = file.nonEmptyString() { return (.file(reader.resolvePath(path)), file) }
            if let inline, let text = inline.nonEmptyString() { return (.inline(text), inline) }
            return nil
        }
        let certificate = pem(file: "cert_file", inline: "cert")
        let key = pem(file: "key_file", inline: "key")
        let clientCA = pem(file: "client_ca_file", inline: "client_ca")
        var clientAuth = ClientAuth.noClientCert
        let clientAuthValue = mapping.optional("client_auth_type")
        if let clientAuthValue, let text = clientAuthValue.string() {
            // "RequireClientCert" is exporter-toolkit's old name, still accepted there.
            if let parsed = ClientAuth(rawValue: text == "RequireClientCert" ? "RequireAnyClientCert" : text) {
                clientAuth = parsed
            } else {
                reader.issue(
                    "unknown client_auth_type \"\(text)\" (one of \(ClientAuth.allCases.map(\.rawValue).joined(separator: ", ")))",
                    at: clientAuthValue)
            }
        }
        func version(_ key: String) -> TLSVersion? {
            guard let value = mapping.optional(key), let text = value.string() else { return nil }
            guard let version = versions.firstIndex(where: { $0.name == text }) else {
                reader.issue("unknown TLS version \"\(text)\" (one of \(versions.map(\.name).joined(separator: ", ")))", at: value)
                return nil
            }
            return versions[version].version
        }
        let minVersion = version("min_version") ?? .tlsv12
        let maxVersion = version("max_version") ?? .tlsv13
        func rank(_ version: TLSVersion) -> Int { versions.firstIndex { $0.version == version } ?? 0 }
        if rank(minVersion) > rank(maxVersion) {
            reader.issue("min_version is above max_version", at: mapping.optional("min_version") ?? mapping.optional("max_version") ?? value)
        }
        var ciphers: [NIOTLSCipher] = []
        for entry in mapping.optional("cipher_suites")?.sequence() ?? [] {
            guard let name = entry.string() else { continue }
            if let cipher = cipherNames[name] {
                ciphers.append(cipher)
            } else if tls13CipherNames.contains(name) {
                continue
            } else if insecureCipherNames.contains(name) {
                reader.issue("\(name) is insecure and not offered (exporter-toolkit refuses it too)", at: entry)
            } else {
                reader.issue("unknown cipher suite \(name) (Go's names: \(cipherNames.keys.sorted().joined(separator: ", ")))", at: entry)
            }
        }
        var curves: [NIOTLSCurve] = []
        for entry in mapping.optional("curve_preferences")?.sequence() ?? [] {
            guard let name = entry.string() else { continue }
            if let curve = curveNames[name] {
                curves.append(curve)
            } else {
                reader.issue("unknown curve \(name) (one of \(curveNames.keys.sorted().joined(separator: ", ")))", at: entry)
            }
        }
        // Go no longer acts on it either.
        _ = mapping.optional("prefer_server_cipher_suites")?.bool()
        if mapping.has("client_allowed_sans") {
            mapping.ignore("client_allowed_sans")
            reader.issue(
                "not supported by Canopy: use client_ca_file to choose who may connect", path: mapping.path(of: "client_allowed_sans"),
                mark: mapping.keyMark("client_allowed_sans"))
        }

        let enabled = certificate != nil || key != nil || clientCA != nil || clientAuthValue != nil
        guard enabled else { return nil }
        guard let certificate else {
            reader.issue("missing cert_file (the server's certificate, PEM)", at: value)
            return nil
        }
        guard let key else {
            reader.issue("missing key_file (the certificate's private key, PEM)", at: value)
            return nil
        }
        if clientCA != nil && clientAuth == .noClientCert {
            reader.issue("client_ca_file is set but client_auth_type is NoClientCert: set client_auth_type to say what is checked", at: clientCA!.1)
        }
        if clientCA == nil && clientAuth.verifies {
            reader.issue("\(clientAuth.rawValue) needs client_ca_file (the CA that signs the clients' certificates)", at: clientAuthValue ?? value)
        }
        func load<T>(_ source: (PEM, ConfigValue), _ what: String, _ make: ([UInt8]) throws -> T) -> T? {
            guard let bytes = source.0.bytes else {
                if case .file(let path) = source.0 { reader.issue("cannot read \(path)", at: source.1) }
                return nil
            }
            do {
                return try make(bytes)
            } catch {
                let name = if case .file(let path) = source.0 { path } else { "the inline value" }
                reader.issue("\(name) holds no valid PEM \(what): \(error)", at: source.1)
                return nil
            }
        }
        let chain = load(certificate, "certificate") { bytes in
            let certificates = try NIOSSLCertificate.fromPEMBytes(bytes)
            guard !certificates.isEmpty else { throw NIOSSLError.failedToLoadCertificate }
            return certificates
        }
        let privateKey = load(key, "private key") { try NIOSSLPrivateKey(bytes: $0, format: .pem) }
        let roots = clientCA.flatMap { source in
            load(source, "CA certificate") { bytes in
                let certificates = try NIOSSLCertificate.fromPEMBytes(bytes)
                guard !certificates.isEmpty else { throw NIOSSLError.failedToLoadCertificate }
                return certificates
            }
        }
        // The files are checked whatever else is wrong, so that one run names every problem.
        guard reader.issues.count == issuesBefore, let chain, let privateKey, clientCA == nil || roots != nil else { return nil }
        do {
            let server = try WebTLSServer(
                chain: chain, key: privateKey, clientCA: roots, clientAuth: clientAuth, minVersion: minVersion, maxVersion: maxVersion,
                ciphers: ciphers, curves: curves)
            return WebTLSConfig(
                clientAuth: clientAuth, minVersion: minVersion, maxVersion: maxVersion, cipherSuites: ciphers, curves: curves, server: server)
        } catch {
            reader.issue("cannot serve TLS with these settings (does key_file belong to cert_file?): \(error)", at: value)
            return nil
        }
    }
}

/// The TLS context new connections get, and how their client certificates are checked.
public struct WebTLSServer: Sendable {
    public let context: NIOSSLContext
    /// RequestClientCert and RequireAnyClientCert: a certificate is asked for but not checked.
    public let acceptsAnyCertificate: Bool

    init(
        chain: [NIOSSLCertificate], key: NIOSSLPrivateKey, clientCA: [NIOSSLCertificate]?, clientAuth: WebTLSConfig.ClientAuth,
        minVersion: TLSVersion, maxVersion: TLSVersion, ciphers: [NIOTLSCipher], curves: [NIOTLSCurve]
    ) throws {
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        // How long a closing connection waits for the client's close_notify (5 s by default): an
        // idle keep-alive client may never send one, and would hold up every graceful shutdown.
        configuration.shutdownTimeout = .milliseconds(500)
        configuration.minimumTLSVersion = minVersion
        configuration.maximumTLSVersion = maxVersion
        if !ciphers.isEmpty { configuration.cipherSuiteValues = ciphers }
        if !curves.isEmpty { configuration.curves = curves }
        if let clientCA {
            configuration.trustRoots = .certificates(clientCA)
            configuration.sendCANameList = true
        }
        switch clientAuth {
        case .noClientCert: configuration.certificateVerification = .none
        case .requestClientCert, .verifyClientCertIfGiven: configuration.certificateVerification = .optionalVerification
        case .requireAnyClientCert, .requireAndVerifyClientCert: configuration.certificateVerification = .noHostnameVerification
        }
        context = try NIOSSLContext(configuration: configuration)
        acceptsAnyCertificate = clientAuth == .requestClientCert || clientAuth == .requireAnyClientCert
    }
}
