#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation
import Shared
import Synchronization

/// A program run for a test (a Canopy binary, chromedriver, dnsmasq, `deploy/demo`, `sh`), its
/// output going to a log file: the tests' one way to start a child.
///
/// Started by `Spawn` (see there why not Foundation's `Process`), in a process group of its own,
/// so that `terminate` also ends what it started (Chromium's processes).
public final class ChildProcess: Sendable {
    public let pid: pid_t
    public let logPath: String
    public let executable: String
    /// Set once the child is reaped: its pid may then belong to another process and must not be signalled.
    private let exitStatus = Mutex<Int32?>(nil)

    private init(pid: pid_t, executable: String, logPath: String) {
        self.pid = pid
        self.executable = executable
        self.logPath = logPath
    }

    /// `environment` is added to the test process's own, or with `inheriting: false` is the whole of it.
    public static func spawn(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], inheriting: Bool = true, logPath: String
    ) throws -> ChildProcess {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw TestFailure("\(executable) is not installed: run scripts/install-test-deps")
        }
        var variables = inheriting ? ProcessInfo.processInfo.environment : [:]
        for (name, value) in environment { variables[name] = value }
        let pid: pid_t
        do {
            pid = try Spawn.start(executable, arguments, environment: variables, output: logPath, newProcessGroup: true)
        } catch {
            throw TestFailure("\(error)")
        }
        return ChildProcess(pid: pid, executable: executable, logPath: logPath)
    }

    /// Runs `executable` to its end and returns its exit code and output (stdout and stderr).
    /// `environment` and `inheriting` as for `spawn`.
    public static func run(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], inheriting: Bool = true
    ) throws -> (status: Int32, output: String) {
        let logPath = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-run-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: logPath) }
        let child = try spawn(executable, arguments, environment: environment, inheriting: inheriting, logPath: logPath)
        let status = child.exitStatus.withLock { status in
            var raw: Int32 = 0
            while waitpid(child.pid, &raw, 0) == -1 && errno == EINTR {}
            status = raw
            return raw
        }
        // Killed by a signal: 128 + the signal, as a shell says it.
        let code = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (code, child.log)
    }

    /// Sends `signal` to the child alone, while it runs.
    public func signal(_ signal: Int32) {
        if !hasExited { kill(pid, signal) }
    }

    /// The raw wait status once the child has exited (reaping it), nil while it runs.
    public var waitStatus: Int32? {
        exitStatus.withLock { status in
            if status == nil {
                var raw: Int32 = 0
                if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
            }
            return status
        }
    }

    /// Whether the child has exited (and reaps it if so).
    public var hasExited: Bool { waitStatus != nil }

    /// The exit code, when the child exited by itself (not by a signal).
    public var exitCode: Int32? {
        guard let status = waitStatus, status & 0x7f == 0 else { return nil }
        return (status >> 8) & 0xff
    }

    /// The live processes of the child's group: the child and what it started (zombies waiting
    /// for a reaper do not count), from `/proc/PID/stat`.
    public var groupMembers: [pid_t] {
        _ = hasExited
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let member = pid_t(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            // After the command name in parentheses: state, ppid, pgrp.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, fields[0] != "Z", fields[0] != "X", pid_t(fields[2]) == pid else { return nil }
            return member
        }
    }

    public var groupIsAlive: Bool { !groupMembers.isEmpty }

    /// SIGTERM to the child's process group, then SIGKILL to what is left after `grace`. Blocks
    /// its thread while it waits (polling every 10 ms): it must work while the calling task is
    /// cancelled, when every `Task.sleep` returns at once.
    public func terminate(grace: Duration = .seconds(5)) {
        let deadline = ContinuousClock.now + grace
        if groupIsAlive { kill(-pid, SIGTERM) }
        while groupIsAlive, ContinuousClock.now < deadline { usleep(10_000) }
        if groupIsAlive { kill(-pid, SIGKILL) }
        exitStatus.withLock { status in
            guard status == nil else { return }
            var raw: Int32 = 0
            waitpid(pid, &raw, 0)
            status = raw
        }
        // A grandchild may take a moment to die after SIGKILL.
        let killed = ContinuousClock.now + .seconds(5)
        while groupIsAlive, ContinuousClock.now < killed { usleep(10_000) }
    }

    /// The child's output so far.
    public var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    public var logTail: String { log.split(separator: "\n").suffix(20).joined(separator: "\n") }

    deinit {
        if exitStatus.withLock({ $0 == nil }) { kill(-pid, SIGKILL) }
    }
}
