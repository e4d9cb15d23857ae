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

    private let process: Process
    private let output = Mutex("")
    public let port = PortPromise()

    /// Starts `binary` with `arguments`; `--listen 127.0.0.1:0` is added unless given.
    public init(_ binary: String, _ arguments: [String]) throws {
        process = Process()
        process.executableURL = try Self.binary(binary)
        process.arguments = arguments.contains("--listen") ? arguments : arguments + ["--listen", "127.0.0.1:0"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard !data.isEmpty else {
                handle.readabilityHandler = nil
                return
            }
            guard let self else { return }
            let all = self.output.withLock { output in
                output += String(decoding: data, as: UTF8.self)
                return output
            }
            if let range = all.range(of: #"listening on 127\.0\.0\.1:(\d+)"#, options: .regularExpression),
                let port = all[range].split(separator: ":").last.flatMap({ Int($0) })
            {
                self.port.fulfil(port)
            }
        }
        try process.run()
    }

    public var log: String { output.withLock { $0 } }
    public var isRunning: Bool { process.isRunning }
    public var pid: Int32 { process.processIdentifier }

    /// Runs `binary` to completion and returns its exit code and output.
    public static func run(_ binary: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = try Self.binary(binary)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    public func base() async -> String { "http://127.0.0.1:\(await port.value)" }

    /// Sends `signal` (SIGTERM by default) and waits for the process to end.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM) async -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        return process.terminationStatus
    }

    public func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
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
