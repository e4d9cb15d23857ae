#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A release `canopy-hub` child process on a fresh data dir, its output going to a log file.
/// Its private PostgreSQL lives in `<data dir>/postgres` and stops when the hub does.
final class HubProcess: @unchecked Sendable {
    /// Makes the fresh data dir a benchmark's hub runs on; returns its `bench` folder, for the
    /// benchmark's own files.
    static func makeDataDir(_ dataDir: String) throws -> String {
        let files = FileManager.default
        guard !files.fileExists(atPath: dataDir) else { throw BenchError("\(dataDir) exists: the benchmark needs a fresh data dir") }
        // 0755: the hub's PostgreSQL runs as another user when the hub is root, and must reach its cluster.
        try files.createDirectory(atPath: dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let work = dataDir + "/bench"
        try files.createDirectory(atPath: work, withIntermediateDirectories: true)
        return work
    }

    let process: Process
    let dataDir: String
    let logPath: String

    private init(process: Process, dataDir: String, logPath: String) {
        self.process = process
        self.dataDir = dataDir
        self.logPath = logPath
    }

    static func start(executable: String, dataDir: String, config: String, logPath: String) throws -> HubProcess {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError("no hub binary at \(executable): build it with `swift build -c release --product canopy-hub`, or pass --hub")
        }
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        guard let log = FileHandle(forWritingAtPath: logPath) else { throw BenchError("cannot write \(logPath)") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--config", config, "--listen", "127.0.0.1:0", "--data-dir", dataDir]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        do {
            try process.run()
        } catch {
            throw BenchError("cannot start \(executable): \(error)")
        }
        try? log.close()
        return HubProcess(process: process, dataDir: dataDir, logPath: logPath)
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    var logTail: String { log.split(separator: "\n").suffix(20).joined(separator: "\n") }

    /// The port from Hummingbird's `listening on 127.0.0.1:PORT` line. The first start runs
    /// `initdb`, which takes a while.
    func listeningPort(within timeout: Duration) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = log
            if let range = text.range(of: "listening on 127.0.0.1:"), let port = Int(text[range.upperBound...].prefix { $0.isNumber }) {
                return port
            }
            if !process.isRunning { throw BenchError("the hub exited at start:\n\(logTail)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError("the hub did not log `listening on 127.0.0.1:PORT` within \(timeout):\n\(logTail)")
    }

    /// The private PostgreSQL's socket directory and port, from its `postmaster.pid` (lines 4 and 5).
    func postgresSocket() throws -> (directory: String, port: Int, postmaster: pid_t) {
        let path = "\(dataDir)/postgres/postmaster.pid"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw BenchError("cannot read \(path): is the hub's PostgreSQL running?") }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count >= 5, let pid = pid_t(lines[0].trimmingCharacters(in: .whitespaces)), let port = Int(lines[3]), !lines[4].isEmpty else {
            throw BenchError("unexpected \(path):\n\(text)")
        }
        return (lines[4], port, pid)
    }

    /// SIGTERM (the hub stops its PostgreSQL, which checkpoints first), then SIGKILL after `timeout`.
    /// Blocks its thread while it waits.
    func terminate(timeout: Duration = .seconds(120)) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
