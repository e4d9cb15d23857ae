import Foundation
import Shared

/// The leaf's data dir: `state.json` holds the epoch, the totals and the per-process counts.
/// Written atomically (a temporary file, fsync, rename), so a crash leaves the old or the new
/// copy, never half of one.
struct StateFile: Sendable {
    let directory: URL

    var url: URL { directory.appendingPathComponent("state.json") }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Loads the saved state, or starts a new epoch when the data dir holds none.
    func load() throws(Failure) -> (snapshot: TeamSnapshot, isNew: Bool) {
        // A data dir that cannot be made (read-only disk) is no reason not to count: the new
        // epoch is saved once it can be, and a restart before that starts another epoch.
        guard FileManager.default.fileExists(atPath: url.path) else {
            return (TeamSnapshot(epoch: UUID().uuidString.lowercased()), true)
        }
        do {
            let data = try Data(contentsOf: url)
            let snapshot = try CanopyJSON.decoder().decode(TeamSnapshot.self, from: data)
            guard snapshot.version == TeamSnapshot.currentVersion else {
                throw Failure(description: "\(url.path) has version \(snapshot.version); this leaf reads version \(TeamSnapshot.currentVersion)")
            }
            return (snapshot, false)
        } catch let failure as Failure {
            throw failure
        } catch {
            // Refuse rather than start from zero: a new epoch would make the hub count everything again.
            throw Failure(description: "\(url.path) is unreadable (\(error)); move it away to start a new epoch")
        }
    }

    func save(_ snapshot: TeamSnapshot) throws(Failure) {
        var encoder = StateEncoder()
        try save(snapshot, with: &encoder)
    }

    /// Saves with an encoder kept from the last save, which reuses what did not change.
    func save(_ snapshot: TeamSnapshot, with encoder: inout StateEncoder) throws(Failure) {
        let temporary = directory.appendingPathComponent("state.json.tmp")
        let data = encoder.encode(snapshot)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw Failure(description: "cannot create data dir \(directory.path): \(error.localizedDescription)")
        }
        do throws(Failure) {
            try Self.write(data, to: temporary.path)
            guard rename(temporary.path, url.path) == 0 else {
                throw Failure(description: "cannot rename \(temporary.path) to \(url.path): \(Self.lastError)")
            }
        } catch {
            // A full disk leaves a partial temporary file: remove it so that it frees its space.
            unlink(temporary.path)
            throw error
        }
        try Self.fsync(directory.path)
    }

    /// Writes and syncs `data`, with the system's reason (ENOSPC, EROFS) when it cannot.
    private static func write(_ data: [UInt8], to path: String) throws(Failure) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Failure(description: "cannot create \(path): \(lastError)") }
        defer { close(fd) }
        let failed: String? = data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Foundation.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return lastError
                }
                offset += written
            }
            return nil
        }
        if let failed { throw Failure(description: "cannot write \(path): \(failed)") }
        guard Foundation.fsync(fd) == 0 else { throw Failure(description: "fsync \(path): \(lastError)") }
    }

    private static var lastError: String { String(cString: strerror(errno)) }

    private static func fsync(_ path: String) throws(Failure) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw Failure(description: "cannot open \(path): \(lastError)") }
        defer { close(fd) }
        guard Foundation.fsync(fd) == 0 else { throw Failure(description: "fsync \(path): \(lastError)") }
    }
}
