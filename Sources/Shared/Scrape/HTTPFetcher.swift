import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOHTTP1
import NIOSSL
import ServiceLifecycle
import Synchronization

/// Fetches a target's body over HTTP with its timeout, credentials, TLS settings and size limit.
/// Owns the HTTP clients: one shared, plus one per `tls_config.server_name` (AsyncHTTPClient can
/// only set the TLS server name through a client-wide DNS override).
public final class HTTPFetcher: Service, Sendable {
    private let client: HTTPClient
    private let userAgent: String
    private let serverNameClients = Mutex<[String: HTTPClient]>([:])
    private let eventLoops: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    private let tlsContexts = ScrapeTLSContexts()

    public init(userAgent: String) {
        self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: Self.clientConfiguration())
        self.userAgent = userAgent
    }

    /// Runs until the server shuts down, then shuts the HTTP clients down (they trap if released
    /// while running). List it before the scrape manager, so that it stops after it.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Must be called once, when the fetcher is no longer used.
    public func shutdown() async {
        let clients = serverNameClients.withLock { clients in
            defer { clients = [:] }
            return Array(clients.values)
        }
        for client in clients + [client] { try? await client.shutdown() }
    }

    /// Fetches `url` with a GET over a connection of its own, closed afterwards, following up to
    /// three redirects. The timeout bounds the whole exchange, body included: a target that sends
    /// its headers at once and then trickles its body is cut off like one that never answers.
    public func fetch(_ url: String, settings: ScrapeSettings, accept: String = "application/json") async throws(ScrapeFailure) -> [UInt8] {
        Array(try await fetchBuffer(url, settings: settings, accept: accept).readableBytesView)
    }

    /// `fetch`, with the body as it arrived.
    public func fetchBuffer(_ url: String, settings: ScrapeSettings, accept: String = "application/json") async throws(ScrapeFailure) -> ByteBuffer {
        let result = await EventLoopIsolation(eventLoops.next()).run { isolation -> Result<ByteBuffer, ScrapeFailure> in
            let connection = ScrapeConnection(eventLoop: isolation.eventLoop)
            defer { connection.close() }
            do throws(ScrapeFailure) {
                return .success(try await self.fetchBuffer(url, settings: settings, accept: accept, over: connection))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// A scrape loop's fetch: over its own connection, kept open for the next scrape, on the
    /// connection's event loop (the caller runs there). A body that is unchanged is hashed where
    /// it arrived and copied nowhere.
    nonisolated(nonsending) func fetchBuffer(
        _ url: String, settings: ScrapeSettings, accept: String, headers extra: [(name: String, value: String)] = [], over connection: ScrapeConnection
    ) async throws(ScrapeFailure) -> ByteBuffer {
        let deadline = NIODeadline.now() + TimeAmount(settings.timeout)
        var current = url
        var visited: Set<String> = []
        var headers = HTTPHeaders()
        headers.add(name: "User-Agent", value: userAgent)
        headers.add(name: "Accept", value: accept)
        if let auth = settings.auth { headers.add(name: "Authorization", value: try auth.headerValue()) }
        for (name, value) in extra { headers.add(name: name, value: value) }
        while true {
            visited.insert(current)
            let request = try scrapeRequest(current, settings: settings, headers: headers, deadline: deadline)
            let response: ScrapeConnection.Response
            do {
                response = try await connection.get(request)
            } catch {
                throw Self.failure(error, settings: settings)
            }
            let status = response.head.status
            if [301, 302, 303, 307, 308].contains(status.code), let location = response.head.headers.first(name: "Location") {
                guard let next = URL(string: location, relativeTo: URL(string: current))?.absoluteString else {
                    throw ScrapeFailure.connection("redirected to an invalid URL \(location)")
                }
                guard visited.count <= Self.maxRedirects, !visited.contains(next) else {
                    throw ScrapeFailure.connection("too many redirects (or a cycle), the last to \(next)")
                }
                current = next
                continue
            }
            guard status == .ok else { throw ScrapeFailure.status(Int(status.code)) }
            if let type = response.head.headers.first(name: "Content-Type"), !Self.isJSONLike(type) {
                throw ScrapeFailure.contentType(type)
            }
            return response.body
        }
    }

    static let maxRedirects = 3

    /// Where `url` is and what to ask it, with the TLS context of `settings` for https.
    private func scrapeRequest(_ url: String, settings: ScrapeSettings, headers: HTTPHeaders, deadline: NIODeadline) throws(ScrapeFailure) -> ScrapeConnection.Request {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else { throw ScrapeFailure.connection("invalid URL \(url)") }
        let tls = scheme == "https"
        var path = components.percentEncodedPath.isEmpty ? "/" : components.percentEncodedPath
        if let query = components.percentEncodedQuery { path += "?" + query }
        let context = tls ? try tlsContexts.context(for: settings.tls) : nil
        let serverName = settings.tls?.serverName ?? (host.isIPAddress ? nil : host)
        let endpoint = ScrapeConnection.Endpoint(host: host, port: components.port ?? (tls ? 443 : 80), tls: context, serverName: serverName)
        return ScrapeConnection.Request(endpoint: endpoint, path: path, headers: headers, bodyLimit: settings.bodySizeLimit, deadline: deadline)
    }

    /// A request other than a scrape (posting alerts to an Alertmanager, managing its silences):
    /// the same clients, credentials, TLS and timeout, any method, a JSON body; the answer's
    /// status and body (up to `settings.bodySizeLimit`) whatever the status.
    public func exchange(
        _ method: HTTPMethod, _ url: String, json body: [UInt8]? = nil, settings: ScrapeSettings
    ) async throws(ScrapeFailure) -> (status: Int, body: [UInt8]) {
        try await withinTimeout(settings.timeout) { () async throws(ScrapeFailure) -> (status: Int, body: [UInt8]) in
            let (client, prepared) = try self.prepare(url, settings: settings, accept: "application/json")
            var request = prepared
            request.method = method
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body))
            }
            do {
                let response = try await client.execute(request, deadline: .now() + TimeAmount(settings.timeout))
                let answer = try await response.body.collect(upTo: settings.bodySizeLimit)
                return (Int(response.status.code), Array(answer.readableBytesView))
            } catch {
                throw Self.failure(error, settings: settings)
            }
        }
    }

    /// Runs `work`, or fails with `.timeout` once `timeout` has passed, whatever `work` is waiting for.
    private func withinTimeout<T: Sendable>(
        _ timeout: Duration, _ work: @escaping @Sendable () async throws(ScrapeFailure) -> T
    ) async throws(ScrapeFailure) -> T {
        let result = await withTaskGroup(of: Result<T, ScrapeFailure>?.self) { group in
            group.addTask {
                do throws(ScrapeFailure) {
                    return .success(try await work())
                } catch {
                    return .failure(error)
                }
            }
            group.addTask {
                // nil when cancelled because the work finished first.
                (try? await Task.sleep(for: timeout)).map { .failure(.timeout(timeout)) }
            }
            defer { group.cancelAll() }
            while let next = await group.next() {
                if let next { return next }
            }
            return .failure(.timeout(timeout))
        }
        return try result.get()
    }

    /// The client to use and the request with its user agent, credentials and TLS settings.
    private func prepare(_ url: String, settings: ScrapeSettings, accept: String) throws(ScrapeFailure) -> (HTTPClient, HTTPClientRequest) {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: userAgent)
        request.headers.add(name: "Accept", value: accept)
        if let auth = settings.auth { request.headers.add(name: "Authorization", value: try auth.headerValue()) }
        var client = self.client
        if let tls = settings.tls {
            request.tlsConfiguration = try Self.tlsConfiguration(tls)
            if let serverName = tls.serverName {
                (client, request.url) = try self.client(for: serverName, url: url)
            }
        }
        return (client, request)
    }

    /// What went wrong, in the words of `ScrapeFailure`.
    private static func failure(_ error: any Error, settings: ScrapeSettings) -> ScrapeFailure {
        switch error {
        case let failure as ScrapeFailure: return failure
        case ScrapeConnection.Failure.timeout, is CancellationError: return .timeout(settings.timeout)
        case ScrapeConnection.Failure.bodyTooLarge: return .bodyTooLarge(limit: settings.bodySizeLimit)
        case ScrapeConnection.Failure.closedEarly: return .connection("the target closed the connection before its answer ended")
        case ChannelError.connectTimeout: return .timeout(settings.timeout)
        case is NIOTooManyBytesError: return .bodyTooLarge(limit: settings.bodySizeLimit)
        case let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout:
            return .timeout(settings.timeout)
        case let error as HTTPClientError where error == .cancelled: return .timeout(settings.timeout)
        case let error as NIOSSLError: return .tls("\(error)")
        case let error as NIOSSLExtraError where error == .failedToValidateHostname:
            return .tls("the certificate is not for the host scraped (set tls_config.server_name to the name it is for): \(error)")
        case let error as NIOSSLExtraError: return .tls("\(error)")
        case _ where String(reflecting: type(of: error)).contains("NIOSSL") || "\(error)".hasPrefix("sslError"):
            return .tls("handshake failed: \(error)")
        default: return .connection(describe(error))
        }
    }

    static func clientConfiguration() -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .follow(max: 3, allowCycles: false)
        // A refused connection or a failed TLS handshake is the scrape's answer: say so at once,
        // rather than retry until the timeout and report only that it ran out.
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    static func isJSONLike(_ contentType: String) -> Bool {
        let media = (contentType.split(separator: ";", maxSplits: 1).first ?? "").trimmingASCIISpaces.lowercased()
        return media == "application/json" || media == "text/json" || media == "text/plain" || media.hasSuffix("+json") || media.isEmpty
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? IOError { return error.description }
        let text = String(describing: error)
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }

    /// A client that connects to the URL's host but presents and verifies `serverName`.
    private func client(for serverName: String, url: String) throws(ScrapeFailure) -> (HTTPClient, String) {
        guard var components = URLComponents(string: url), let host = components.host else {
            throw ScrapeFailure.connection("invalid URL \(url)")
        }
        let key = "\(serverName)=\(host)"
        components.host = serverName
        let client = serverNameClients.withLock { clients in
            if let client = clients[key] { return client }
            var configuration = Self.clientConfiguration()
            configuration.dnsOverride = [serverName: host]
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            clients[key] = client
            return client
        }
        return (client, components.string ?? url)
    }

    static func tlsConfiguration(_ settings: TLSSettings) throws(ScrapeFailure) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        do {
            if let caFile = settings.caFile {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            }
            if let certFile = settings.certFile {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certFile).map { .certificate($0) }
            }
            if let keyFile = settings.keyFile {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            }
        } catch {
            throw .tls("cannot load certificates: \(error)")
        }
        if settings.insecureSkipVerify { configuration.certificateVerification = .none }
        return configuration
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (Foundation's trimming costs a scrape more).
    var trimmingASCIISpaces: Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" { text.removeLast() }
        return text
    }
}

extension String {
    /// An IPv4 or IPv6 literal, which TLS cannot send as a server name.
    var isIPAddress: Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return withCString { inet_pton(AF_INET, $0, &v4) == 1 || inet_pton(AF_INET6, $0, &v6) == 1 }
    }
}
