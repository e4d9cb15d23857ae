import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import CanopyTestSupport

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A real Periskop target written in Python: `python/periskop_target.py`, which reports real
/// Python exceptions with the PyPI package `periskop-client` (its own collector, exporter and
/// HTTP handler). It must be installed (`scripts/install-test-deps`); the tests fail, not
/// skip, without it.
///
/// The process is started with posix_spawn and a cleared signal mask (a Foundation `Process`
/// child inherits the test runner's blocked signals). It also exits when its stdin, a pipe
/// only this object writes to, closes: a test runner that dies leaves no Python behind.
public final class PythonTarget: Sendable {
    public static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("python/periskop_target.py").standardized.path

    /// What the script puts in the HTTP context of `kind: "http"` (kept equal to its constants).
    public enum Request {
        public static let method = "POST"
        public static let url = "https://shop.example/api/orders/42/pay?currency=EUR"
        public static let authorization = "Bearer py-s3cr3t-bearer"
        public static let password = "hunter2-py"
        public static let body = #"{"user": "alice", "password": "hunter2-py", "amount": 12}"#
        public static let scrubbedBody = #"{"user": "alice", "password": "[REDACTED]", "amount": 12}"#
    }

    private struct Child {
        var pid: pid_t
        var stdin: Int32
        var exited = false
    }

    /// The same across `restart()`: a restarted process listens where the old one did.
    public let port: Int
    private let child: Mutex<Child?>
    private let logPath: String
    /// Where the script imports `shared_orders` from (nil: beside the script).
    private let libraryDirectory: String?

    public var address: String { "127.0.0.1:\(port)" }

    private init(port: Int, child: Child, logPath: String, libraryDirectory: String?) {
        self.port = port
        self.child = Mutex(child)
        self.logPath = logPath
        self.libraryDirectory = libraryDirectory
    }

    deinit {
        // Last resort: stop() is the normal path.
        child.withLock { child in
            guard var running = child, !running.exited else { return }
            close(running.stdin)
            kill(running.pid, SIGKILL)
            var status: Int32 = 0
            waitpid(running.pid, &status, 0)
            running.exited = true
            child = running
        }
        try? FileManager.default.removeItem(atPath: logPath)
    }

    /// Starts the script on a port the OS chooses and waits (at most 20 s) until it listens.
    /// `libraryDirectory`: a directory holding a copy of `python/shared_orders.py` that the
    /// script imports instead of its own (each service with the library installed its own way).
    public static func start(libraryDirectory: String? = nil) async throws -> PythonTarget {
        let logPath = NSTemporaryDirectory() + "canopy-python-target-\(UUID().uuidString).log"
        let (child, port) = try await spawn(port: 0, logPath: logPath, libraryDirectory: libraryDirectory)
        return PythonTarget(port: port, child: child, logPath: logPath, libraryDirectory: libraryDirectory)
    }

    /// The shared library the script's `*-order` kinds call, to copy elsewhere.
    public static let sharedLibrary = URL(fileURLWithPath: script).deletingLastPathComponent().appendingPathComponent("shared_orders.py").path

    /// What the process wrote on stderr (Python's tracebacks if it failed).
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Makes the process raise and report `count` exceptions of `kind` (`zero`, `missing`,
    /// `http`); returns the aggregation key periskop-client gave them and the key's new total.
    @discardableResult
    public func raise(kind: String, count: Int) async throws -> (key: String, total: Int) {
        let (status, body) = try await Self.http("http://\(address)/raise?kind=\(kind)&n=\(count)", method: .POST)
        guard status == 200, let answer = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            let key = answer["aggregation_key"] as? String, let total = answer["total_count"] as? Int
        else { throw TestFailure("python target: raise \(kind) x\(count) answered \(status): \(body)\n\(log)") }
        return (key, total)
    }

    /// The client's own export (`GET /-/exceptions`), parsed.
    public func export() async throws -> [String: Any] {
        let (status, body) = try await Self.http("http://\(address)/-/exceptions", method: .GET)
        guard status == 200, let payload = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            throw TestFailure("python target: GET /-/exceptions answered \(status): \(body)")
        }
        return payload
    }

    /// `aggregation_key: total_count` of the client's own export.
    public func exportedTotals() async throws -> [String: Int] {
        let groups = try await export()["aggregated_errors"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: groups.map { ($0["aggregation_key"] as! String, $0["total_count"] as! Int) })
    }

    /// A process restart: stops the process and starts a new one on the same port (a new
    /// target_uuid, every count from zero).
    public func restart() async throws {
        await stop()
        var lastError: (any Error)?
        // The old socket may linger for a moment; the script's server reuses the address.
        for _ in 0..<20 {
            do {
                let (child, _) = try await Self.spawn(port: port, logPath: logPath, libraryDirectory: libraryDirectory)
                self.child.withLock { $0 = child }
                return
            } catch {
                lastError = error
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        throw lastError ?? TestFailure("python target did not restart")
    }

    /// Closes its stdin and sends SIGTERM; SIGKILL if it is still there after 2 seconds.
    /// Always reaps the process.
    public func stop() async {
        guard let running = child.withLock({ $0 }), !running.exited else { return }
        close(running.stdin)
        kill(running.pid, SIGTERM)
        let deadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < deadline, !Self.reaped(running.pid) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if !Self.reaped(running.pid) {
            kill(running.pid, SIGKILL)
            var status: Int32 = 0
            waitpid(running.pid, &status, 0)
        }
        child.withLock { $0?.exited = true }
    }

    private static func reaped(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        return result == pid || result == -1
    }

    private static func http(_ url: String, method: HTTPMethod) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }

    /// Spawns `python3 periskop_target.py --port N` and reads the port it prints.
    private static func spawn(port: Int, logPath: String, libraryDirectory: String?) async throws -> (Child, Int) {
        var stdinPipe: [Int32] = [0, 0]
        var stdoutPipe: [Int32] = [0, 0]
        guard pipe(&stdinPipe) == 0 else { throw TestFailure("pipe failed: errno \(errno)") }
        guard pipe(&stdoutPipe) == 0 else {
            close(stdinPipe[0])
            close(stdinPipe[1])
            throw TestFailure("pipe failed: errno \(errno)")
        }
        // Close-on-exec: no other child of the test runner may hold the write end of stdin
        // (posix_spawn's dup2 gives the script its own copies without the flag).
        for fd in stdinPipe + stdoutPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer {
            close(stdinPipe[0])
            close(stdoutPipe[1])
        }

        var attributes = posix_spawnattr_t()
        var actions = posix_spawn_file_actions_t()
        posix_spawnattr_init(&attributes)
        posix_spawn_file_actions_init(&actions)
        defer {
            posix_spawnattr_destroy(&attributes)
            posix_spawn_file_actions_destroy(&actions)
        }
        var noSignals = sigset_t()
        var defaultSignals = sigset_t()
        sigemptyset(&noSignals)
        sigemptyset(&defaultSignals)
        for signal in [SIGHUP, SIGINT, SIGTERM, SIGPIPE, SIGCHLD] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)

        let arguments = ["python3", "-u", script, "--port", String(port)] + (libraryDirectory.map { ["--library", $0] } ?? [])
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, "python3", &actions, &attributes, argv, environ)
        guard result == 0 else {
            close(stdinPipe[1])
            close(stdoutPipe[0])
            throw TestFailure("posix_spawnp python3 failed: errno \(result) (is python3 on PATH?)")
        }
        var child = Child(pid: pid, stdin: stdinPipe[1])

        // Read the port line, bounded in time, without blocking a thread of the concurrency pool.
        let output = stdoutPipe[0]
        defer { close(output) }
        _ = fcntl(output, F_SETFL, fcntl(output, F_GETFL) | O_NONBLOCK)
        var line: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        let deadline = ContinuousClock.now + .seconds(20)
        var eof = false
        while !line.contains(UInt8(ascii: "\n")), !eof, ContinuousClock.now < deadline {
            let count = buffer.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            if count > 0 {
                line += buffer[0..<count]
            } else if count == 0 {
                eof = true
            } else {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let listening = Int(text), listening > 0, port == 0 || listening == port else {
            close(child.stdin)
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            child.exited = true
            let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            throw TestFailure(
                "python target did not start (printed \(text.debugDescription)); "
                    + "install periskop-client with scripts/install-test-deps. stderr:\n\(log)")
        }
        return (child, listening)
    }
}

/// Runs `body` with `count` Python targets, stopped afterwards whether `body` succeeds or not.
public func withPythonTargets<R>(_ count: Int, _ body: ([PythonTarget]) async throws -> R) async throws -> R {
    var targets: [PythonTarget] = []
    do {
        for _ in 0..<count { targets.append(try await PythonTarget.start()) }
        let result = try await body(targets)
        for target in targets { await target.stop() }
        return result
    } catch {
        for target in targets { await target.stop() }
        throw error
    }
}
