import Foundation
import Hummingbird

/// Percent-decoding of request paths and query strings, done once for both servers.
///
/// Hummingbird routes on the raw path and hands route parameters over still encoded, while it
/// decodes query values (but not keys, and without turning a form's `+` into a space). Decoding
/// again on top of that turned `C%2B%2B` into `C  `. Here every part is decoded exactly once:
/// - A path segment's escapes mean their characters (`payments%3Acheckout` is
///   `payments:checkout`); `+` in a path is a plus. `PercentDecodingResponder` decodes each
///   segment before routing, except the escapes of `/`, `?`, `#` and `%`, which would change
///   the path's structure: those stay encoded for `decodedParameter`/`RawPath` to decode last.
/// - In a query string `+` is a space (as HTML forms write one) and `%2B` a plus; keys and
///   values are decoded alike.
/// - An escape that is not `%` and two hex digits, or that decodes to invalid UTF-8, is a 400
///   naming the part at fault, not a guess.
public enum PercentDecoding {
    /// `path` with every segment decoded but for the escapes of `/`, `?`, `#` and `%`; nil when an
    /// escape is malformed.
    public static func predecodedPath(_ path: Substring) -> String? {
        guard path.contains("%") else { return String(path) }
        var segments: [String] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: false) {
            guard segment.contains("%") else {
                segments.append(String(segment))
                continue
            }
            guard let decoded = segment.removingPercentEncoding else { return nil }
            segments.append(keepingStructuralEscapes(decoded))
        }
        return segments.joined(separator: "/")
    }

    /// `text` with `/`, `?`, `#` and `%` escaped again: they would otherwise split or end the path.
    private static func keepingStructuralEscapes(_ text: String) -> String {
        var kept = ""
        for character in text.unicodeScalars {
            switch character {
            case "/": kept += "%2F"
            case "?": kept += "%3F"
            case "#": kept += "%23"
            case "%": kept += "%25"
            default: kept.unicodeScalars.append(character)
            }
        }
        return kept
    }

    /// One path segment (or route parameter) decoded; nil when an escape is malformed.
    public static func segment(_ segment: Substring) -> String? {
        segment.contains("%") ? segment.removingPercentEncoding : String(segment)
    }

    /// A query string's `name=value` pairs, decoded, in order.
    public struct QueryItems: Sendable {
        public private(set) var items: [(name: String, value: String)] = []

        /// The raw text of the first item that does not decode.
        public struct Malformed: Error { public var item: String }

        public init(_ query: Substring?) throws(Malformed) {
            guard let query, !query.isEmpty else { return }
            for item in query.split(separator: "&") {
                let equals = item.firstIndex(of: "=") ?? item.endIndex
                let value = equals == item.endIndex ? "" : item[item.index(after: equals)...]
                guard let name = Self.component(item[..<equals]), let decoded = Self.component(value) else {
                    throw Malformed(item: String(item))
                }
                items.append((name, decoded))
            }
        }

        /// The first value of `name`.
        public subscript(name: String) -> String? {
            items.first { $0.name == name }?.value
        }

        private static func component(_ raw: Substring) -> String? {
            guard raw.contains("%") || raw.contains("+") else { return String(raw) }
            return raw.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }
    }
}

/// Decodes the path before the router sees it (see `PercentDecoding`) and refuses malformed
/// escapes in the path or the query string with a 400 that names them.
public struct PercentDecodingResponder<Next: HTTPResponder>: HTTPResponder where Next.Context: RequestContext {
    public typealias Context = Next.Context
    let next: Next

    public init(_ next: Next) { self.next = next }

    public func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        guard let decodedPath = PercentDecoding.predecodedPath(path[...]) else {
            return try HTTPError(.badRequest, message: "invalid percent-encoding in the path \(path)").response(from: request, context: context)
        }
        do {
            _ = try PercentDecoding.QueryItems(request.uri.query?[...])
        } catch {
            return try HTTPError(.badRequest, message: "invalid percent-encoding in the query parameter \(error.item)")
                .response(from: request, context: context)
        }
        guard decodedPath != path else { return try await next.respond(to: request, context: context) }
        var head = request.head
        head.path = decodedPath + (request.uri.query.map { "?" + $0 } ?? "")
        return try await next.respond(to: Request(head: head, body: request.body), context: context)
    }
}

extension Request {
    /// A query parameter's first value, decoded once (`+` is a space, `%2B` a plus).
    public func query(_ name: String) -> String? {
        // `PercentDecodingResponder` has refused a query that does not decode.
        (try? PercentDecoding.QueryItems(uri.query?[...]))?[name]
    }
}

extension Parameters {
    /// A route parameter, decoded: the router has it with `%2F`, `%3F`, `%23` and `%25` still
    /// encoded (see `PercentDecoding`).
    public func decoded(_ name: String) throws -> String {
        let raw = try require(name)
        guard let value = PercentDecoding.segment(raw[...]) else {
            throw HTTPError(.badRequest, message: "invalid percent-encoding in \(name): \(raw)")
        }
        return value
    }
}
