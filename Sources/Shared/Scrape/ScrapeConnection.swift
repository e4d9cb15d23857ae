import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// One `GET` over a connection of its own, closed once the answer is in: what a scrape is.
///
/// Scrapes do not go through AsyncHTTPClient: its pool keeps per host a pool object and, per
/// idle connection, SwiftNIO's pooled read buffers (up to 4 × 64 KB once a 200 KB body was
/// read), which at 10,000 targets every 15 s came to over a gigabyte; its state machines cost
/// more CPU per scrape than the scrape's own bytes. A connection per scrape costs the kernel
/// a handshake on loopback or in a cluster, and holds nothing between scrapes.
struct ScrapeConnection: Sendable {
    struct Response: Sendable {
        var head: HTTPResponseHead
        var body: ByteBuffer
    }

    /// Where to connect and what to ask for.
    struct Request: Sendable {
        var host: String
        var port: Int
        var path: String
        var tls: NIOSSLContext?
        var serverName: String?
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

    static func get(_ request: Request, on loop: any EventLoop) async throws -> Response {
        let promise = loop.makePromise(of: Response.self)
        let timeout = loop.scheduleTask(deadline: request.deadline) { promise.fail(Failure.timeout) }
        promise.futureResult.whenComplete { _ in timeout.cancel() }
        let remaining = request.deadline - .now()
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(max(remaining, .milliseconds(1)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            // The connection lives for one answer: bigger reads mean fewer of them.
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 64 * 1024))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let context = request.tls {
                        try sync.addHandler(NIOSSLClientHandler(context: context, serverHostname: request.serverName))
                    }
                    try sync.addHTTPClientHandlers(leftOverBytesStrategy: .dropBytes)
                    try sync.addHandler(Collector(promise: promise, limit: request.bodyLimit))
                }
            }
        // An address needs no resolver (getaddrinfo on a thread of its own) and no Happy Eyeballs.
        let connecting =
            if let address = try? SocketAddress(ipAddress: request.host, port: request.port) {
                bootstrap.connect(to: address)
            } else {
                bootstrap.connect(host: request.host, port: request.port)
            }
        connecting.whenComplete { result in
            switch result {
            case .failure(let error):
                promise.fail(error)
            case .success(let channel):
                // However the exchange ends (answer, error, timeout, cancellation), the connection goes.
                promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: request.path, headers: request.headers)
                head.headers.replaceOrAdd(name: "Host", value: Self.hostHeader(request.host, request.port, tls: request.tls != nil))
                head.headers.replaceOrAdd(name: "Connection", value: "close")
                channel.write(HTTPClientRequestPart.head(head), promise: nil)
                channel.writeAndFlush(HTTPClientRequestPart.end(nil)).whenFailure { promise.fail($0) }
            }
        }
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            promise.fail(CancellationError())
        }
    }

    private static func hostHeader(_ host: String, _ port: Int, tls: Bool) -> String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (tls ? 443 : 80) ? name : "\(name):\(port)"
    }

    /// Collects one response, head and body, up to the body limit.
    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart

        private let promise: EventLoopPromise<Response>
        private let limit: Int
        private var head: HTTPResponseHead?
        private var body: ByteBuffer?

        init(promise: EventLoopPromise<Response>, limit: Int) {
            self.promise = promise
            self.limit = limit
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                let length = head.headers.first(name: "Content-Length").flatMap(Int.init)
                if let length, length > limit {
                    promise.fail(Failure.bodyTooLarge)
                    return
                }
                self.head = head
                body = context.channel.allocator.buffer(capacity: min(length ?? 16 * 1024, limit))
            case .body(var part):
                guard body != nil else { return }
                if body!.readableBytes + part.readableBytes > limit {
                    body = nil
                    promise.fail(Failure.bodyTooLarge)
                    return
                }
                body!.writeBuffer(&part)
            case .end:
                if let head, let body { promise.succeed(Response(head: head, body: body)) }
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(Failure.closedEarly)
            context.fireChannelInactive()
        }
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
