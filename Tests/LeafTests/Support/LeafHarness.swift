import AsyncHTTPClient
import Foundation
import Logging
import NIOHTTP1
import NIOCore
import Shared
import Testing

@testable import Leaf

/// A leaf running in this process on a real socket, with a test's config and data dir.
struct RunningLeaf {
    let base: String

    func get(_ path: String) async throws -> (status: Int, body: String) {
        try await request(path, method: .GET)
    }

    func request(_ path: String, method: HTTPMethod, body: String? = nil) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }

    /// GETs a JSON document and returns it parsed, failing the test on a non-200 answer.
    func json(_ path: String) async throws -> Any {
        let (status, body) = try await get(path)
        guard status == 200 else { throw TestFailure("GET \(path) answered \(status): \(body)") }
        return try JSONSerialization.jsonObject(with: Data(body.utf8), options: [.fragmentsAllowed])
    }

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

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

enum LeafHarness {
    static func config(_ yaml: String) throws -> LeafConfig {
        try LeafConfig.parse(yaml, file: "test.yml")
    }

    /// Runs a leaf with `config` on a free port while `body` runs, then stops it gracefully.
    static func run<T: Sendable>(
        _ config: LeafConfig, dataDir: String, configFile: String? = nil, _ body: (RunningLeaf) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "test-leaf")
        logger.logLevel = .warning
        let port = PortPromise()
        let options = LeafServer.Options(configFile: configFile, host: "127.0.0.1", port: 0, dataDir: dataDir, saveInterval: .milliseconds(100))
        let app = try LeafServer(options: options, config: config, logger: logger).buildApplication { port.fulfil($0) }
        return try await withServices([app]) {
            let leaf = RunningLeaf(base: "http://127.0.0.1:\(await port.value)")
            return try await body(leaf)
        }
    }

    static func temporaryDirectory() -> String {
        let path = NSTemporaryDirectory() + "canopy-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
