#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Shared
import Synchronization

/// A `canopy-leaf` child process, its output going to a log file.
///
/// Spawned with `posix_spawn`, with an empty signal mask and every signal at its default action:
/// the benchmark's own service group ignores SIGINT and SIGTERM to handle them itself, and a
/// child would otherwise inherit that and shrug off the SIGTERM that stops it.
final class LeafProcess: Sendable {
    let pid: pid_t
    let logPath: String
    /// Set once the child is reaped: its pid may then belong to another process and must not be signalled.
    private let exitStatus = Mutex<Int32?>(nil)

    private init(pid: pid_t, logPath: String) {
        self.pid = pid
        self.logPath = logPath
    }

    /// Runs `body` with a started leaf and stops the leaf on every way out, error and cancellation included.
    static func withLeaf<Result: Sendable>(
        executable: String, arguments: [String], logPath: String, _ body: (LeafProcess) async throws -> Result
    ) async throws -> Result {
        let leaf = try spawn(executable: executable, arguments: arguments, logPath: logPath)
        do {
            let result = try await body(leaf)
            leaf.terminate()
            return result
        } catch {
            leaf.terminate()
            throw error
        }
    }

    private static func spawn(executable: String, arguments: [String], logPath: String) throws -> LeafProcess {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError("no leaf binary at \(executable): build it with `swift build -c release --product canopy-leaf`, or pass --leaf")
        }
        let pid: pid_t
        do {
            pid = try Spawn.start(executable, arguments, output: logPath)
        } catch {
            throw BenchError("\(error)")
        }
        return LeafProcess(pid: pid, logPath: logPath)
    }

    /// Whether the child has exited (and reaps it if so).
    var hasExited: Bool {
        exitStatus.withLock { status in
            if status != nil { return true }
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
            return status != nil
        }
    }

    /// SIGTERM, then SIGKILL if the leaf has not stopped within 10 seconds. Blocks its thread while
    /// it waits (polling every 10 ms): it must work while the calling task is cancelled, when every
    /// `Task.sleep` returns at once, and it lasts milliseconds for a leaf that behaves.
    func terminate() {
        exitStatus.withLock { status in
            guard status == nil else { return }
            kill(pid, SIGTERM)
            var raw: Int32 = 0
            for _ in 0..<1000 {
                if waitpid(pid, &raw, WNOHANG) == pid {
                    status = raw
                    return
                }
                usleep(10_000)
            }
            kill(pid, SIGKILL)
            waitpid(pid, &raw, 0)
            status = raw
        }
    }

    /// The leaf's output so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// The port from Hummingbird's `listening on 127.0.0.1:PORT` line.
    func listeningPort(within timeout: Duration) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let port = Self.port(in: log) { return port }
            if hasExited { throw BenchError("the leaf exited at start:\n\(logTail)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("the leaf did not log `listening on 127.0.0.1:PORT` within \(timeout):\n\(logTail)")
    }

    var logTail: String { log.split(separator: "\n").suffix(20).joined(separator: "\n") }

    static func port(in log: String) -> Int? {
        guard let range = log.range(of: "listening on 127.0.0.1:") else { return nil }
        return Int(log[range.upperBound...].prefix { $0.isNumber })
    }
}
