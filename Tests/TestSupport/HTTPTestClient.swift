import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// HTTP (or HTTPS) to a server under test: status and body, or parsed JSON.
public struct HTTPTestClient: Sendable {
    public let base: String
    /// For `https://` bases: what the client trusts and presents.
    public var tls: TLSConfiguration?
    /// Sent with every request (credentials, say).
    public var headers: [String: String]

    public init(base: String, tls: TLSConfiguration? = nil, headers: [String: String] = [:]) {
        self.base = base
        self.tls = tls
        self.headers = headers
    }

    /// The same server, as another client: other credentials, other TLS settings.
    public func with(headers: [String: String]? = nil, tls: TLSConfiguration?? = nil) -> HTTPTestClient {
        HTTPTestClient(base: base, tls: tls ?? self.tls, headers: headers ?? self.headers)
    }

    /// `Authorization: Basic ...` for `user` and `password`.
    public static func basic(_ user: String, _ password: String) -> [String: String] {
        ["Authorization": "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()]
    }

    public func get(_ path: String) async throws -> (status: Int, body: String) {
        try await request(path, method: .GET)
    }

    public func request(_ path: String, method: HTTPMethod, body: String? = nil, headers: [String: String] = [:]) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.tlsConfiguration = tls
        for (name, value) in self.headers.merging(headers, uniquingKeysWith: { $1 }) { request.headers.replaceOrAdd(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }

    /// Status, headers and body, for checks on the headers.
    public func head(_ path: String, headers: [String: String] = [:]) async throws -> (status: Int, headers: HTTPHeaders, body: String) {
        var request = HTTPClientRequest(url: base + path)
        request.tlsConfiguration = tls
        for (name, value) in self.headers.merging(headers, uniquingKeysWith: { $1 }) { request.headers.replaceOrAdd(name: name, value: value) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), response.headers, String(buffer: bytes))
    }

    /// GETs a JSON document and returns it parsed, failing on a non-200 answer.
    public func json(_ path: String) async throws -> Any {
        let (status, body) = try await get(path)
        guard status == 200 else { throw TestFailure("GET \(path) answered \(status): \(body)") }
        return try JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed])
    }
}
