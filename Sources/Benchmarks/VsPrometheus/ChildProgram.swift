#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Shared
import Synchronization

/// A program the side-by-side benchmark runs (nginx, Prometheus), its output going to a log file.
///
/// Started by `Spawn` in a process group of its own: `stop` then ends what it started too
/// (nginx's workers), and a Ctrl-C at the terminal reaches only the bench, which stops it.
final class ChildProgram: Sendable {
    let name: String
    let pid: pid_t
    let logPath: String
    /// Set once the child is reaped: its pid may then belong to another process and must not be signalled.
    private let exitStatus = Mutex<Int32?>(nil)

    private init(name: String, pid: pid_t, logPath: String) {
        self.name = name
        self.pid = pid
        self.logPath = logPath
    }

    /// Runs `body` with the started program and stops it on every way out, error and cancellation included.
    static func with<Result: Sendable>(
        _ name: String, executable: String, arguments: [String], logPath: String, _ body: (ChildProgram) async throws -> Result
    ) async throws -> Result {
        let child = try start(name, executable: executable, arguments: arguments, logPath: logPath)
        do {
            let result = try await body(child)
            child.stop()
            return result
        } catch {
            child.stop()
            throw error
        }
    }

    static func start(_ name: String, executable: String, arguments: [String], logPath: String) throws -> ChildProgram {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError("\(name) is not installed (no \(executable)): run scripts/bench, which installs it, or pass its path")
        }
        do {
            let pid = try Spawn.start(executable, arguments, output: logPath, newProcessGroup: true)
            return ChildProgram(name: name, pid: pid, logPath: logPath)
        } catch {
            throw BenchError("\(name) did not start: \(error)")
        }
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

    /// SIGTERM to the child's process group, SIGKILL to it if the child has not exited within 10
    /// seconds. Blocks its thread while it waits: it must work while the calling task is
    /// cancelled, when every `Task.sleep` returns at once.
    func stop() {
        exitStatus.withLock { status in
            guard status == nil else { return }
            kill(-pid, SIGTERM)
            var raw: Int32 = 0
            for _ in 0..<1000 {
                if waitpid(pid, &raw, WNOHANG) == pid {
                    status = raw
                    // What it started and left behind (an nginx worker) goes with it.
                    kill(-pid, SIGKILL)
                    return
                }
                usleep(10_000)
            }
            kill(-pid, SIGKILL)
            waitpid(pid, &raw, 0)
            status = raw
        }
    }

    /// CPU seconds of the child and every live process of its group (nginx's workers, which
    /// the master's own figure leaves out).
    func groupCPUSeconds() -> Double {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.reduce(0) { total, entry in
            guard let member = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return total }
            // After the command name in parentheses: state, ppid, pgrp.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, Int32(fields[2]) == pid else { return total }
            return total + ((try? ProcStats(pid: member).cpuSeconds()) ?? 0)
        }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    var logTail: String { log.split(separator: "\n").suffix(15).joined(separator: "\n") }
}

/// A TCP port nothing listens on now (bound to 0.0.0.0 and released: nginx listens on every
/// loopback address of it).
func freePort() throws -> Int {
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard socket >= 0 else { throw BenchError("cannot open a socket: \(String(cString: strerror(errno)))") }
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw BenchError("cannot bind a free port: \(String(cString: strerror(errno)))") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) }
    }
    guard named == 0 else { throw BenchError("cannot read a bound port: \(String(cString: strerror(errno)))") }
    return Int(UInt16(bigEndian: address.sin_port))
}
