import Foundation
import Synchronization
import Testing

/// The `canopy-leaf` binary run as a separate process, as an operator runs it.
final class LeafProcess: Sendable {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../..").standardized

    static var binary: URL {
        get throws {
            for candidate in [".build/debug/canopy-leaf", ".build/release/canopy-leaf"] {
                let url = packageRoot.appendingPathComponent(candidate)
                if FileManager.default.isExecutableFile(atPath: url.path) { return url }
            }
            throw TestFailure("canopy-leaf is not built: run `swift build` first")
        }
    }

    private let process: Process
    private let output = Mutex("")
    let port = PortPromise()

    /// Starts the binary with `arguments`; `--listen 127.0.0.1:0` is added unless given.
    init(_ arguments: [String]) throws {
        process = Process()
        process.executableURL = try Self.binary
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
            let text = String(decoding: data, as: UTF8.self)
            guard let self else { return }
            let all = self.output.withLock { output in
                output += text
                return output
            }
            if let range = all.range(of: #"listening on 127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                let digits = all[range].split(separator: ":").last.flatMap { Int($0) }
                if let digits { self.port.fulfil(digits) }
            }
        }
        try process.run()
    }

    var log: String { output.withLock { $0 } }

    /// Runs the binary to completion and returns its exit code and output.
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = try binary
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func base() async -> String { "http://127.0.0.1:\(await port.value)" }

    /// Sends `signal` (SIGTERM by default) and waits for the process to end.
    @discardableResult
    func stop(signal: Int32 = SIGTERM) async -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        return process.terminationStatus
    }

    func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
