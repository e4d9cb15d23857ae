import AsyncHTTPClient
import CanopyTestSupport
import Logging
import Synchronization
import Testing

@testable import Shared

@Suite struct DiscoveryManagerTests {
    static func job(_ name: String, target: String) -> ScrapeJobConfig {
        ScrapeJobConfig(
            name: name, endpoint: "/-/exceptions", interval: .seconds(15), timeout: .seconds(10), scheme: "http", tls: nil, auth: nil,
            bodySizeLimit: 1 << 20, labels: [:], staticConfigs: [StaticConfig(targets: [target])])
    }

    /// Every job's static discovery reports at once, in parallel: whatever order they publish in,
    /// the last list handed on holds every job's targets (a stale one handed on last would drop a
    /// service's targets for good, since static discovery reports only once).
    @Test func concurrentReportsNeverHandOnAnOlderList() async throws {
        let jobs = (0..<16).map { Self.job("service\($0)", target: "10.0.0.\($0):80") }
        for _ in 0..<20 {
            let published = Mutex<(count: Int, last: [ScrapeTarget])>((0, []))
            let manager = DiscoveryManager(httpClient: HTTPClient.shared, logger: Logger(label: "discovery-test")) { targets, _ in
                published.withLock { $0 = ($0.count + 1, targets) }
            }
            manager.apply(try jobs.map { try TargetBuilder(job: $0) })
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await manager.run() }
                // Once when the config is applied, then once per job's report.
                try await expectEventually { published.withLock { $0.count } == jobs.count + 1 }
                #expect(Set(published.withLock { $0.last }.map(\.service)) == Set(jobs.map(\.name)))
                group.cancelAll()
            }
        }
    }
}
