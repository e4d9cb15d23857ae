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
final class FakeTarget: Sendable {
    enum Behaviour: Sendable {
        case serve
        case status(Int)
        case contentType(String)
        case slow(Duration)
        case raw(String)
        /// Sends the headers, then the body a little at a time, never finishing in time.
        case trickle
        case huge(bytes: Int)
    }

    private struct State {
        var payload = ExceptionsPayload(targetUUID: UUID().uuidString, aggregatedErrors: [])
        var behaviour = Behaviour.serve
        var requests = 0
        var lastHeaders: [String: String] = [:]
    }
    private let state = Mutex(State())
    let port = PortPromise()

    var payload: ExceptionsPayload {
        get { state.withLock { $0.payload } }
        set { state.withLock { $0.payload = newValue } }
    }

    var behaviour: Behaviour {
        get { state.withLock { $0.behaviour } }
        set { state.withLock { $0.behaviour = newValue } }
    }

    var requests: Int { state.withLock { $0.requests } }
    var lastHeaders: [String: String] { state.withLock { $0.lastHeaders } }

    /// `host:port`, once the server runs.
    func address() async -> String { "127.0.0.1:\(await port.value)" }

    /// Reports `count` occurrences of `key` in total, with a sample per call up to 10.
    func report(_ key: String, total: Int, severity: Severity = .error, message: String = "boom", httpContext: HTTPContext? = nil) {
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
    func restart(keepUUID: Bool = false) {
        state.withLock { state in
            state.payload = ExceptionsPayload(targetUUID: keepUUID ? state.payload.targetUUID : UUID().uuidString, aggregatedErrors: [])
        }
    }

    func makeApplication() -> some ApplicationProtocol {
        makeApplication(server: .http1())
    }

    func makeApplication(server: HTTPServerBuilder) -> some ApplicationProtocol {
        let router = Router()
        router.get("-/exceptions") { request, _ -> Response in
            let (payload, behaviour) = self.state.withLock { state in
                state.requests += 1
                state.lastHeaders = Dictionary(request.headers.map { ($0.name.canonicalName, $0.value) }, uniquingKeysWith: { a, _ in a })
                return (state.payload, state.behaviour)
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
            case .huge(let bytes):
                return Self.json(Array(repeating: UInt8(ascii: " "), count: bytes))
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

/// A value that arrives later (a port, once a server listens).
final class PortPromise: Sendable {
    private let state = Mutex<(value: Int?, waiters: [CheckedContinuation<Int, Never>])>((nil, []))

    func fulfil(_ value: Int) {
        let waiters = state.withLock { state in
            state.value = value
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    var value: Int {
        get async {
            await withCheckedContinuation { continuation in
                let value = state.withLock { state -> Int? in
                    if let value = state.value { return value }
                    state.waiters.append(continuation)
                    return nil
                }
                if let value { continuation.resume(returning: value) }
            }
        }
    }
}

/// Runs services (servers) for the duration of `body`, then shuts them down gracefully.
func withServices<T: Sendable>(_ services: [any Service], _ body: () async throws -> T) async throws -> T {
    var logger = Logger(label: "test-services")
    logger.logLevel = .warning
    let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let result = try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

/// Records a test issue if `condition` does not hold within `timeout`.
func expectEventually(
    _ comment: Comment? = nil, timeout: Duration = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    if try await !eventually(timeout: timeout, condition) {
        Issue.record(comment ?? "condition not met within \(timeout)", sourceLocation: sourceLocation)
    }
}
