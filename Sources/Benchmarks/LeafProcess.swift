import Foundation

/// A `canopy-leaf` child process: a `ChildProgram` (its own process group, its output in a log
/// file, stopped on every way out) that says where it listens.
enum LeafProcess {
    /// Runs `body` with a started leaf and stops the leaf on every way out, error and cancellation included.
    static func withLeaf<Result: Sendable>(
        executable: String, arguments: [String], logPath: String, _ body: (ChildProgram) async throws -> Result
    ) async throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError("no leaf binary at \(executable): build it with `swift build -c release --product canopy-leaf`, or pass --leaf")
        }
        return try await ChildProgram.with("canopy-leaf", executable: executable, arguments: arguments, logPath: logPath, body)
    }

    static func port(in log: String) -> Int? {
        guard let range = log.range(of: "listening on 127.0.0.1:") else { return nil }
        return Int(log[range.upperBound...].prefix { $0.isNumber })
    }
}

extension ChildProgram {
    /// The port from Hummingbird's `listening on 127.0.0.1:PORT` line.
    func listeningPort(within timeout: Duration) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let port = LeafProcess.port(in: log) { return port }
            if hasExited { throw BenchError("the leaf exited at start:\n\(logTail)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("the leaf did not log `listening on 127.0.0.1:PORT` within \(timeout):\n\(logTail)")
    }
}
