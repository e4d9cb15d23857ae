import CanopyTestSupport
import Foundation
import Synchronization

@testable import Hub

/// A PostgreSQL cluster of a test's own, listening on a TCP port of 127.0.0.1 as an external database would, that
/// the test stops (`pg_ctl stop -m fast`) and starts again: an outage without touching the shared test cluster.
final class StoppableCluster: Sendable {
    let directory: String
    let port: Int
    private let running = Mutex<PrivatePostgres?>(nil)

    /// What the hub's `database.url` says.
    var url: String { "postgres://canopy@127.0.0.1:\(port)/canopy?sslmode=disable" }

    private init(directory: String, port: Int) {
        self.directory = directory
        self.port = port
    }

    /// A new cluster, started, for `body`; stopped and removed afterwards.
    static func with<Result>(_ body: (StoppableCluster) async throws -> Result) async throws -> Result {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-outage-pg-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let cluster = StoppableCluster(directory: root + "/cluster", port: try freePort())
        defer { try? FileManager.default.removeItem(atPath: root) }
        do {
            try await cluster.start()
            let result = try await body(cluster)
            await cluster.stop()
            return result
        } catch {
            await cluster.stop()
            throw error
        }
    }

    func start() async throws {
        let postgres = try await PrivatePostgres.start(
            directory: directory, port: port,
            settings: ["listen_addresses": "127.0.0.1", "fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"], logger: testLogger)
        running.withLock { $0 = postgres }
    }

    /// `pg_ctl stop -m fast`: the server ends its connections and stops.
    func stop() async {
        let postgres = running.withLock { running in
            defer { running = nil }
            return running
        }
        await postgres?.stop()
    }
}
