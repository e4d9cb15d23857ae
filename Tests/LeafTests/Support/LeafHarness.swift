import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1
import NIOCore
import Shared
import Testing
import CanopyTestSupport

@testable import Leaf

/// A leaf under test, over HTTP.
typealias RunningLeaf = HTTPTestClient

/// The leaf binary, started as an operator starts it.
enum LeafProcess {
    static func start(_ arguments: [String]) throws -> ServerProcess { try ServerProcess("canopy-leaf", arguments) }
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) { try ServerProcess.run("canopy-leaf", arguments) }
    static var packageRoot: URL { ServerProcess.packageRoot }
}

extension HTTPTestClient {
    /// The leaf's groups of a service as `key: total`.
    func totals(of service: String) async throws -> [String: Int] {
        guard let groups = try await json("/api/v1/services/\(service)/errors") as? [[String: Any]] else { return [:] }
        return Dictionary(uniqueKeysWithValues: groups.map { ($0["aggregation_key"] as! String, $0["total"] as! Int) })
    }

    /// Totals as the Periskop API shows them.
    func periskopTotals(of service: String) async throws -> [String: Int] {
        guard let groups = try await json("/services/\(service)/errors/") as? [[String: Any]] else { return [:] }
        return Dictionary(uniqueKeysWithValues: groups.map { ($0["aggregation_key"] as! String, $0["total_count"] as! Int) })
    }

    func target(_ url: String) async throws -> [String: Any]? {
        let report = try await json("/api/v1/targets") as? [String: Any]
        let active = report?["active_targets"] as? [[String: Any]] ?? []
        return active.first { ($0["url"] as? String) == url }
    }
}

enum LeafHarness {
    static func config(_ yaml: String) throws -> LeafConfig {
        try LeafConfig.parse(yaml, file: "test.yml")
    }

    /// Runs a leaf with `config` on a free port while `body` runs, then stops it gracefully.
    /// With a TLS web config the client's base is `https://` (its trust and credentials are the test's to set).
    static func run<T: Sendable>(
        _ config: LeafConfig, dataDir: String, configFile: String? = nil, webConfig: WebConfig? = nil, _ body: (RunningLeaf) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "test-leaf")
        logger.logLevel = .warning
        let port = PortPromise()
        let options = LeafServer.Options(
            configFile: configFile, host: "127.0.0.1", port: 0, dataDir: dataDir, saveInterval: .milliseconds(100), webConfig: webConfig)
        let app = try LeafServer(options: options, config: config, logger: logger).buildApplication { port.fulfil($0) }
        return try await withServices([app]) {
            let leaf = RunningLeaf(base: "\(webConfig?.isTLS == true ? "https" : "http")://127.0.0.1:\(await port.value)")
            return try await body(leaf)
        }
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "canopy-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
