import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the PostgreSQL command-line tools (`initdb`, `pg_ctl`) to completion and captures what they print.
///
/// Children are started with `posix_spawn`, a cleared signal mask and default signal dispositions: the hub runs under
/// swift-service-lifecycle, which blocks or ignores SIGTERM, SIGINT and friends, and a child would inherit that (a
/// postmaster that ignores SIGTERM cannot be stopped by `pg_ctl stop`). They also get their own process group, so a
/// Ctrl-C on the hub's terminal reaches the hub, which then stops its PostgreSQL in order, and not the tools mid-run.
enum PostgresProcess {
    struct Output: Sendable {
        /// The exit status, or 128 + the signal number when the child was killed by a signal.
        var status: Int32
        /// stdout and stderr together (the last 64 KiB).
        var text: String

        var succeeded: Bool { status == 0 }
    }

    /// The user the tools run as: when the hub is root, an unprivileged one (`initdb` and `pg_ctl` refuse root).
    struct User: Sendable, Equatable {
        var name: String
        var uid: uid_t
        var gid: gid_t

        static func named(_ name: String) -> User? {
            var entry = passwd()
            var result: UnsafeMutablePointer<passwd>?
            var buffer = [CChar](repeating: 0, count: 16384)
            guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
            return User(name: name, uid: entry.pw_uid, gid: entry.pw_gid)
        }

        /// `postgres` when it exists (Debian's package creates it), else `nobody`.
        static func unprivileged() throws -> User {
            if let user = named("postgres") ?? named("nobody") { return user }
            throw PrivatePostgresError(
                "the hub runs as root, and initdb refuses root, but neither a `postgres` nor a `nobody` user exists to run PostgreSQL as: "
                    + "create one (useradd --system postgres), run the hub as an unprivileged user, or set database.url")
        }
    }

    /// How a tool is run as `user`: through util-linux's `setpriv`, which switches uid and gid and then execs the tool
    /// itself (no PAM session and no extra process in between, unlike `runuser`, which is the fallback).
    static func wrapped(_ executable: String, _ arguments: [String], as user: User?) throws -> (executable: String, arguments: [String]) {
        guard let user else { return (executable, arguments) }
        let systemPath = "/usr/bin:/bin:/usr/sbin:/sbin"
        if let setpriv = findExecutable("setpriv", path: systemPath) {
            return (setpriv, ["--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", "--", executable] + arguments)
        }
        if let runuser = findExecutable("runuser", path: systemPath) {
            return (runuser, ["-u", user.name, "--", executable] + arguments)
        }
        throw PrivatePostgresError(
            "the hub runs as root and must run PostgreSQL as the user \(user.name), but neither setpriv nor runuser (util-linux) is installed")
    }

    static func findExecutable(_ name: String, path: String) -> String? {
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// The environment for the tools: the hub's, without `PG*` variables (PGPORT, PGDATA, PGHOST... would change
    /// what the tools do) and with the C locale, so that their messages are predictable.
    static var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PG") }
        environment["LC_ALL"] = "C"
        return environment
    }

    /// Runs `executable` on a thread of its own (the tools block for seconds) and returns what it printed.
    /// Not cancellable: a half-run `pg_ctl stop` is worse than a late one.
    static func run(_ executable: String, _ arguments: [String], as user: User? = nil) async throws -> Output {
        let (executable, arguments) = try wrapped(executable, arguments, as: user)
        let environment = self.environment
        return try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try runSynchronously(executable, arguments, environment: environment) })
            }
            thread.name = "canopy-postgres-tool"
            thread.start()
        }
    }

    /// The same, blocking the calling thread (for `atexit` hooks).
    static func runBlocking(_ executable: String, _ arguments: [String], as user: User? = nil) throws -> Output {
        let (executable, arguments) = try wrapped(executable, arguments, as: user)
        return try runSynchronously(executable, arguments, environment: environment)
    }

    private static let outputLimit = 64 * 1024

    /// `posix_spawn_file_actions_addchdir_np` (glibc 2.29+), which Swift's Glibc module does not export.
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let addChdir: AddChdir? = dlsym(nil, "posix_spawn_file_actions_addchdir_np").map {
        unsafeBitCast($0, to: AddChdir.self)
    }

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34+), likewise not exported.
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let addCloseFrom: AddCloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map {
        unsafeBitCast($0, to: AddCloseFrom.self)
    }

    /// The descriptors above 2 that this process has open, for glibcs without `addclosefrom_np`.
    private static func openDescriptors() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { Int32($0) }.filter { $0 > 2 }
    }

    private static func runSynchronously(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> Output {
        // The child writes into a file the child itself opens, not into a pipe: no descriptor exists in this process
        // that another concurrently spawned child (a postmaster, say) could inherit and so keep a pipe open forever.
        let outputFile = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("canopy-pg-tool-\(UUID().uuidString).out").path
        defer { unlink(outputFile) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputFile, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Nothing else of this process goes to the child: NIO's sockets and Foundation's pipes are not
        // close-on-exec, and a postmaster that inherited one would hold it (the hub's listening
        // port, or a pipe whose reader then waits forever for its end) as long as it runs.
        if let addCloseFrom {
            _ = addCloseFrom(&actions, 3)
        } else {
            for descriptor in openDescriptors() { posix_spawn_file_actions_addclose(&actions, descriptor) }
        }
        // The unprivileged user may not be able to enter the hub's working directory (/root): the tools then complain.
        _ = addChdir?(&actions, "/")

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
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }

        var pid = pid_t()
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw PrivatePostgresError("could not run \(executable): \(String(cString: strerror(spawned)))") }

        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw PrivatePostgresError("could not wait for \(executable): \(errnoText())") }
        }
        let signal = status & 0x7f
        let exitStatus = signal == 0 ? (status >> 8) & 0xff : 128 + signal
        let data = FileManager.default.contents(atPath: outputFile) ?? Data()
        let text = String(decoding: data.suffix(outputLimit), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return Output(status: exitStatus, text: text)
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
