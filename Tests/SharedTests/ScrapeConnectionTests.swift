import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import Shared

/// A scrape's connection, against a real server over loopback: kept open from one scrape to the
/// next, made again when the target closes it (also at the worst moment, as a request is sent),
/// and never confused by a body that failed or a buffer given back.
@Suite struct ScrapeConnectionTests {
    @Test func oneConnectionServesEveryScrape() async throws {
        let server = try await RawHTTPServer.start(.keepAlive)
        defer { server.stop() }
        let bodies = try await fetch(5, from: server)
        #expect(bodies == (1...5).map { RawHTTPServer.body($0) })
        #expect(server.counts == .init(connections: 1, requests: 5))
    }

    /// A target (or a proxy) that closes an idle connection just as the next request goes out:
    /// the request is sent again over a new connection, and the scrape succeeds.
    @Test func aConnectionClosedAsTheRequestGoesOutIsMadeAgain() async throws {
        let server = try await RawHTTPServer.start(.oneAnswerPerConnection)
        defer { server.stop() }
        let bodies = try await fetch(4, from: server)
        #expect(bodies == (1...4).map { RawHTTPServer.body($0) })
        // Each connection answered once; the second request on it was dropped and asked again.
        #expect(server.counts.connections == 4)
    }

    @Test func connectionCloseIsHonoured() async throws {
        let server = try await RawHTTPServer.start(.connectionClose)
        defer { server.stop() }
        let bodies = try await fetch(3, from: server)
        #expect(bodies == (1...3).map { RawHTTPServer.body($0) })
        #expect(server.counts == .init(connections: 3, requests: 3))
    }

    /// A body over the limit fails its scrape; the next scrape gets a clean connection.
    @Test func aFailedAnswerLeavesNothingForTheNext() async throws {
        let server = try await RawHTTPServer.start(.keepAlive)
        defer { server.stop() }
        let fetcher = HTTPFetcher(userAgent: "test")
        defer { Task { await fetcher.shutdown() } }
        let url = "http://127.0.0.1:\(server.port)/-/exceptions"
        let outcomes = await EventLoopIsolation(MultiThreadedEventLoopGroup.singleton.next()).run { isolation in
            let connection = ScrapeConnection(eventLoop: isolation.eventLoop)
            var outcomes: [String] = []
            for limit in [1 << 20, 10, 1 << 20] {
                let settings = ScrapeSettings(interval: .seconds(5), timeout: .seconds(5), bodySizeLimit: limit)
                do {
                    let body = try await fetcher.fetchBuffer(url, settings: settings, accept: "application/json", over: connection)
                    outcomes.append(String(buffer: body))
                } catch {
                    outcomes.append("\(error)")
                }
            }
            return outcomes
        }
        #expect(outcomes[0] == RawHTTPServer.body(1))
        #expect(outcomes[1].contains("10"), "\(outcomes[1])")
        #expect(outcomes[2] == RawHTTPServer.body(3))
        #expect(server.counts == .init(connections: 2, requests: 3))
    }

    /// A buffer given back while its body is still held is copied when taken again, not reused.
    @Test func aRecycledBufferStillHeldIsNotOverwritten() async throws {
        let server = try await RawHTTPServer.start(.keepAlive)
        defer { server.stop() }
        let fetcher = HTTPFetcher(userAgent: "test")
        defer { Task { await fetcher.shutdown() } }
        let url = "http://127.0.0.1:\(server.port)/-/exceptions"
        let settings = ScrapeSettings(interval: .seconds(5), timeout: .seconds(5), bodySizeLimit: 1 << 20)
        let (first, second) = try await EventLoopIsolation(MultiThreadedEventLoopGroup.singleton.next()).run { isolation in
            let connection = ScrapeConnection(eventLoop: isolation.eventLoop)
            let first = try await fetcher.fetchBuffer(url, settings: settings, accept: "application/json", over: connection)
            BodyBuffers.recycle(first)
            let second = try await fetcher.fetchBuffer(url, settings: settings, accept: "application/json", over: connection)
            return (first, second)
        }
        #expect(String(buffer: first) == RawHTTPServer.body(1))
        #expect(String(buffer: second) == RawHTTPServer.body(2))
    }

    @Test func xxh64MatchesTheReference() {
        // From the reference implementation (python-xxhash 3.x).
        func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 { bytes.withUnsafeBytes { XXH64.hash($0, seed: seed) } }
        #expect(hash([]) == 0xEF46_DB37_51D8_E999)
        #expect(hash(Array("abc".utf8)) == 0x44BC_2CF5_AD77_0999)
        #expect(hash(Array("Nobody inspects the spammish repetition".utf8)) == 0xFBCE_A83C_8A37_8BF1)
        #expect(hash(Array((0...255).map(UInt8.init)) + Array((0...255).map(UInt8.init)) + Array((0...255).map(UInt8.init)), seed: 7) == 0xB1E1_0F6C_5294_CD6B)
        #expect(hash((0..<45).map(UInt8.init), seed: 0x9E37_79B1_85EB_CA87) == 0xEDA3_C8CB_8536_5E58)
        // A fingerprint tells bodies of the same length apart.
        let a = Array(repeating: UInt8(ascii: "1"), count: 200_000)
        var b = a
        b[123_456] = UInt8(ascii: "2")
        #expect(a.withUnsafeBytes(BodyFingerprint.init) != b.withUnsafeBytes(BodyFingerprint.init))
        #expect(a.withUnsafeBytes(BodyFingerprint.init) == a.withUnsafeBytes(BodyFingerprint.init))
    }

    private func fetch(_ count: Int, from server: RawHTTPServer) async throws -> [String] {
        let fetcher = HTTPFetcher(userAgent: "test")
        defer { Task { await fetcher.shutdown() } }
        let url = "http://127.0.0.1:\(server.port)/-/exceptions"
        let settings = ScrapeSettings(interval: .seconds(5), timeout: .seconds(5), bodySizeLimit: 1 << 20)
        return try await EventLoopIsolation(MultiThreadedEventLoopGroup.singleton.next()).run { isolation in
            let connection = ScrapeConnection(eventLoop: isolation.eventLoop)
            var bodies: [String] = []
            for _ in 0..<count {
                let body = try await fetcher.fetchBuffer(url, settings: settings, accept: "application/json", over: connection)
                bodies.append(String(buffer: body))
                // Give the server's close, if any, time to arrive before the next request.
                try await Task.sleep(for: .milliseconds(50))
            }
            return bodies
        }
    }
}

/// An HTTP/1.1 server on a raw socket, to close connections exactly when a test needs it to.
final class RawHTTPServer: Sendable {
    enum Mode: Sendable {
        case keepAlive
        /// Answers the first request of a connection; closes it, unanswered, on the second.
        case oneAnswerPerConnection
        /// Answers with `Connection: close`, and closes.
        case connectionClose
    }

    struct Counts: Equatable, Sendable {
        var connections = 0
        var requests = 0
    }

    /// Counted by the server's handlers, read by the test.
    final class Counter: Sendable {
        let state = Mutex(Counts())
    }

    private let channel: any Channel
    private let counter: Counter
    let port: Int

    private init(channel: any Channel, counter: Counter) {
        self.channel = channel
        self.counter = counter
        self.port = channel.localAddress?.port ?? 0
    }

    var counts: Counts { counter.state.withLock { $0 } }

    /// The body of the server's `number`th answer: a few KB, so that it takes several reads.
    static func body(_ number: Int) -> String {
        "{\"answer\": \(number), \"padding\": \"" + String(repeating: "x", count: 5_000 + number) + "\"}"
    }

    static func start(_ mode: Mode) async throws -> RawHTTPServer {
        let counter = Counter()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    counter.state.withLock { $0.connections += 1 }
                    try channel.pipeline.syncOperations.addHandler(Handler(mode: mode, counter: counter))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return RawHTTPServer(channel: channel, counter: counter)
    }

    func stop() { channel.close(promise: nil) }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let mode: Mode
        let counter: Counter
        var pending = ""
        var answered = 0

        init(mode: Mode, counter: Counter) {
            self.mode = mode
            self.counter = counter
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            pending += String(buffer: unwrapInboundIn(data))
            while let end = pending.range(of: "\r\n\r\n") {
                pending.removeSubrange(..<end.upperBound)
                if mode == .oneAnswerPerConnection, answered == 1 {
                    context.close(promise: nil)
                    return
                }
                answered += 1
                let number = counter.state.withLock { counts in
                    counts.requests += 1
                    return counts.requests
                }
                let body = RawHTTPServer.body(number)
                var head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
                if mode == .connectionClose { head += "Connection: close\r\n" }
                let written = context.writeAndFlush(NIOAny(ByteBuffer(string: head + "\r\n" + body)))
                if mode == .connectionClose { written.whenComplete { _ in context.close(promise: nil) } }
            }
        }
    }
}
