import Foundation

/// The real Prometheus (Debian's `prometheus` package, which `scripts/install-test-deps`
/// installs) serving a TSDB directory on a free loopback port, for tests that compare answers
/// with it. By default it scrapes nothing: the data is what the directory holds, usually blocks
/// written by `promtool tsdb create-blocks-from openmetrics` (see `createBlocks`); or it scrapes
/// what `config` says.
public final class PrometheusServer: Sendable {
    public static let binary = "/usr/bin/prometheus"

    public let base: String
    public let dataDirectory: String
    private let child: ChildProcess

    private init(base: String, dataDirectory: String, child: ChildProcess) {
        self.base = base
        self.dataDirectory = dataDirectory
        self.child = child
    }

    /// Starts Prometheus on `dataDirectory` with `config` (by default the defaults, whose
    /// evaluation interval of 1m subqueries without a step use, and no scrapes) and waits until it
    /// answers `/-/ready`.
    public static func start(
        dataDirectory: String, config text: String = "global: {}\nscrape_configs: []\n", arguments: [String] = []
    ) async throws -> PrometheusServer {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let config = dataDirectory + "/../prometheus-\(UUID().uuidString).yml"
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let port = try freePort()
        let child = try ChildProcess.spawn(
            binary,
            [
                "--storage.tsdb.path=\(dataDirectory)", "--config.file=\(config)", "--web.listen-address=127.0.0.1:\(port)",
            ] + arguments,
            logPath: dataDirectory + "/../prometheus-\(port).log")
        let server = PrometheusServer(base: "http://127.0.0.1:\(port)", dataDirectory: dataDirectory, child: child)
        let client = HTTPTestClient(base: server.base)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let (status, _) = try? await client.get("/-/ready"), status == 200 { return server }
            guard !child.hasExited else { throw TestFailure("prometheus exited before it was ready:\n\(child.logTail)") }
            try await Task.sleep(for: .milliseconds(100))
        }
        child.terminate()
        throw TestFailure("prometheus was not ready within a minute:\n\(child.logTail)")
    }

    /// Writes TSDB blocks into `directory` from an OpenMetrics text (samples with timestamps,
    /// `# EOF` at the end), with promtool.
    public static func createBlocks(openMetrics text: String, in directory: String) throws {
        let file = directory + "/../input-\(UUID().uuidString).om"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (status, output) = try promtool(["tsdb", "create-blocks-from", "openmetrics", file, directory])
        guard status == 0 else { throw TestFailure("promtool could not create blocks:\n\(output)") }
    }

    public var log: String { child.log }

    /// Ends the server (SIGTERM, then SIGKILL after the grace period).
    public func stop() { child.terminate() }
}
