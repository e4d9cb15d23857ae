#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Starts a program the way every child of Canopy (a private PostgreSQL, a benchmarked leaf, a
/// test's dnsmasq or chromedriver) must start, with `posix_spawn` rather than Foundation's
/// `Process`:
/// - an empty signal mask and default signal actions: a `Process` child inherits the signals the
///   parent blocks (ServiceLifecycle blocks SIGTERM and SIGINT) and would shrug off SIGTERM;
/// - none of the parent's descriptors but 0, 1 and 2: NIO's sockets and Foundation's pipes are
///   not close-on-exec, and a long-lived child would hold them (a listening port, or a pipe whose
///   reader then waits forever for its end);
/// - stdin from /dev/null, stdout and stderr to a file of the caller's, or /dev/null.
public enum Spawn {
    public struct Failure: Error, CustomStringConvertible {
        public let executable: String
        public let reason: String
        public var description: String { "cannot start \(executable): \(reason)" }
    }

    /// Starts `executable` and returns its pid; the caller reaps it.
    /// - `environment`: the child's whole environment; nil inherits this process's.
    /// - `output`: the file stdout and stderr go to (created, truncated; or, with `exclusive`,
    ///   created only if it does not exist); nil is /dev/null.
    /// - `newProcessGroup`: the child leads a process group of its own, so that a signal to
    ///   the group also reaches what it starts.
    /// - `workingDirectory`: where the child starts (where posix_spawn can say so: glibc 2.29+).
    public static func start(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, output: String? = nil, exclusive: Bool = false,
        newProcessGroup: Bool = false, workingDirectory: String? = nil
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | (exclusive ? O_EXCL : O_TRUNC), 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        if let addCloseFrom {
            _ = addCloseFrom(&actions, 3)
        } else {
            // A descriptor closed meanwhile is skipped by glibc.
            let open = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { Int32($0) }
            for descriptor in open where descriptor > 2 { posix_spawn_file_actions_addclose(&actions, descriptor) }
        }
        if let workingDirectory { _ = addChdir?(&actions, workingDirectory) }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        sigdelset(&allSignals, SIGKILL)
        sigdelset(&allSignals, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        if newProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= POSIX_SPAWN_SETPGROUP
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let variables = environment ?? ProcessInfo.processInfo.environment
        let envp: [UnsafeMutablePointer<CChar>?] = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid = pid_t()
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard status == 0 else { throw Failure(executable: executable, reason: String(cString: strerror(status))) }
        return pid
    }

    /// glibc's `posix_spawn_file_actions_addchdir_np` (2.29+) and `..._addclosefrom_np` (2.34+),
    /// which Swift's Glibc module does not export.
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addChdir: AddChdir? = dlsym(nil, "posix_spawn_file_actions_addchdir_np").map { unsafeBitCast($0, to: AddChdir.self) }
    private static let addCloseFrom: AddCloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map {
        unsafeBitCast($0, to: AddCloseFrom.self)
    }
}
