import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A push that the gateway did not accept.
public struct PushError: Error, Sendable, CustomStringConvertible {
    public let url: URL
    /// The HTTP status, or nil when the answer was not HTTP.
    public let status: Int?
    /// The start of the gateway's answer, to say why.
    public let body: String

    public var description: String {
        "push to \(url) failed: " + (status.map { "HTTP \($0)" } ?? "no HTTP response") + (body.isEmpty ? "" : ": \(body)")
    }
}

extension ExceptionCollector {
    /// Posts `exportJSON()` to a gateway, for a short-lived job that ends before any scraper
    /// comes by (the Periskop pushgateway takes it at `POST /errors`; pass the whole URL).
    ///
    /// Call it when the job ends (and, for a long job, now and then): the gateway keeps the
    /// latest payload per `target_uuid`, so pushing again replaces rather than adds.
    /// Throws `PushError` unless the gateway answers 2xx, and `URLError` when it cannot be reached.
    public func push(to url: URL, timeout: TimeInterval = 10) async throws {
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        let (data, response) = try await URLSession.shared.upload(for: request, from: exportJSON())
        guard let http = response as? HTTPURLResponse else {
            throw PushError(url: url, status: nil, body: "")
        }
        guard (200..<300).contains(http.statusCode) else {
            throw PushError(url: url, status: http.statusCode, body: ErrorDescription.truncated(String(decoding: data, as: UTF8.self), to: 512))
        }
    }
}
