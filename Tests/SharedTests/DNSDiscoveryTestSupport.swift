import Foundation
import NIOCore
import Testing

@testable import Shared

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A real dnsmasq serving `records` (dnsmasq options) on 127.0.0.1 and a free port. It must be
/// installed (`apt-get install dnsmasq`); the tests fail, not skip, without it.
final class Dnsmasq {
    let port: Int
    private let process: Process

    var nameserver: String { "127.0.0.1:\(port)" }

    private init(port: Int, process: Process) {
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
            let port = try freeUDPPort()
            let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-dnsmasq-\(UUID().uuidString).log").path
            FileManager.default.createFile(atPath: logPath, contents: nil)
            defer { try? FileManager.default.removeItem(atPath: logPath) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            // --no-daemon also keeps dnsmasq from writing a pid file or changing user, so it runs as root too.
            process.arguments = [
                "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--port=\(port)",
                "--listen-address=127.0.0.1", "--bind-interfaces", "--local=/canopy.test/",
            ] + records
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle(forWritingAtPath: logPath)
            try process.run()
            let server = Dnsmasq(port: port, process: process)
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
        kill(process.processIdentifier, SIGHUP)
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
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
    private let descriptor: Int32

    init() throws {
        (descriptor, port) = try boundUDPSocket()
    }

    deinit { close(descriptor) }
}

/// A port on 127.0.0.1 that nothing listens on (free a moment ago).
func freeUDPPort() throws -> Int {
    let (descriptor, port) = try boundUDPSocket()
    close(descriptor)
    return port
}

private func boundUDPSocket() throws -> (Int32, Int) {
    #if canImport(Darwin)
    let descriptor = socket(AF_INET, SOCK_DGRAM, 0)
    #else
    let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    #endif
    guard descriptor >= 0 else { throw Dnsmasq.StartError(description: "socket() failed: errno \(errno)") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
            bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
        }
    }
    guard bound else {
        close(descriptor)
        throw Dnsmasq.StartError(description: "bind() failed: errno \(errno)")
    }
    return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
}
