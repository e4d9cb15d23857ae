import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The real Alertmanager (Debian's `prometheus-alertmanager`, which `scripts/install-test-deps`
/// installs) on a free loopback port, clustering off, its data in a directory of its own, routing
/// every alert to a webhook (a `WebhookReceiver` in the test) within a fraction of a second.
public final class AlertmanagerServer: Sendable {
    public static let binary = "/usr/bin/prometheus-alertmanager"

    /// `http://127.0.0.1:PORT`.
    public let base: String
    private let child: ChildProcess

    private init(base: String, child: ChildProcess) {
        self.base = base
        self.child = child
    }

    /// Starts Alertmanager in `directory` and waits until it answers `/-/ready`. Each alert is a
    /// group of its own (`group_by: ['...']`), notified 100 ms after it arrives and again at most
    /// every 300 ms when it changes (resolves); unchanged, it is not repeated within the test.
    public static func start(directory: String, webhook: String) async throws -> AlertmanagerServer {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = directory + "/alertmanager.yml"
        try """
        route:
          receiver: webhook
          group_by: ['...']
          group_wait: 100ms
          group_interval: 300ms
          repeat_interval: 1h
        receivers:
        - name: webhook
          webhook_configs: [{url: '\(webhook)', send_resolved: true}]
        """.write(toFile: config, atomically: true, encoding: .utf8)
        let port = try freePort()
        let child = try ChildProcess.spawn(
            binary,
            [
                "--config.file=\(config)", "--storage.path=\(directory)/data", "--web.listen-address=127.0.0.1:\(port)",
                "--cluster.listen-address=",
            ],
            logPath: directory + "/alertmanager.log")
        let server = AlertmanagerServer(base: "http://127.0.0.1:\(port)", child: child)
        let client = HTTPTestClient(base: server.base)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let (status, _) = try? await client.get("/-/ready"), status == 200 { return server }
            guard !child.hasExited else { throw TestFailure("alertmanager exited before it was ready:\n\(child.logTail)") }
            try await Task.sleep(for: .milliseconds(50))
        }
        child.terminate()
        throw TestFailure("alertmanager was not ready within 30 s:\n\(child.logTail)")
    }

    /// `count` Alertmanagers, each routing to a webhook receiver of its own, for the length of `body`.
    public static func withRunning<T: Sendable>(
        _ count: Int, _ body: ([(alertmanager: AlertmanagerServer, webhook: WebhookReceiver)]) async throws -> T
    ) async throws -> T {
        let webhooks = (0..<count).map { _ in WebhookReceiver() }
        return try await withServices(webhooks.map { $0.makeApplication() as any Service }) {
            var started: [AlertmanagerServer] = []
            defer { for alertmanager in started { alertmanager.stop() } }
            for webhook in webhooks {
                let directory = NSTemporaryDirectory() + "canopy-alertmanager-" + UUID().uuidString
                started.append(try await AlertmanagerServer.start(directory: directory, webhook: await webhook.url()))
            }
            return try await body(Array(zip(started, webhooks)))
        }
    }

    /// `host:port`, as a static config names it.
    public var address: String { String(base.dropFirst("http://".count)) }

    public var log: String { child.log }

    /// Its alerts as `GET /api/v2/alerts` lists them (silenced ones included).
    public func alerts() async throws -> [[String: Any]] {
        try await HTTPTestClient(base: base).json("/api/v2/alerts") as? [[String: Any]] ?? []
    }

    /// Its silences as `GET /api/v2/silences` lists them (expired ones included).
    public func silences() async throws -> [[String: Any]] {
        try await HTTPTestClient(base: base).json("/api/v2/silences") as? [[String: Any]] ?? []
    }

    public func stop() { child.terminate() }
}

/// An HTTP server inside the test that takes Alertmanager's webhook notifications
/// (`POST /hook`) and keeps every alert they carried.
public final class WebhookReceiver: Sendable {
    /// One alert of a notification, as the webhook carried it.
    public struct Alert: Sendable {
        /// `firing` or `resolved`.
        public var status: String
        public var labels: [String: String]
        public var annotations: [String: String]
        public var generatorURL: String
    }

    private let received = Mutex<[Alert]>([])
    public let port = PortPromise()

    public init() {}

    /// The URL to give Alertmanager, once the server runs.
    public func url() async -> String { "http://127.0.0.1:\(await port.value)/hook" }

    public var alerts: [Alert] { received.withLock { $0 } }

    /// The alerts received whose `alertname` is `name`, oldest first.
    public func alerts(named name: String) -> [Alert] { alerts.filter { $0.labels["alertname"] == name } }

    public func makeApplication() -> some ApplicationProtocol {
        let router = Router()
        router.post("hook") { request, _ -> HTTPResponse.Status in
            let body = try await request.body.collect(upTo: 16 << 20)
            let json = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
            let alerts = (json?["alerts"] as? [[String: Any]] ?? []).map { alert in
                Alert(
                    status: alert["status"] as? String ?? "", labels: alert["labels"] as? [String: String] ?? [:],
                    annotations: alert["annotations"] as? [String: String] ?? [:], generatorURL: alert["generatorURL"] as? String ?? "")
            }
            self.received.withLock { $0 += alerts }
            return .ok
        }
        var logger = Logger(label: "webhook-receiver")
        logger.logLevel = .warning
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in self.port.fulfil(channel.localAddress?.port ?? 0) }, logger: logger)
    }
}

/// A loopback port that accepts connections (the kernel completes them) but never answers: an
/// Alertmanager that hangs, for timeout tests. Closed when released.
public final class SilentListener: Sendable {
    public let port: Int
    private let descriptor: Int32

    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound, listen(fd, 64) == 0 else {
            close(fd)
            throw TestFailure("bind or listen failed")
        }
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    public var address: String { "127.0.0.1:\(port)" }

    deinit { close(descriptor) }
}
