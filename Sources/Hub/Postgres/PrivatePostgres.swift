import AsyncAlgorithms
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization
import Periskop
import Shared

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An error of the private PostgreSQL: what went wrong and, where it helps, what the tools printed.
struct PrivatePostgresError: Error, Sendable, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}

/// Where the PostgreSQL server binaries are: the first directory on PATH with both `initdb` and `pg_ctl`, else the
/// highest version under /usr/lib/postgresql/*/bin (where Debian and Ubuntu install them, off PATH).
struct PostgresBinaries: Sendable, Equatable {
    var directory: String

    var initdb: String { "\(directory)/initdb" }
    var pgCtl: String { "\(directory)/pg_ctl" }

    static func locate(
        path: String? = ProcessInfo.processInfo.environment["PATH"], installRoot: String = "/usr/lib/postgresql"
    ) throws -> PostgresBinaries {
        let tools = ["initdb", "pg_ctl"]
        func hasTools(_ directory: String) -> Bool {
            tools.allSatisfy { FileManager.default.isExecutableFile(atPath: "\(directory)/\($0)") }
        }
        for directory in (path ?? "").split(separator: ":").map(String.init) where !directory.isEmpty && hasTools(directory) {
            return PostgresBinaries(directory: directory)
        }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: installRoot)) ?? []
        let newestFirst = versions.sorted { versionKey($0).lexicographicallyPrecedes(versionKey($1)) }.reversed()
        for version in newestFirst where hasTools("\(installRoot)/\(version)/bin") {
            return PostgresBinaries(directory: "\(installRoot)/\(version)/bin")
        }
        throw PrivatePostgresError(
            "no PostgreSQL server binaries found: initdb and pg_ctl are neither on PATH nor under \(installRoot)/*/bin. "
                + "Install PostgreSQL (Debian and Ubuntu: apt-get install postgresql), "
                + "or set database.url (or CANOPY_DATABASE_URL) to use a PostgreSQL server")
    }

    /// "9.6" → [9, 6], "15" → [15]; names that are not versions sort first.
    private static func versionKey(_ name: String) -> [Int] {
        let parts = name.split(separator: ".").map { Int($0) }
        return parts.contains(nil) ? [-1] : parts.compactMap { $0 }
    }
}

/// The hub's own PostgreSQL cluster, used when no `database.url` is configured: created in the data dir with `initdb`
/// on first use, started with `pg_ctl`, reachable only through a Unix socket (no TCP: nothing else on the machine can
/// reach it and ports never clash), and stopped with the hub.
///
/// `initdb` and `pg_ctl` refuse to run as root: a root hub runs them, and so the server, as `postgres` (or `nobody`),
/// and still connects as root (the socket directory is the cluster's, mode 0700, which root may enter).
final class PrivatePostgres: Sendable {
    /// The cluster (PGDATA).
    let directory: String
    /// Where the server's socket is: the cluster itself, or /tmp/canopy-pg-<hash> when that path would be too long.
    let socketDirectory: String
    let port: Int
    let username = "canopy"
    let database = "canopy"
    /// The server's log (`pg_ctl -l`).
    let logFile: String
    let binaries: PostgresBinaries
    /// The user the server runs as when the hub is root; nil when it runs as the hub's own user.
    let user: PostgresProcess.User?
    /// The server settings it was started with, for a restart.
    let settings: [String: String]
    private let logger: Logger
    private let stopped = Mutex(false)

    /// `<socketDirectory>/.s.PGSQL.<port>`
    var socketPath: String { Self.socketPath(socketDirectory, port: port) }

    private init(
        directory: String, socketDirectory: String, port: Int, binaries: PostgresBinaries, user: PostgresProcess.User?,
        settings: [String: String], logger: Logger
    ) {
        self.directory = directory
        self.settings = settings
        self.socketDirectory = socketDirectory
        self.port = port
        self.logFile = "\(directory)/postgres.log"
        self.binaries = binaries
        self.user = user
        self.logger = logger
    }

    /// A configuration for a `PostgresClient` of this cluster, as the `canopy` superuser.
    func clientConfiguration(database: String? = nil) -> PostgresClient.Configuration {
        PostgresClient.Configuration(unixSocketPath: socketPath, username: username, password: nil, database: database ?? self.database)
    }

    func connectionConfiguration(database: String? = nil) -> PostgresConnection.Configuration {
        PostgresConnection.Configuration(unixSocketPath: socketPath, username: username, password: nil, database: database ?? self.database)
    }

    /// The postmaster's pid, from `postmaster.pid` (nil when there is none).
    var postmasterPID: pid_t? {
        guard let text = try? String(contentsOfFile: "\(directory)/postmaster.pid", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.flatMap { pid_t($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// Creates the cluster in `directory` if it has none, starts it (or adopts one already running there, left by a
    /// hub killed with SIGKILL) and makes sure the `canopy` database exists.
    ///
    /// - Parameters:
    ///   - settings: extra server settings (`-c name=value`), e.g. `fsync: off` for tests.
    ///   - binaries: where `initdb` and `pg_ctl` are; nil to look for them (``PostgresBinaries/locate(path:installRoot:)``).
    static func start(
        directory: String, port: Int = 5432, settings: [String: String] = [:], binaries: PostgresBinaries? = nil, logger: Logger
    ) async throws -> PrivatePostgres {
        let directory = URL(fileURLWithPath: directory).standardizedFileURL.path
        let binaries = try binaries ?? PostgresBinaries.locate()
        let user = geteuid() == 0 ? try PostgresProcess.User.unprivileged() : nil
        var logger = logger
        logger[metadataKey: "postgres.directory"] = "\(directory)"

        try prepareClusterDirectory(directory, for: user)
        let socketDirectory = try prepareSocketDirectory(for: directory, port: port, user: user)
        let postgres = PrivatePostgres(
            directory: directory, socketDirectory: socketDirectory, port: port, binaries: binaries, user: user, settings: settings, logger: logger)
        try await postgres.initialiseIfNeeded()
        try await postgres.startServer()
        do {
            try await postgres.ensureDatabase()
        } catch {
            await postgres.stop()
            throw error
        }
        return postgres
    }

    // MARK: Starting

    private static func prepareClusterDirectory(_ directory: String, for user: PostgresProcess.User?) throws {
        let files = FileManager.default
        if !files.fileExists(atPath: directory) {
            // Parents with the usual permissions (the server's user may need to pass them), the cluster with 0700.
            do {
                try files.createDirectory(atPath: (directory as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            } catch {
                throw PrivatePostgresError("could not create the PostgreSQL directory \(directory): \(error.localizedDescription)")
            }
            if mkdir(directory, 0o700) != 0 && errno != EEXIST {
                throw PrivatePostgresError("could not create the PostgreSQL directory \(directory): \(PostgresProcess.errnoText())")
            }
        }
        guard let user else { return }
        try checkReachable(directory, by: user)
        var info = stat()
        guard stat(directory, &info) == 0 else { throw PrivatePostgresError("could not stat \(directory): \(PostgresProcess.errnoText())") }
        if info.st_uid != user.uid {
            // First start as root (or the hub ran as another user before): the cluster must belong to the server's user.
            try chownTree(directory, to: user)
        }
    }

    /// The server's user must be able to enter every directory above the cluster.
    private static func checkReachable(_ directory: String, by user: PostgresProcess.User) throws {
        var ancestor = URL(fileURLWithPath: directory).deletingLastPathComponent()
        while true {
            var info = stat()
            if stat(ancestor.path, &info) == 0 {
                let mode = info.st_mode
                let searchable =
                    mode & S_IXOTH != 0 || (info.st_uid == user.uid && mode & S_IXUSR != 0) || (info.st_gid == user.gid && mode & S_IXGRP != 0)
                if !searchable {
                    throw PrivatePostgresError(
                        "the hub runs as root, so its PostgreSQL runs as the user \(user.name) (initdb refuses root), "
                            + "but \(user.name) cannot enter \(ancestor.path) (mode \(String(mode & 0o777, radix: 8))) to reach \(directory): "
                            + "choose a data dir that user can reach, or set database.url")
                }
            }
            if ancestor.path == "/" { return }
            ancestor = ancestor.deletingLastPathComponent()
        }
    }

    private static func chownTree(_ directory: String, to user: PostgresProcess.User) throws {
        guard lchown(directory, user.uid, user.gid) == 0 else {
            throw PrivatePostgresError("could not give \(directory) to the user \(user.name): \(PostgresProcess.errnoText())")
        }
        let entries = FileManager.default.enumerator(atPath: directory)
        while let entry = entries?.nextObject() as? String {
            lchown("\(directory)/\(entry)", user.uid, user.gid)
        }
    }

    static func socketPath(_ socketDirectory: String, port: Int) -> String { "\(socketDirectory)/.s.PGSQL.\(port)" }

    /// The longest Unix socket path: `sun_path` holds 108 bytes with the terminating NUL.
    static let maximumSocketPathLength = 107

    /// The cluster directory itself when the socket path fits (and the path needs no quoting), else a short directory
    /// under /tmp named for the cluster.
    static func socketDirectory(for directory: String, port: Int) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-")
        let plain = directory.unicodeScalars.allSatisfy { allowed.contains($0) }
        if plain && socketPath(directory, port: port).utf8.count <= maximumSocketPathLength { return directory }
        return "/tmp/canopy-pg-\(String(String(FNV1a64(directory).value, radix: 16).suffix(12)))"
    }

    private static func prepareSocketDirectory(for directory: String, port: Int, user: PostgresProcess.User?) throws -> String {
        let socketDirectory = socketDirectory(for: directory, port: port)
        guard socketDirectory != directory else { return directory }
        let owner = user?.uid ?? geteuid()
        if mkdir(socketDirectory, 0o700) != 0 && errno != EEXIST {
            throw PrivatePostgresError("could not create the socket directory \(socketDirectory): \(PostgresProcess.errnoText())")
        }
        // /tmp is everybody's: use the directory only if it is a real directory of ours.
        var info = stat()
        guard lstat(socketDirectory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR, info.st_uid == owner || info.st_uid == geteuid() else {
            throw PrivatePostgresError(
                "the socket directory \(socketDirectory) (used because \(directory) is too long for a Unix socket path) "
                    + "exists but is not a directory of this hub's: remove it")
        }
        if let user, info.st_uid != user.uid, lchown(socketDirectory, user.uid, user.gid) != 0 {
            throw PrivatePostgresError("could not give \(socketDirectory) to the user \(user.name): \(PostgresProcess.errnoText())")
        }
        chmod(socketDirectory, 0o700)
        return socketDirectory
    }

    private func initialiseIfNeeded() async throws {
        guard !FileManager.default.fileExists(atPath: "\(directory)/PG_VERSION") else { return }
        logger.info(
            "creating a PostgreSQL cluster", metadata: ["postgres.binaries": "\(binaries.directory)", "postgres.user": "\(user?.name ?? "self")"])
        let output = try await PostgresProcess.run(
            binaries.initdb, ["-D", directory, "-U", username, "--auth=trust", "-E", "UTF8", "--locale=C"], as: user)
        guard output.succeeded else {
            throw PrivatePostgresError("initdb failed (exit status \(output.status)) for \(directory):\n\(output.text)")
        }
    }

    private func pgCtl(_ arguments: [String]) async throws -> PostgresProcess.Output {
        try await PostgresProcess.run(binaries.pgCtl, ["-D", directory] + arguments, as: user)
    }

    private func startServer() async throws {
        if let pid = postmasterPID {
            if Self.isPostmaster(pid, of: directory) {
                // A hub killed with SIGKILL leaves its server running: adopt it when it listens where we would,
                // otherwise restart it with our settings.
                if FileManager.default.fileExists(atPath: socketPath) {
                    logger.info(
                        "adopting the PostgreSQL server already running in the directory",
                        metadata: ["postgres.socket": "\(socketPath)", "postgres.pid": "\(pid)"])
                    return
                }
                logger.notice("restarting the PostgreSQL server running in the directory: it does not listen on the expected socket")
                let stop = try await pgCtl(["-m", "fast", "-w", "-t", "60", "stop"])
                guard stop.succeeded else { throw PrivatePostgresError("pg_ctl stop failed (exit status \(stop.status)):\n\(stop.text)") }
            } else {
                removeStaleLockFiles(pid)
            }
        }
        try rotateLog()
        var options = ["-c listen_addresses=''", "-k \(shellQuoted(socketDirectory))", "-p \(port)"]
        options += settings.sorted { $0.key < $1.key }.map { "-c \($0.key)=\(shellQuoted($0.value))" }
        var attempt = 1
        while true {
            let output = try await pgCtl(["-w", "-t", "60", "-l", logFile, "-o", options.joined(separator: " "), "start"])
            if output.succeeded { break }
            let tail = logTail()
            // The backends of a killed postmaster may hold its shared memory for a moment after it died.
            if attempt < 5 && tail.contains("pre-existing shared memory block") {
                attempt += 1
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            throw PrivatePostgresError(
                "pg_ctl start failed (exit status \(output.status)) for \(directory):\n\(output.text)\nlast lines of \(logFile):\n\(tail)")
        }
        logger.info(
            "started the private PostgreSQL",
            metadata: ["postgres.socket": "\(socketPath)", "postgres.user": "\(user?.name ?? "self")", "postgres.binaries": "\(binaries.directory)"])
    }

    /// Whether `pid` is a live postmaster of `directory`: not merely alive (pids are reused, and a killed postmaster can
    /// stay a zombie for a while where PID 1 reaps lazily, which both pg_ctl and postgres take for a running server).
    static func isPostmaster(_ pid: pid_t, of directory: String) -> Bool {
        guard FileManager.default.fileExists(atPath: "/proc/self/cmdline") else { return kill(pid, 0) == 0 || errno == EPERM }
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return false }
        let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        let program = arguments.first.map { URL(fileURLWithPath: $0).lastPathComponent }
        return (program == "postgres" || program == "postmaster") && arguments.contains(directory)
    }

    /// A postmaster that died without cleaning up (SIGKILL, a crash, a reboot) leaves `postmaster.pid` and the
    /// socket's lock file behind. pg_ctl and postgres cope unless the recorded pid looks alive (a zombie, or a pid
    /// reused by another process): this pid is known not to be our postmaster, so the files go.
    private func removeStaleLockFiles(_ pid: pid_t) {
        logger.notice("removing the lock files of a PostgreSQL server that did not stop cleanly", metadata: ["postgres.pid": "\(pid)"])
        unlink("\(directory)/postmaster.pid")
        let socketLock = "\(socketPath).lock"
        if let text = try? String(contentsOfFile: socketLock, encoding: .utf8),
            let lockPID = text.split(separator: "\n").first.flatMap({ pid_t($0.trimmingCharacters(in: .whitespaces)) }),
            !Self.isPostmaster(lockPID, of: directory)
        {
            unlink(socketLock)
        }
    }

    /// Keeps one previous log when the log passes 16 MiB (pg_ctl -l appends forever).
    private func rotateLog() throws {
        let files = FileManager.default
        if let size = (try? files.attributesOfItem(atPath: logFile))?[.size] as? Int, size > 16 << 20 {
            try? files.removeItem(atPath: logFile + ".1")
            try? files.moveItem(atPath: logFile, toPath: logFile + ".1")
        }
        if let user, files.fileExists(atPath: logFile) { lchown(logFile, user.uid, user.gid) }
    }

    func logTail(lines: Int = 20) -> String {
        guard let data = FileManager.default.contents(atPath: logFile) else { return "(no log)" }
        return String(decoding: data.suffix(16384), as: UTF8.self).split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// Creates the `canopy` database on a new cluster. Retries connecting for a while: an adopted server may still be
    /// recovering.
    private func ensureDatabase() async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        var attempt = 0
        while true {
            attempt += 1
            let connection: PostgresConnection
            do {
                connection = try await PostgresConnection.connect(
                    configuration: connectionConfiguration(database: "postgres"), id: attempt, logger: logger)
            } catch {
                if ContinuousClock.now > deadline {
                    throw PrivatePostgresError(
                        "could not connect to the private PostgreSQL at \(socketPath): \(DatabaseErrorText.describe(error))\n"
                            + "last lines of \(logFile):\n\(logTail())")
                }
                try await Task.sleep(for: .milliseconds(200))
                continue
            }
            do {
                let rows = try await connection.openQuery("SELECT 1 FROM pg_database WHERE datname = \(database)", logger: logger)
                var exists = false
                for try await _ in rows { exists = true }
                if !exists {
                    do {
                        try await connection.openQuery("CREATE DATABASE \(unescaped: "\"\(database)\"")", logger: logger)
                        logger.info("created the database", metadata: ["postgres.database": "\(database)"])
                    } catch let error as PSQLError where error.serverInfo?[.sqlState] == "42P04" {
                        // Created by somebody else in the meantime: fine.
                    }
                }
                try await connection.close()
                return
            } catch {
                try? await connection.close()
                throw PrivatePostgresError("could not create the database \(database): \(DatabaseErrorText.describe(error))")
            }
        }
    }

    /// Starts the server again after it stopped unexpectedly (killed, crashed), with the same settings; crash recovery
    /// makes its data whole. Refused once ``stop()`` was called.
    func restart() async throws {
        guard !stopped.withLock({ $0 }) else { throw PrivatePostgresError("the private PostgreSQL is being stopped: not restarting it") }
        try await startServer()
    }

    // MARK: Stopping

    /// Whether a live postmaster of this cluster is running.
    var isRunning: Bool { postmasterPID.map { Self.isPostmaster($0, of: directory) } ?? false }

    /// Stops the server (`pg_ctl stop -m fast`, then `-m immediate` if that fails) and waits for it. Idempotent.
    func stop() async {
        guard markStopped() else { return }
        defer { removeSocketDirectory() }
        // pg_ctl takes a zombie postmaster for a running one and would wait for it in vain.
        guard isRunning else {
            logger.info("the private PostgreSQL was not running")
            return
        }
        do {
            let output = try await pgCtl(["-m", "fast", "-w", "-t", "60", "stop"])
            if output.succeeded || !isRunning {
                logger.info("stopped the private PostgreSQL")
                return
            }
            logger.warning("PostgreSQL did not stop in time: stopping it immediately", metadata: ["postgres.output": "\(output.text)"])
            let immediate = try await pgCtl(["-m", "immediate", "-w", "-t", "30", "stop"])
            if !immediate.succeeded && isRunning {
                logger.error("could not stop the private PostgreSQL", metadata: ["postgres.output": "\(immediate.text)"])
            }
        } catch {
            logger.error("could not stop the private PostgreSQL", metadata: ["error": "\(error)"])
        }
    }

    /// Stops the server at once (`-m immediate`: crash recovery on the next start), blocking: for `atexit` hooks.
    func stopImmediately() {
        guard markStopped() else { return }
        defer { removeSocketDirectory() }
        guard isRunning else { return }
        _ = try? PostgresProcess.runBlocking(binaries.pgCtl, ["-D", directory, "-m", "immediate", "-w", "-t", "30", "stop"], as: user)
    }

    private func markStopped() -> Bool {
        stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
    }

    /// The fallback socket directory under /tmp is this cluster's alone; the server removed its socket and lock file.
    private func removeSocketDirectory() {
        if socketDirectory != directory { rmdir(socketDirectory) }
    }
}

/// Keeps the private PostgreSQL running while the hub runs, and stops it when the hub shuts down. List it first in
/// the service group, so that it stops last.
///
/// The postmaster is not the hub's child (pg_ctl starts it as a daemon), so the service looks for it every
/// `checkInterval`: when it is gone (killed, crashed, out of memory) it is started again, at once the first time and
/// then after a backoff that doubles up to a minute while restarts keep failing or the server keeps dying. The
/// database's monitor sees it answer again and the hub gets a fresh pool.
struct PrivatePostgresService: Service {
    let postgres: PrivatePostgres
    var metrics: HubMetrics?
    var logger: Logger
    var checkInterval: Duration = .seconds(1)

    /// A server that ran this long since its last restart resets the backoff.
    static let stableAfter: Duration = .seconds(60)
    static let longestBackoff: Duration = .seconds(60)

    func run() async throws {
        var backoff = Duration.zero
        var lastStart = ContinuousClock.now
        for await _ in AsyncTimerSequence(interval: checkInterval, clock: .continuous).cancelOnGracefulShutdown() {
            guard !postgres.isRunning else {
                if ContinuousClock.now - lastStart > Self.stableAfter { backoff = .zero }
                continue
            }
            logger.error(
                "the private PostgreSQL stopped unexpectedly: restarting it",
                metadata: ["postgres.directory": "\(postgres.directory)", "postgres.retry_in": "\(DurationParser.format(backoff))", "postgres.log": "\(postgres.logTail(lines: 3).replacingOccurrences(of: "\n", with: " | "))"])
            if backoff > .zero {
                let pause = backoff
                guard (try? await cancelWhenGracefulShutdown({ try await Task.sleep(for: pause) })) != nil else { break }
            }
            backoff = min(Self.longestBackoff, max(.seconds(1), backoff * 2))
            lastStart = ContinuousClock.now
            do {
                try await postgres.restart()
                metrics?.recordPrivatePostgresRestart()
                logger.notice("restarted the private PostgreSQL", metadata: ["postgres.directory": "\(postgres.directory)"])
            } catch {
                logger.error("could not restart the private PostgreSQL", metadata: ["postgres.directory": "\(postgres.directory)", "error": "\(error)"])
            }
        }
        await postgres.stop()
    }
}

/// `'text'` for /bin/sh, which pg_ctl runs the server through.
func shellQuoted(_ text: String) -> String {
    "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
}
