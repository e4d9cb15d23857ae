import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Plain HTTP to a server under test: status and body, or parsed JSON.
public struct HTTPTestClient: Sendable {
    public let base: String

    public init(base: String) { self.base = base }

    public func get(_ path: String) async throws -> (status: Int, body: String) {
        try await request(path, method: .GET)
    }

    public func request(_ path: String, method: HTTPMethod, body: String? = nil, headers: [String: String] = [:]) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }

    /// GETs a JSON document and returns it parsed, failing on a non-200 answer.
    public func json(_ path: String) async throws -> Any {
        let (status, body) = try await get(path)
        guard status == 200 else { throw TestFailure("GET \(path) answered \(status): \(body)") }
        return try JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed])
    }
}
