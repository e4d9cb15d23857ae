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
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw Failure(description: "cannot create data dir \(directory.path): \(error.localizedDescription)")
        }
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
        let temporary = directory.appendingPathComponent("state.json.tmp")
        do {
            let data = try CanopyJSON.encoder().encode(snapshot)
            guard FileManager.default.createFile(atPath: temporary.path, contents: data) else {
                throw Failure(description: "cannot write \(temporary.path)")
            }
            try Self.fsync(temporary.path)
            guard rename(temporary.path, url.path) == 0 else {
                throw Failure(description: "cannot rename \(temporary.path) to \(url.path): \(String(cString: strerror(errno)))")
            }
            try Self.fsync(directory.path)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "cannot save \(url.path): \(error)")
        }
    }

    private static func fsync(_ path: String) throws(Failure) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw Failure(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard Foundation.fsync(fd) == 0 else { throw Failure(description: "fsync \(path): \(String(cString: strerror(errno)))") }
    }
}
