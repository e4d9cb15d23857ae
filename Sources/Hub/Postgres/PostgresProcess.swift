import Foundation
import Shared

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

    private static func runSynchronously(_ executable: String, _ arguments: [String], environment: [String: String]) throws -> Output {
        // The child writes into a file the child itself opens, not into a pipe: no descriptor exists in this process
        // that another concurrently spawned child (a postmaster, say) could inherit and so keep a pipe open forever.
        let outputFile = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("canopy-pg-tool-\(UUID().uuidString).out").path
        defer { unlink(outputFile) }

        // A process group of its own, so that a Ctrl-C at the hub's terminal does not reach the server pg_ctl starts
        // (the hub stops it in order); "/" because the unprivileged user may not be able to enter the hub's working
        // directory (/root), and the tools then complain.
        let pid: pid_t
        do {
            pid = try Spawn.start(
                executable, arguments, environment: environment, output: outputFile, exclusive: true, newProcessGroup: true, workingDirectory: "/")
        } catch {
            throw PrivatePostgresError("could not run \(executable): \(error)")
        }

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
