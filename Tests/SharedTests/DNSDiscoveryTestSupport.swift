import Foundation
import NIOCore
import NIOPosix
import CanopyTestSupport
import Testing

@testable import Shared

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A real dnsmasq serving `records` (dnsmasq options) on 127.0.0.1 and a free port. It must be
/// installed (`apt-get install dnsmasq`); the tests fail, not skip, without it.
final class Dnsmasq {
    let port: Int
    let process: ChildProcess

    var nameserver: String { "127.0.0.1:\(port)" }

    private init(port: Int, process: ChildProcess) {
        self.port = port
        self.process = process
    }

    deinit { stop() }

    static let executable = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq", "/usr/local/sbin/dnsmasq"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    struct StartError: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts dnsmasq and waits until it answers; a port taken meanwhile is retried on another.
    static func start(_ records: [String]) async throws -> Dnsmasq {
        guard let executable else { throw StartError(description: "dnsmasq is not installed (apt-get install dnsmasq)") }
        var lastError = ""
        for _ in 0..<5 {
            let port = try await freeUDPPort()
            let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-dnsmasq-\(UUID().uuidString).log").path
            // --no-daemon also keeps dnsmasq from writing a pid file or changing user, so it runs as root too.
            let arguments =
                [
                    "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--port=\(port)",
                    "--listen-address=127.0.0.1", "--bind-interfaces", "--local=/canopy.test/",
                ] + records
            let server = Dnsmasq(port: port, process: try ChildProcess.spawn(executable, arguments, logPath: logPath))
            if await server.answers(within: .seconds(5)) { return server }
            server.stop()
            lastError = server.process.log
        }
        throw StartError(description: "dnsmasq did not start: \(lastError)")
    }

    private func answers(within timeout: Duration) async -> Bool {
        guard let address = try? SocketAddress(ipAddress: "127.0.0.1", port: port) else { return false }
        let client = DNSClient(nameservers: [address], timeout: .milliseconds(200))
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline && !process.hasExited {
            if (try? await client.query(name: "ready.canopy.test", type: .a)) != nil { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Makes dnsmasq read its --addn-hosts files again.
    func reload() {
        process.signal(SIGHUP)
    }

    func stop() {
        process.terminate(grace: .seconds(1))
    }
}

/// Runs `body` with a dnsmasq that is stopped afterwards, whether `body` succeeds or not.
func withDnsmasq<R>(_ records: [String], _ body: (Dnsmasq) async throws -> R) async throws -> R {
    let server = try await Dnsmasq.start(records)
    defer { server.stop() }
    return try await body(server)
}

/// A UDP socket on 127.0.0.1 that receives queries and never answers them.
final class SilentUDPServer {
    let port: Int
    private let channel: any Channel

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    static func start() async throws -> SilentUDPServer {
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        return SilentUDPServer(port: try #require(channel.localAddress?.port), channel: channel)
    }

    deinit { channel.close(promise: nil) }
}

/// A port on 127.0.0.1 that nothing listens on (free a moment ago).
func freeUDPPort() async throws -> Int {
    let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress?.port
    try await channel.close()
    return try #require(port)
}
