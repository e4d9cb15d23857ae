import Foundation

/// Debian's Prometheus, started by a test on loopback as the reference that the hub's answers
/// are compared with. Its TSDB lives in `directory` and goes with it.
public final class ReferencePrometheus: Sendable {
    public let base: String
    private let child: ChildProcess

    private init(base: String, child: ChildProcess) {
        self.base = base
        self.child = child
    }

    /// Starts `prometheus` with `config` (YAML text) and waits until `/-/ready` answers 200.
    public static func start(config: String, directory: String) async throws -> ReferencePrometheus {
        let binary = "/usr/bin/prometheus"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configFile = directory + "/prometheus.yml"
        try config.write(toFile: configFile, atomically: true, encoding: .utf8)
        let port = try freePort()
        let child = try ChildProcess.spawn(
            binary,
            [
                "--config.file=\(configFile)", "--storage.tsdb.path=\(directory)/data", "--web.listen-address=127.0.0.1:\(port)",
                "--log.level=warn",
            ],
            logPath: directory + "/prometheus.log")
        let prometheus = ReferencePrometheus(base: "http://127.0.0.1:\(port)", child: child)
        let client = HTTPTestClient(base: prometheus.base)
        let ready = try await eventually(timeout: .seconds(30)) {
            guard !child.hasExited else { throw TestFailure("prometheus exited:\n\(child.logTail)") }
            return (try? await client.get("/-/ready").status) == 200
        }
        guard ready else { throw TestFailure("prometheus was not ready within 30 s:\n\(child.logTail)") }
        return prometheus
    }

    public var log: String { child.log }

    public func stop() { child.terminate() }

    deinit { child.terminate(grace: .seconds(1)) }
}
