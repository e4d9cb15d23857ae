import Foundation
import Hummingbird

/// Encodes API responses with Canopy's JSON conventions.
public enum JSONResponse {
    public static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try CanopyJSON.encoder().encode(value)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Path segments percent-decoded one by one (the last step of `PercentDecoding`), so that a key
/// containing `/` (sent as `%2F`, or even raw as the last segments) round-trips.
public enum RawPath {
    public static func segments(of request: Request) -> [String] {
        var parts = request.uri.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        if parts.last == "" { parts = parts.dropLast() }
        return parts.map { $0.removingPercentEncoding ?? String($0) }
    }

    /// The segments from `index` on, joined again with `/`: a trailing identifier that may
    /// itself contain slashes.
    public static func tail(of request: Request, from index: Int, trailingSlash: Bool = false) -> String? {
        let raw = request.uri.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        var parts = Array(raw)
        if trailingSlash || parts.last == "" {
            guard parts.last == "" else { return nil }
            parts.removeLast()
        }
        guard parts.count > index else { return nil }
        let tail = parts[index...].map { $0.removingPercentEncoding ?? String($0) }.joined(separator: "/")
        return tail.isEmpty ? nil : tail
    }
}
