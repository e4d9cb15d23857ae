import Foundation
import Synchronization

/// A Canopy binary (`canopy-leaf`, `canopy-hub`) run as a separate process, as an operator runs
/// it: its log is captured, its port read from the log, and it is killed if a test forgets it.
public final class ServerProcess: Sendable {
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized

    public static func binary(_ name: String) throws -> URL {
        for candidate in [".build/debug/\(name)", ".build/release/\(name)"] {
            let url = packageRoot.appendingPathComponent(candidate)
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw TestFailure("\(name) is not built: run `swift build` first")
    }

    private let child: ChildProcess

    /// Starts `binary` with `arguments`; `--listen 127.0.0.1:0` is added unless given.
    public init(_ binary: String, _ arguments: [String]) throws {
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-\(binary)-\(UUID().uuidString).log").path
        child = try ChildProcess.spawn(
            try Self.binary(binary).path, arguments.contains("--listen") ? arguments : arguments + ["--listen", "127.0.0.1:0"], logPath: logPath)
    }

    public var log: String { child.log }
    public var isRunning: Bool { !child.hasExited }
    public var pid: Int32 { child.pid }

    /// Runs `binary` to completion and returns its exit code and output.
    public static func run(
        _ binary: String, _ arguments: [String], environment: [String: String] = [:], inheriting: Bool = true
    ) throws -> (status: Int32, output: String) {
        try ChildProcess.run(try Self.binary(binary).path, arguments, environment: environment, inheriting: inheriting)
    }

    /// The server's base URL, once its log says where it listens.
    public func base(scheme: String = "http") async throws -> String {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let log = child.log
            if let range = log.range(of: #"listening on 127\.0\.0\.1:(\d+)"#, options: .regularExpression),
                let port = log[range].split(separator: ":").last.flatMap({ Int($0) })
            {
                return "\(scheme)://127.0.0.1:\(port)"
            }
            guard !child.hasExited else { throw TestFailure("the server exited before it listened:\n\(child.logTail)") }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("the server did not listen within a minute:\n\(child.logTail)")
    }

    /// The code `stop` returns for a server that did not stop within its grace: it was killed.
    public static let hungOnStop: Int32 = -9

    /// Sends `signal` (SIGTERM by default) and waits for the process to end; returns its exit code.
    /// A server that has not ended after `grace` is SIGKILLed and `hungOnStop` returned, so that a
    /// shutdown that hangs fails its test instead of stalling the suite.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, grace: Duration = .seconds(30)) async -> Int32 {
        child.signal(signal)
        let deadline = ContinuousClock.now + grace
        while !child.hasExited {
            if ContinuousClock.now > deadline {
                child.signal(SIGKILL)
                while !child.hasExited { try? await Task.sleep(for: .milliseconds(20)) }
                return Self.hungOnStop
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return child.exitCode ?? -1
    }

    public func send(_ signal: Int32) { child.signal(signal) }
}

/// A free TCP port on 127.0.0.1, for a server that must keep its address across restarts.
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw TestFailure("bind failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}
