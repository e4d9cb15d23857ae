import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// N simulated Periskop processes, each a Hummingbird server of its own on a free port of
/// 127.0.0.1: distinct addresses give distinct `instance` labels, as real processes have.
struct TargetFleet: Sendable {
    let sources: [TargetSource]
    private let ports: PortBook

    init(count: Int, factory: PayloadFactory) {
        sources = (0..<count).map { TargetSource(index: $0, factory: factory) }
        ports = PortBook(count: count)
    }

    func setMode(_ mode: ScrapeMode) {
        for source in sources { source.reset(mode: mode) }
    }

    /// One server per target, to run in a service group.
    func applications(logger: Logger) -> [any Service] {
        sources.enumerated().map { index, source in
            let router = Router()
            router.get("-/exceptions") { _, _ in
                Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: source.nextBody()))
            }
            let ports = self.ports
            return Application(
                router: router,
                configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "canopy-bench-target"),
                onServerRunning: { channel in ports.record(index, port: channel.localAddress?.port) },
                logger: logger
            )
        }
    }

    /// The `host:port` of every target, once all servers listen.
    func addresses(within timeout: Duration) async throws -> [String] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let all = ports.all { return all.map { "127.0.0.1:\($0)" } }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchError("the simulated targets did not start listening within \(timeout)")
    }
}

/// The ports the servers bound, filled in as each starts.
private final class PortBook: Sendable {
    private let ports: Mutex<[Int?]>

    init(count: Int) {
        ports = Mutex(Array(repeating: nil, count: count))
    }

    func record(_ index: Int, port: Int?) {
        ports.withLock { $0[index] = port }
    }

    var all: [Int]? {
        ports.withLock { ports in
            let bound = ports.compactMap { $0 }
            return bound.count == ports.count ? bound : nil
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
