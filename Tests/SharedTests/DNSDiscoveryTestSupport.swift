import Foundation
import NIOCore
import NIOPosix
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
    private let process: ChildProcess

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
            defer { try? FileManager.default.removeItem(atPath: logPath) }
            // --no-daemon also keeps dnsmasq from writing a pid file or changing user, so it runs as root too.
            let arguments =
                [
                    "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--port=\(port)",
                    "--listen-address=127.0.0.1", "--bind-interfaces", "--local=/canopy.test/",
                ] + records
            let server = Dnsmasq(port: port, process: try ChildProcess(executable, arguments, stderrPath: logPath))
            if await server.answers(within: .seconds(5)) { return server }
            server.stop()
            lastError = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        }
        throw StartError(description: "dnsmasq did not start: \(lastError)")
    }

    private func answers(within timeout: Duration) async -> Bool {
        guard let address = try? SocketAddress(ipAddress: "127.0.0.1", port: port) else { return false }
        let client = DNSClient(nameservers: [address], timeout: .milliseconds(200))
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline && process.isRunning {
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
        process.stop()
    }
}

/// A child process started by `Spawn`. Not Foundation's `Process`: its children inherit the
/// test runner's blocked signals, so dnsmasq would never see SIGTERM or SIGHUP, and its
/// `waitUntilExit` blocks threads of the concurrency pool.
final class ChildProcess {
    let pid: pid_t
    private var exited = false

    init(_ executable: String, _ arguments: [String], stderrPath: String) throws {
        do {
            pid = try Spawn.start(executable, arguments, output: stderrPath)
        } catch {
            throw Dnsmasq.StartError(description: "\(error)")
        }
    }

    deinit { stop() }

    var isRunning: Bool {
        guard !exited else { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { exited = true }
        return !exited
    }

    func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// SIGTERM, then SIGKILL if it is still there after a second; always reaps the child.
    func stop() {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        for _ in 0..<100 where isRunning { usleep(10_000) }
        guard isRunning else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        exited = true
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
