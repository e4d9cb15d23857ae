import Foundation

/// Runs SQL scripts with `psql` (Debian's postgresql-client) on the hub's private PostgreSQL, as
/// the `canopy` superuser over its Unix socket. Each script goes to a file in `workDirectory`,
/// with its output beside it, so that long plans never fill a pipe.
struct Psql: Sendable {
    let socketDirectory: String
    let port: Int
    let workDirectory: String

    /// Runs `sql` in one session, stopping at the first error; returns what it printed (unaligned, tuples only).
    func run(_ sql: String, name: String) async throws -> String {
        let script = "\(workDirectory)/\(name).sql"
        let output = "\(workDirectory)/\(name).out"
        let errors = "\(workDirectory)/\(name).err"
        try sql.write(toFile: script, atomically: true, encoding: .utf8)
        for path in [output, errors] { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        guard let out = FileHandle(forWritingAtPath: output), let err = FileHandle(forWritingAtPath: errors) else {
            throw BenchError("cannot write psql's output in \(workDirectory)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", socketDirectory, "-p", "\(port)", "-U", "canopy", "-d", "canopy", "-f", script,
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { finished in continuation.resume(returning: finished.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: BenchError("cannot run psql (install postgresql-client): \(error)"))
            }
        }
        try? out.close()
        try? err.close()
        let printed = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard status == 0 else {
            let message = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
            throw BenchError("psql \(script) failed with status \(status):\n\(message.suffix(4000))")
        }
        return printed
    }

    /// One value from a one-row, one-column query.
    func value(_ sql: String, name: String) async throws -> String {
        try await run(sql, name: name).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
