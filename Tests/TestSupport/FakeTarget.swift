import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import Periskop
import ServiceLifecycle
import Synchronization
import Testing

/// A real HTTP server that serves a Periskop payload the test controls, or misbehaves on purpose.
public final class FakeTarget: Sendable {
    public enum Behaviour: Sendable {
        case serve
        case status(Int)
        case contentType(String)
        case slow(Duration)
        case raw(String)
        /// Any bytes, invalid UTF-8 included.
        case bytes([UInt8])
        /// Sends the headers, then the body a little at a time, never finishing in time.
        case trickle
        case huge(bytes: Int)
        /// A body made anew for every request, from the request's number (1 for the first).
        case generated(@Sendable (Int) -> [UInt8])
    }

    private struct State {
        var payload = ExceptionsPayload(targetUUID: UUID().uuidString, aggregatedErrors: [])
        var behaviour = Behaviour.serve
        var requests = 0
        var lastHeaders: [String: String] = [:]
    }
    private let state = Mutex(State())
    public let port = PortPromise()

    public init() {}

    public var payload: ExceptionsPayload {
        get { state.withLock { $0.payload } }
        set { state.withLock { $0.payload = newValue } }
    }

    public var behaviour: Behaviour {
        get { state.withLock { $0.behaviour } }
        set { state.withLock { $0.behaviour = newValue } }
    }

    public var requests: Int { state.withLock { $0.requests } }
    public var lastHeaders: [String: String] { state.withLock { $0.lastHeaders } }

    /// `host:port`, once the server runs.
    public func address() async -> String { "127.0.0.1:\(await port.value)" }

    /// Reports `count` occurrences of `key` in total, with a sample per call up to 10.
    public func report(_ key: String, total: Int, severity: Severity = .error, message: String = "boom", httpContext: HTTPContext? = nil) {
        state.withLock { state in
            var groups = state.payload.aggregatedErrors
            let sample = ErrorWithContext(
                error: ErrorInstance(className: "TestError", message: message, stacktrace: ["main.swift:1", "app.swift:\(total)"], cause: nil),
                uuid: UUID().uuidString, timestamp: Date(), severity: severity, httpContext: httpContext)
            if let index = groups.firstIndex(where: { $0.aggregationKey == key }) {
                groups[index].totalCount = total
                groups[index].severity = severity
                groups[index].latestErrors = Array((groups[index].latestErrors + [sample]).suffix(10))
            } else {
                groups.append(AggregatedError(aggregationKey: key, totalCount: total, severity: severity, createdAt: Date(), latestErrors: [sample]))
            }
            state.payload.aggregatedErrors = groups
        }
    }

    /// A process restart: a new target_uuid and every count back to zero.
    public func restart(keepUUID: Bool = false) {
        state.withLock { state in
            state.payload = ExceptionsPayload(targetUUID: keepUUID ? state.payload.targetUUID : UUID().uuidString, aggregatedErrors: [])
        }
    }

    public func makeApplication() -> some ApplicationProtocol {
        makeApplication(server: .http1())
    }

    public func makeApplication(server: HTTPServerBuilder) -> some ApplicationProtocol {
        let router = Router()
        router.get("-/exceptions") { request, _ -> Response in
            let (payload, behaviour, number) = self.state.withLock { state in
                state.requests += 1
                state.lastHeaders = Dictionary(request.headers.map { ($0.name.canonicalName, $0.value) }, uniquingKeysWith: { a, _ in a })
                return (state.payload, state.behaviour, state.requests)
            }
            switch behaviour {
            case .serve:
                return Self.json(PayloadEncoder().encode(payload))
            case .status(let code):
                return Response(status: .init(code: code), body: .init(byteBuffer: ByteBuffer(string: "nope")))
            case .contentType(let type):
                return Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: "<html>hi</html>")))
            case .slow(let delay):
                try await Task.sleep(for: delay)
                return Self.json(PayloadEncoder().encode(payload))
            case .raw(let text):
                return Self.json(Array(text.utf8))
            case .bytes(let bytes):
                return Self.json(bytes)
            case .huge(let bytes):
                return Self.json(Array(repeating: UInt8(ascii: " "), count: bytes))
            case .generated(let body):
                return Self.json(body(number))
            case .trickle:
                return Response(
                    status: .ok, headers: [.contentType: "application/json"],
                    body: ResponseBody { writer in
                        try await writer.write(ByteBuffer(string: "{\"aggregated_errors\": ["))
                        for _ in 0..<100 {
                            try await Task.sleep(for: .milliseconds(100))
                            try await writer.write(ByteBuffer(string: " "))
                        }
                        try await writer.finish(nil)
                    })
            }
        }
        var logger = Logger(label: "fake-target")
        logger.logLevel = .warning
        return Application(
            router: router, server: server, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in self.port.fulfil(channel.localAddress?.port ?? 0) }, logger: logger)
    }

    private static func json(_ bytes: [UInt8]) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

