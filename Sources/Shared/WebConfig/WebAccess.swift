import Crypto
import Foundation
import HummingbirdBcrypt
import Hummingbird
import Logging
import NIOPosix
import Synchronization

/// The web config in force for one server: who may ask (basic-auth users, or the API token as a
/// bearer credential), which headers every answer carries, and the TLS context new connections
/// get. Swapped whole on reload; TLS cannot be switched on or off without a restart (the
/// listening socket's protocol is chosen at start), as in exporter-toolkit.
public final class WebAccess: Sendable {
    /// nil: started without `--web.config.file`, and a reload has nothing to read.
    public let file: String?
    public let isTLS: Bool
    private let inForce: Mutex<InForce>
    /// Per user, digests of (stored hash, password) pairs that bcrypt accepted: bcrypt costs tens
    /// of milliseconds on purpose, and a page loads its assets with the same credentials.
    private let verified = Mutex<[String: [[UInt8]]]>([:])
    private let token: @Sendable () -> Secret?
    private let logger: Logger
    /// How many times bcrypt ran, for the tests of the cache.
    let bcryptRuns = Atomic<Int>(0)

    struct InForce: Sendable {
        var users: [String: String]
        var headers: HTTPFields
        var tls: WebTLSServer?

        init(_ config: WebConfig?) {
            users = config?.users ?? [:]
            headers = HTTPFields()
            // The names are the few `WebConfig` allows, all valid header names.
            for header in config?.headers ?? [] { headers[.init(header.name)!] = header.value }
            tls = config?.tls?.server
        }
    }

    /// `token` is the hub's API token (nil on the leaf, or when none is configured): a request
    /// that carries it as `Authorization: Bearer ...` needs no user, so that scripts have one
    /// credential for reads and writes.
    public init(config: WebConfig?, logger: Logger, token: @escaping @Sendable () -> Secret? = { nil }) {
        file = config?.file
        isTLS = config?.isTLS ?? false
        inForce = Mutex(InForce(config))
        self.token = token
        self.logger = logger
        if let config {
            logger.info("web config in force", metadata: ["web.config_file": "\(config.file)", "web.summary": "\(config.summary)"])
            if !config.users.isEmpty && !config.isTLS {
                logger.warning("basic-auth users without TLS: passwords cross the network readable", metadata: ["web.config_file": "\(config.file)"])
            }
        }
    }

    public var scheme: String { isTLS ? "https" : "http" }

    /// The TLS context and client-certificate check for a connection starting now.
    var tlsServer: WebTLSServer? { inForce.withLock { $0.tls } }

    /// Reads the file again. A file with problems, or one that switches TLS on or off, is refused
    /// with its errors and the one in force stays.
    public func reload() throws {
        guard let file else { return }
        do {
            let new = try WebConfig.load(file: file)
            if new.isTLS != isTLS {
                throw ConfigError(issues: [
                    ConfigIssue(
                        file: file, line: nil, column: nil, path: "tls_server_config",
                        message:
                            "TLS cannot be switched \(isTLS ? "off" : "on") by a reload: restart the server to serve \(isTLS ? "plain HTTP" : "HTTPS")"
                    )
                ])
            }
            inForce.withLock { $0 = InForce(new) }
            verified.withLock { $0 = [:] }
            logger.info("web config reloaded", metadata: ["web.config_file": "\(file)", "web.summary": "\(new.summary)"])
        } catch {
            logger.error("web config reload failed; keeping the previous one", metadata: ["web.config_file": "\(file)", "web.error": "\(error)"])
            throw error
        }
    }

    enum Verdict: Equatable {
        case allowed
        /// 401 with this `WWW-Authenticate`.
        case refused(challenge: String)
    }

    static let basicChallenge = "Basic realm=\"canopy\""
    /// For a wrong bearer token: a browser prompts for a user on a Basic challenge, and the page's
    /// script, which sent the token, should say instead that the token was refused.
    static let bearerChallenge = "Bearer realm=\"canopy\""

    var headers: HTTPFields { inForce.withLock { $0.headers } }

    func check(authorization: String?) async -> Verdict {
        let users = inForce.withLock { $0.users }
        guard !users.isEmpty else { return .allowed }
        guard let authorization, let space = authorization.firstIndex(of: " ") else { return .refused(challenge: Self.basicChallenge) }
        let scheme = authorization[..<space].lowercased()
        let credential = authorization[authorization.index(after: space)...].trimmingCharacters(in: .whitespaces)
        if scheme == "bearer" {
            guard let secret = token() else { return .refused(challenge: Self.basicChallenge) }
            guard let expected = try? secret.read(), !expected.isEmpty, ConstantTime.equal(Array(credential.utf8), Array(expected.utf8)) else {
                return .refused(challenge: Self.bearerChallenge)
            }
            return .allowed
        }
        guard scheme == "basic", let decoded = Data(base64Encoded: credential), let pair = String(data: decoded, encoding: .utf8),
            let colon = pair.firstIndex(of: ":")
        else { return .refused(challenge: Self.basicChallenge) }
        let user = String(pair[..<colon])
        let password = String(pair[pair.index(after: colon)...])
        return await verify(user: user, password: password, hash: users[user]) ? .allowed : .refused(challenge: Self.basicChallenge)
    }

    /// bcrypt, or the cache of its successes. An unknown user is checked against a fixed hash, so
    /// that it costs what a wrong password costs and cannot be told apart by timing.
    private func verify(user: String, password: String, hash: String?) async -> Bool {
        let stored = hash ?? BcryptHash.unknownUser
        let digest = Array(SHA256.hash(data: Array("\(stored)\u{0}\(password)".utf8)))
        let known = verified.withLock { $0[user] ?? [] }
        // Every entry is compared, each in constant time: nothing tells which one matched.
        var cached = false
        for entry in known where ConstantTime.equal(entry, digest) { cached = true }
        if cached && hash != nil { return true }
        bcryptRuns.add(1, ordering: .relaxed)
        let accepted = (try? await BcryptHash.pool.runIfActive { BcryptHash.verify(password, hash: stored) }) ?? false
        guard accepted, hash != nil else { return false }
        verified.withLock { cache in
            var entries = cache[user] ?? []
            // A few passwords per user (one changed in a password manager, say); the oldest goes.
            if entries.count >= 4 { entries.removeFirst() }
            entries.append(digest)
            cache[user] = entries
        }
        return true
    }
}

/// Answers 401 to a request without valid credentials, before anything else looks at it, and
/// sets the web config's headers on every answer, errors and refusals included.
public struct WebAccessResponder<Next: HTTPResponder>: HTTPResponder where Next.Context: RequestContext {
    public typealias Context = Next.Context
    let access: WebAccess
    let next: Next

    public init(_ access: WebAccess, _ next: Next) {
        self.access = access
        self.next = next
    }

    public func respond(to request: Request, context: Context) async throws -> Response {
        var response: Response
        switch await access.check(authorization: request.headers[.authorization]) {
        case .allowed:
            do {
                response = try await next.respond(to: request, context: context)
            } catch let error as any HTTPResponseError {
                response = try error.response(from: request, context: context)
            }
        case .refused(let challenge):
            response = Response(
                status: .unauthorized, headers: [.wwwAuthenticate: challenge, .contentType: "text/plain; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: "401 Unauthorized: this server needs a user and password (or the API token)\n")))
        }
        for field in access.headers { response.headers[field.name] = field.value }
        return response
    }
}

/// bcrypt as exporter-toolkit accepts it (`$2a$`, `$2b$`, `$2y$`), checked by hummingbird-auth's.
enum BcryptHash {
    /// `$2y$` (htpasswd's) is `$2b$` by another name; the C code knows only `$2a$` and `$2b$`.
    static func verify(_ password: String, hash: String) -> Bool {
        Bcrypt.verify(password, hash: hash.hasPrefix("$2y$") ? "$2b$" + hash.dropFirst(4) : hash)
    }

    /// `$2?$NN$` and 53 characters of bcrypt's base64 (22 of salt, 31 of hash), cost 4 to 31.
    static func isValid(_ hash: String) -> Bool {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, bytes[0] == UInt8(ascii: "$"), bytes[1] == UInt8(ascii: "2"),
            [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(bytes[2]),
            bytes[3] == UInt8(ascii: "$"), bytes[6] == UInt8(ascii: "$"), let cost = Int(String(decoding: bytes[4..<6], as: UTF8.self)),
            (4...31).contains(cost)
        else { return false }
        return bytes[7...].allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "/")
        }
    }

    /// A cost-10 hash of a random string, for users that do not exist.
    static let unknownUser = "$2y$10$bKZYlfurPlzSwKByZmUp.ONevxAnbUYtveu5sH07hzUh3X1EyCcGa"

    /// One thread: verifications run one at a time (as exporter-toolkit's do, under a lock), off
    /// the event loops, so a flood of wrong passwords costs one core at most.
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        return pool
    }()
}

/// Comparison whose time depends on the lengths only, never on where the bytes differ.
public enum ConstantTime {
    public static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
