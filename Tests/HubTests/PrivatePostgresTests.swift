import Foundation
import PostgresNIO
import Testing

@testable import Hub

#if canImport(Glibc)
import Glibc
#endif

/// The hub's private PostgreSQL, started for real in temporary directories (as root on CI: then it runs as `postgres`).
@Suite struct PrivatePostgresTests {
    /// Starts a cluster in `directory`, runs `body`, and stops it whatever `body` did.
    func withCluster<Result>(_ directory: String, _ body: (PrivatePostgres) async throws -> Result) async throws -> Result {
        let postgres = try await PrivatePostgres.start(directory: directory, logger: testLogger)
        do {
            let result = try await body(postgres)
            await postgres.stop()
            return result
        } catch {
            await postgres.stop()
            throw error
        }
    }

    @Test func startsAndListensOnlyOnItsSocket() async throws {
        try await withTemporaryDirectory { root in
            let directory = "\(root)/postgres"
            let postgres = try await PrivatePostgres.start(directory: directory, logger: testLogger)
            let pid = try #require(postgres.postmasterPID)
            do {
                #expect(postgres.socketDirectory == directory)
                #expect(FileManager.default.fileExists(atPath: "\(directory)/.s.PGSQL.5432"))
                try await withPostgresClient(postgres.clientConfiguration()) { client async throws in
                    #expect(try await client.scalar("SELECT 1", as: Int.self) == 1)
                    #expect(try await client.scalar("SHOW listen_addresses", as: String.self) == "")
                    #expect(try await client.scalar("SELECT current_database()", as: String.self) == "canopy")
                    #expect(try await client.scalar("SELECT current_user", as: String.self) == "canopy")
                }
                let serverUID = try #require(processUID(pid))
                if geteuid() == 0 {
                    #expect(serverUID != 0)
                    #expect(serverUID == postgres.user?.uid)
                } else {
                    #expect(serverUID == geteuid())
                }
            } catch {
                await postgres.stop()
                throw error
            }
            await postgres.stop()
            #expect(try await waitUntilGone(pid))
            #expect(!FileManager.default.fileExists(atPath: "\(directory)/.s.PGSQL.5432"))
            #expect(!FileManager.default.fileExists(atPath: "\(directory)/postmaster.pid"))
        }
    }

    /// A pipe open in the hub while it starts its PostgreSQL must not stay open in the postmaster:
    /// the pipe's reader would wait for its end as long as the server runs.
    @Test func thePostmasterInheritsNoDescriptors() async throws {
        try await withTemporaryDirectory { root in
            let pipe = Pipe()
            defer {
                try? pipe.fileHandleForReading.close()
                try? pipe.fileHandleForWriting.close()
            }
            func inode(_ link: String) -> String? { try? FileManager.default.destinationOfSymbolicLink(atPath: link) }
            let ours = inode("/proc/self/fd/\(pipe.fileHandleForWriting.fileDescriptor)")
            #expect(ours?.hasPrefix("pipe:") == true)
            try await withCluster("\(root)/postgres") { postgres in
                let pid = try #require(postgres.postmasterPID)
                let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
                let inherited = descriptors.compactMap { inode("/proc/\(pid)/fd/\($0)") }.filter { $0 == ours }
                #expect(inherited.isEmpty, "the postmaster holds the write end of our pipe")
            }
        }
    }

    @Test func keepsItsDataAcrossRestarts() async throws {
        try await withTemporaryDirectory { root in
            let directory = "\(root)/postgres"
            try await withCluster(directory) { postgres async throws in
                try await withPostgresClient(postgres.clientConfiguration()) { client async throws in
                    try await client.query("CREATE TABLE kept (note text)")
                    try await client.query("INSERT INTO kept VALUES ('before the restart')")
                }
            }
            try await withCluster(directory) { postgres async throws in
                try await withPostgresClient(postgres.clientConfiguration()) { client async throws in
                    #expect(try await client.scalar("SELECT note FROM kept", as: String.self) == "before the restart")
                }
            }
        }
    }

    @Test func startsAfterThePostmasterWasKilled() async throws {
        try await withTemporaryDirectory { root in
            let directory = "\(root)/postgres"
            let first = try await PrivatePostgres.start(directory: directory, logger: testLogger)
            let pid = try #require(first.postmasterPID)
            do {
                try await withPostgresClient(first.clientConfiguration()) { client async throws in
                    try await client.query("CREATE TABLE survivor (note text)")
                    try await client.query("INSERT INTO survivor VALUES ('committed before SIGKILL')")
                }
            } catch {
                await first.stop()
                throw error
            }
            #expect(kill(pid, SIGKILL) == 0)
            #expect(try await waitUntilGone(pid))
            #expect(FileManager.default.fileExists(atPath: "\(directory)/postmaster.pid"), "a stale postmaster.pid is what this test is about")

            try await withCluster(directory) { postgres async throws in
                #expect(postgres.postmasterPID != pid)
                try await withPostgresClient(postgres.clientConfiguration()) { client async throws in
                    #expect(try await client.scalar("SELECT note FROM survivor", as: String.self) == "committed before SIGKILL")
                }
            }
        }
    }

    /// A hub killed with SIGKILL leaves its server running: the next hub uses it.
    @Test func adoptsTheServerOfAKilledHub() async throws {
        try await withTemporaryDirectory { root in
            let directory = "\(root)/postgres"
            let orphaned = try await PrivatePostgres.start(directory: directory, logger: testLogger)
            let pid = try #require(orphaned.postmasterPID)
            try await withCluster(directory) { postgres async throws in
                #expect(postgres.postmasterPID == pid)
                try await withPostgresClient(postgres.clientConfiguration()) { client async throws in
                    #expect(try await client.scalar("SELECT 1", as: Int.self) == 1)
                }
            }
            #expect(try await waitUntilGone(pid))
            await orphaned.stop()  // nothing left to stop: must not hang or fail
        }
    }

    @Test func putsTheSocketUnderTmpWhenTheDirectoryIsTooLong() async throws {
        try await withTemporaryDirectory { root in
            let directory = "\(root)/\(String(repeating: "d", count: 50))/\(String(repeating: "e", count: 50))/postgres"
            #expect(PrivatePostgres.socketPath(directory, port: 5432).utf8.count > PrivatePostgres.maximumSocketPathLength)
            let socketDirectory = try await withCluster(directory) { postgres async throws in
                #expect(postgres.socketDirectory.hasPrefix("/tmp/canopy-pg-"))
                #expect(postgres.socketPath.utf8.count <= PrivatePostgres.maximumSocketPathLength)
                var info = stat()
                #expect(lstat(postgres.socketDirectory, &info) == 0)
                #expect(info.st_mode & 0o777 == 0o700)
                try await withPostgresClient(postgres.clientConfiguration()) { client async throws in
                    #expect(try await client.scalar("SELECT 1", as: Int.self) == 1)
                }
                return postgres.socketDirectory
            }
            #expect(!FileManager.default.fileExists(atPath: socketDirectory), "stop removes the socket directory under /tmp")
        }
    }

    @Test func namesWhatToInstallWhenThereAreNoBinaries() async throws {
        let error = try #require(throws: PrivatePostgresError.self) {
            try PostgresBinaries.locate(path: "/nonexistent/bin", installRoot: "/nonexistent/postgresql")
        }
        #expect(error.description.contains("apt-get install postgresql"))
        #expect(error.description.contains("database.url"))
    }

    @Test func prefersPATHThenTheNewestInstalledVersion() async throws {
        try await withTemporaryDirectory { root in
            func fakeTools(_ directory: String, _ tools: [String]) throws {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                for tool in tools {
                    let script = Data("#!/bin/sh\n".utf8)
                    _ = FileManager.default.createFile(atPath: "\(directory)/\(tool)", contents: script, attributes: [.posixPermissions: 0o755])
                }
            }
            try fakeTools("\(root)/lib/9.6/bin", ["initdb", "pg_ctl"])
            try fakeTools("\(root)/lib/15/bin", ["initdb", "pg_ctl"])
            try fakeTools("\(root)/lib/16/bin", ["initdb"])  // incomplete: skipped
            try fakeTools("\(root)/path", ["initdb", "pg_ctl"])
            #expect(try PostgresBinaries.locate(path: "/nonexistent:\(root)/path", installRoot: "\(root)/lib").directory == "\(root)/path")
            #expect(try PostgresBinaries.locate(path: "/nonexistent", installRoot: "\(root)/lib").directory == "\(root)/lib/15/bin")
        }
    }

    @Test(.enabled(if: geteuid() == 0, "only root switches to another user"))
    func rootRefusesADirectoryThePostgresUserCannotReach() async throws {
        try await withTemporaryDirectory { root in
            let closed = "\(root)/closed"
            try FileManager.default.createDirectory(atPath: closed, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            let error = try await #require(throws: PrivatePostgresError.self) {
                _ = try await PrivatePostgres.start(directory: "\(closed)/postgres", logger: testLogger)
            }
            #expect(error.description.contains("cannot enter \(closed)"))
        }
    }

    /// The hub runs under swift-service-lifecycle, which ignores and blocks signals; the tools must not inherit that.
    @Test func childrenStartWithDefaultSignals() async throws {
        signal(SIGPIPE, SIG_IGN)  // what servers do anyway (NIO too)
        let parent = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let ignoredLine = parent.split(separator: "\n").first { $0.hasPrefix("SigIgn:") }
        let parentIgnored = ignoredLine?.split(separator: "\t").last.flatMap { UInt64($0, radix: 16) }
        #expect(parentIgnored.map { $0 & (1 << (UInt64(SIGPIPE) - 1)) != 0 } == true, "the test process ignores SIGPIPE")
        let output = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<PostgresProcess.Output, any Error>) in
            let thread = Thread {
                var blocked = sigset_t()
                sigemptyset(&blocked)
                sigaddset(&blocked, SIGTERM)
                pthread_sigmask(SIG_BLOCK, &blocked, nil)
                continuation.resume(with: Result { try PostgresProcess.runBlocking("/bin/cat", ["/proc/self/status"]) })
            }
            thread.start()
        }
        #expect(output.succeeded)
        let fields = Dictionary(
            output.text.split(separator: "\n").compactMap { line -> (String, String)? in
                let parts = line.split(separator: ":", maxSplits: 1)
                return parts.count == 2 ? (String(parts[0]), parts[1].trimmingCharacters(in: .whitespaces)) : nil
            }, uniquingKeysWith: { first, _ in first })
        // Signals 1 to 31 (bits 0 to 30); glibc keeps 32 and 33 for itself and posix_spawn leaves them alone.
        let standard: UInt64 = 0x7fff_ffff
        #expect(fields["SigBlk"].flatMap { UInt64($0, radix: 16) }.map { $0 & standard } == 0)
        #expect(fields["SigIgn"].flatMap { UInt64($0, radix: 16) }.map { $0 & standard } == 0)
    }
}

/// The real uid of a process, from /proc.
func processUID(_ pid: pid_t) -> uid_t? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    let line = status.split(separator: "\n").first { $0.hasPrefix("Uid:") }
    return line?.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.flatMap { uid_t($0) }
}

/// Waits (up to 10 seconds) until `pid` has exited; a zombie counts as gone (PID 1 of a container may not reap).
func waitUntilGone(_ pid: pid_t) async throws -> Bool {
    let deadline = ContinuousClock.now.advanced(by: .seconds(10))
    while ContinuousClock.now < deadline {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return true }
        if let state = stat.split(separator: ")").last?.split(separator: " ").first, state == "Z" { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return false
}
