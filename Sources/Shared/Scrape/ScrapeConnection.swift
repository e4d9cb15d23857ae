import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A target's HTTP/1.1 connection, kept open from one scrape to the next as Prometheus keeps
/// its connections: a scrape is then a request and its answer, not a handshake, a new channel
/// and a close. It lives on one event loop and is only used there, by a scrape loop isolated to
/// that loop (`EventLoopIsolation`): an unchanged scrape wakes no other thread.
///
/// Scrapes do not go through AsyncHTTPClient: its pool keeps per host a pool object and, per
/// idle connection, SwiftNIO's pooled read buffers (up to 4 × 64 KB once a 200 KB body was
/// read), which at 10,000 targets every 15 s came to over a gigabyte; its state machines cost
/// more CPU per scrape than the scrape's own bytes. Here an idle connection holds its socket,
/// its channel and a 64-byte read buffer (`ReadBuffers`).
final class ScrapeConnection {
    struct Response: Sendable {
        var head: HTTPResponseHead
        var body: ByteBuffer
    }

    /// Where a connection goes: a connection is reused only for the same endpoint (and the same
    /// TLS context, which is made again when a certificate file changes).
    struct Endpoint: Equatable {
        var host: String
        var port: Int
        var tls: NIOSSLContext?
        var serverName: String?

        static func == (a: Endpoint, b: Endpoint) -> Bool {
            a.host == b.host && a.port == b.port && a.serverName == b.serverName && a.tls.map(ObjectIdentifier.init) == b.tls.map(ObjectIdentifier.init)
        }
    }

    /// What to ask for, and by when.
    struct Request {
        var endpoint: Endpoint
        var path: String
        var headers: HTTPHeaders
        var bodyLimit: Int
        var deadline: NIODeadline
    }

    /// A failure that is not a `ScrapeFailure` yet: the caller words it.
    enum Failure: Error {
        case timeout
        case bodyTooLarge
        case closedEarly
    }

    let eventLoop: any EventLoop
    private var open: (channel: any Channel, endpoint: Endpoint, handler: ResponseHandler)?
    /// Whether this connection holds one of the `kept` places.
    private var isKept = false

    /// How many connections stay open between scrapes, at most: an idle one holds about 5 KB (a
    /// channel, its handlers and their state), 50 MB at 10,000 targets. Beyond it a target
    /// connects for each scrape, as it costs little at the intervals of so many targets.
    static let keptLimit = 2_500
    private static let kept = Mutex(0)

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    deinit {
        open?.channel.close(promise: nil)
        if isKept { Self.kept.withLock { $0 -= 1 } }
    }

    /// Whether the connection may stay open for the next scrape.
    private func keep() -> Bool {
        guard !isKept else { return true }
        isKept = Self.kept.withLock { kept in
            guard kept < Self.keptLimit else { return false }
            kept += 1
            return true
        }
        return isKept
    }

    /// The answer to a GET of `request`, over the open connection if it goes to the same
    /// endpoint. When a reused connection ends before any byte of the answer (the target closed
    /// it while it was idle), the request is sent once more over a new one, as Go's HTTP client
    /// does for a GET. Any other failure closes the connection: the next scrape starts afresh.
    nonisolated(nonsending) func get(_ request: Request) async throws -> Response {
        if let open, open.endpoint == request.endpoint, open.channel.isActive {
            do {
                return try await exchange(request, over: open.channel, open.handler)
            } catch Failure.closedEarly where !open.handler.answered {
                // Asked again below.
            }
        }
        close()
        let (channel, handler) = try await connect(request)
        open = (channel, request.endpoint, handler)
        return try await exchange(request, over: channel, handler)
    }

    func close() {
        open?.channel.close(promise: nil)
        open = nil
        if isKept {
            isKept = false
            Self.kept.withLock { $0 -= 1 }
        }
    }

    private nonisolated(nonsending) func connect(_ request: Request) async throws -> (any Channel, ResponseHandler) {
        let handler = ResponseHandler()
        let endpoint = request.endpoint
        let remaining = request.deadline - .now()
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(max(remaining, .milliseconds(1)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.recvAllocator, value: ReadBuffers())
            // The pool keeps up to this many buffers: one, the first (see `ReadBuffers`).
            .channelOption(.maxMessagesPerRead, value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let context = endpoint.tls {
                        try sync.addHandler(NIOSSLClientHandler(context: context, serverHostname: endpoint.serverName))
                    }
                    try sync.addHTTPClientHandlers(leftOverBytesStrategy: .dropBytes)
                    try sync.addHandler(handler)
                }
            }
        // An address needs no resolver (getaddrinfo on a thread of its own) and no Happy Eyeballs.
        let connecting =
            if let address = try? SocketAddress(ipAddress: endpoint.host, port: endpoint.port) {
                bootstrap.connect(to: address)
            } else {
                bootstrap.connect(host: endpoint.host, port: endpoint.port)
            }
        return (try await connecting.value(), handler)
    }

    // An isolated parameter rather than nonisolated(nonsending), captured by the cancellation
    // handler's operation: only so does it run on the caller's executor (not the global one).
    private func exchange(
        _ request: Request, over channel: any Channel, _ handler: ResponseHandler, isolation: isolated (any Actor)? = #isolation
    ) async throws -> Response {
        eventLoop.preconditionInEventLoop()
        let promise = eventLoop.makePromise(of: Response.self)
        let timeout = eventLoop.scheduleTask(deadline: request.deadline) { promise.fail(Failure.timeout) }
        handler.expect(promise, limit: request.bodyLimit)
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: request.path, headers: request.headers)
        head.headers.replaceOrAdd(name: "Host", value: Self.hostHeader(request.endpoint))
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { promise.fail($0) }
        do {
            let response = try await withTaskCancellationHandler {
                try await promise.futureResult.value(isolation: isolation)
            } onCancel: {
                promise.fail(CancellationError())
            }
            timeout.cancel()
            if !response.head.isKeepAlive || !keep() { close() }
            return response
        } catch {
            timeout.cancel()
            // The answer may still be on its way: the connection cannot carry the next one.
            handler.abandon()
            close()
            throw error
        }
    }

    private static func hostHeader(_ endpoint: Endpoint) -> String {
        let name = endpoint.host.contains(":") ? "[\(endpoint.host)]" : endpoint.host
        return endpoint.port == (endpoint.tls != nil ? 443 : 80) ? name : "\(name):\(endpoint.port)"
    }

    /// Collects each response, head and body, up to the body limit, for the request waiting.
    private final class ResponseHandler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart

        private var promise: EventLoopPromise<Response>?
        private var limit = 0
        private var head: HTTPResponseHead?
        private var body: ByteBuffer?
        /// Whether any of the answer arrived: a request on a connection that ended before is sent again.
        private(set) var answered = false

        func expect(_ promise: EventLoopPromise<Response>, limit: Int) {
            self.promise = promise
            self.limit = limit
            head = nil
            body = nil
            answered = false
        }

        func abandon() {
            promise = nil
            body = nil
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            answered = true
            guard let promise else {
                // An answer nobody asked for: the connection is out of step.
                context.close(promise: nil)
                return
            }
            switch unwrapInboundIn(data) {
            case .head(let head):
                let length = head.headers.first(name: "Content-Length").flatMap(Int.init)
                if let length, length > limit {
                    fail(Failure.bodyTooLarge)
                    return
                }
                self.head = head
                body = BodyBuffers.take(capacity: min(length ?? 16 * 1024, limit), allocator: context.channel.allocator)
            case .body(var part):
                guard body != nil else { return }
                if body!.readableBytes + part.readableBytes > limit {
                    fail(Failure.bodyTooLarge)
                    return
                }
                body!.writeBuffer(&part)
            case .end:
                guard let head, let body else { return }
                self.promise = nil
                self.body = nil
                promise.succeed(Response(head: head, body: body))
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            fail(error)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            fail(Failure.closedEarly)
            context.fireChannelInactive()
        }

        private func fail(_ error: any Error) {
            let promise = self.promise
            abandon()
            promise?.fail(error)
        }
    }

    /// Reads in 64 KB buffers taken for the read, while the channel's pool keeps only the first,
    /// of 64 bytes: SwiftNIO's pool (of `maxMessagesPerRead` buffers, here 1) stores the first
    /// buffer it is given and reuses it until a read says the next may be bigger, which this says
    /// after every read. So an idle connection holds 64 bytes, not 4 × 64 KB (10,000 targets:
    /// 640 KB, not 2.5 GB), and a read costs one allocation, freed once its bytes are copied into
    /// the body.
    struct ReadBuffers: RecvByteBufferAllocator {
        private var capacity = 64

        func buffer(allocator: ByteBufferAllocator) -> ByteBuffer {
            allocator.buffer(capacity: capacity)
        }

        mutating func record(actualReadBytes: Int) -> Bool {
            capacity = 64 * 1024
            return true
        }
    }
}

/// The buffers bodies are read into, kept from one scrape to the next (a few, of up to 1 MiB): a
/// 200 KB body in a buffer of its own was an `mmap`, fifty page faults and a `munmap` on every
/// scrape. A scrape gives its body back with `recycle` once it is done with it.
public enum BodyBuffers {
    private static let pool = Mutex<[ByteBuffer]>([])
    private static let kept = 8
    private static let largest = 1 << 20

    static func take(capacity: Int, allocator: ByteBufferAllocator) -> ByteBuffer {
        guard var buffer = pool.withLock({ $0.popLast() }) else { return allocator.buffer(capacity: capacity) }
        // A buffer still shared with a scrape that has not let go of it is copied, not reused: never wrong.
        buffer.clear(minimumCapacity: capacity)
        return buffer
    }

    public static func recycle(_ buffer: ByteBuffer) {
        guard buffer.capacity <= largest else { return }
        pool.withLock { pool in
            if pool.count < kept { pool.append(buffer) }
        }
    }
}

extension EventLoopFuture where Value: Sendable {
    /// The future's value, resumed on the caller's executor: awaited in a scrape loop, on its
    /// event loop, with no hop to the global executor and back (SwiftNIO's `get()` makes one).
    func value(isolation: isolated (any Actor)? = #isolation) async throws -> Value {
        try await withUnsafeThrowingContinuation(isolation: isolation) { (continuation: UnsafeContinuation<Value, any Error>) in
            whenComplete { continuation.resume(with: $0) }
        }
    }
}

/// An isolation domain on one SwiftNIO event loop: code isolated to it runs on that loop's
/// thread, so that awaiting the loop's futures and timers from it needs no other thread.
actor EventLoopIsolation {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    nonisolated var unownedExecutor: UnownedSerialExecutor { eventLoop.executor.asUnownedSerialExecutor() }

    func run<T: Sendable>(_ body: @Sendable (isolated EventLoopIsolation) async throws -> T) async rethrows -> T {
        try await body(self)
    }
}

/// The TLS contexts of scrapes, one per `tls_config`: loading certificates and keys for every
/// scrape would cost more than the scrape. A context is made again when one of its files
/// changes, so that rotated certificates are used without a reload.
final class ScrapeTLSContexts: Sendable {
    private struct Entry {
        var stamp: [Date?]
        var context: NIOSSLContext
    }
    private let entries = Mutex<[TLSSettings: Entry]>([:])

    func context(for settings: TLSSettings?) throws(ScrapeFailure) -> NIOSSLContext {
        let settings = settings ?? TLSSettings()
        let stamp = [settings.caFile, settings.certFile, settings.keyFile].map { path in
            path.flatMap { try? FileManager.default.attributesOfItem(atPath: $0)[.modificationDate] as? Date }
        }
        if let entry = entries.withLock({ $0[settings] }), entry.stamp == stamp { return entry.context }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: try HTTPFetcher.tlsConfiguration(settings))
        } catch let failure as ScrapeFailure {
            throw failure
        } catch {
            throw .tls("cannot load certificates: \(error)")
        }
        entries.withLock { $0[settings] = Entry(stamp: stamp, context: context) }
        return context
    }
}
