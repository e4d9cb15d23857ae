import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

@testable import Shared

@Suite struct HTTPDiscoveryTests {
    /// What the test server answers at /sd; a test changes it while the discoverer runs.
    final class Answer: Sendable {
        struct Value: Sendable {
            var status: HTTPResponse.Status = .ok
            var contentType = "application/json; charset=utf-8"
            var body = "[]"
            var delay: Duration = .zero
        }
        private let value = Mutex(Value())
        var current: Value { value.withLock { $0 } }
        func set(_ change: (inout Value) -> Void) { value.withLock { change(&$0) } }
    }

    /// Runs a real Hummingbird server on a free port serving `answer` at /sd, and `body` with its URL.
    private func withSDServer(_ answer: Answer, _ body: @escaping @Sendable (String) async throws -> Void) async throws {
        let router = Router()
        router.get("sd") { _, _ -> Response in
            let current = answer.current
            if current.delay > .zero { try await Task.sleep(for: current.delay) }
            return Response(
                status: current.status,
                headers: [.contentType: current.contentType],
                body: ResponseBody(byteBuffer: ByteBuffer(string: current.body))
            )
        }
        let app = Application(router: router, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            try await body("http://127.0.0.1:\(port)/sd")
        }
    }

    private func discoverer(_ url: String, log: DiscoveryLogRecorder, timeout: Duration = .seconds(5)) -> HTTPDiscoverer {
        HTTPDiscoverer(
            config: HTTPDiscoveryConfig(url: url, refreshInterval: .milliseconds(100)),
            httpClient: .shared,
            logger: log.logger,
            timeout: timeout
        )
    }

    static let twoGroups = #"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}, {"targets": ["c:3"]}]"#

    @Test func targetGroupsGetTheURLAsMetaLabelAndSource() async throws {
        let answer = Answer()
        answer.set { $0.body = Self.twoGroups }
        let log = DiscoveryLogRecorder()
        try await withSDServer(answer) { url in
            try await withRunningDiscoverer(discoverer(url, log: log)) { updates in
                let groups = try #require(await updates.first())
                #expect(groups.map(\.source) == ["\(url):0", "\(url):1"])
                #expect(addresses(groups) == ["a:1", "b:2", "c:3"])
                #expect(groups[0].labels == ["env": "prod", HTTPDiscoverer.urlLabel: url])
                #expect(groups[1].labels == [HTTPDiscoverer.urlLabel: url])

                answer.set { $0.body = #"[{"targets": ["d:4"]}]"# }
                #expect(await updates.latest(within: .seconds(2)) { addresses($0) == ["d:4"] } != nil)
            }
        }
    }

    @Test func serverErrorKeepsTheLastGoodList() async throws {
        let answer = Answer()
        answer.set { $0.body = Self.twoGroups }
        let log = DiscoveryLogRecorder()
        try await withSDServer(answer) { url in
            try await withRunningDiscoverer(discoverer(url, log: log)) { updates in
                let good = try #require(await updates.first())
                answer.set {
                    $0.status = .internalServerError
                    $0.body = "[]"
                }
                let problem = try #require(await log.problem(within: .seconds(2)))
                #expect(problem.metadata["discovery.url"] == url)
                #expect(problem.metadata["discovery.error"] == "server returned HTTP status 500, expected 200")
                #expect(updates.latest == good)
                #expect(updates.all.count == 1)
            }
        }
    }

    @Test func badBodyKeepsTheLastGoodListAndNamesTheEntry() async throws {
        let answer = Answer()
        answer.set { $0.body = Self.twoGroups }
        let log = DiscoveryLogRecorder()
        try await withSDServer(answer) { url in
            try await withRunningDiscoverer(discoverer(url, log: log)) { updates in
                let good = try #require(await updates.first())
                answer.set { $0.body = #"[{"targets": ["a:1"]}, {"targets": [1]}]"# }
                let problem = try #require(await log.problem(within: .seconds(2)))
                #expect(problem.metadata["discovery.error"] == "entry 1: targets must be a list of strings")

                log.clear()
                answer.set { $0.contentType = "text/plain" }
                let wrongType = try #require(await log.problem(within: .seconds(2)))
                #expect(wrongType.metadata["discovery.error"] == #"server returned Content-Type "text/plain", expected application/json"#)
                #expect(updates.latest == good)
            }
        }
    }

    @Test func firstFailureSendsAnEmptyListAndRecoveryTheTargets() async throws {
        let answer = Answer()
        answer.set { $0.status = .notFound }
        let log = DiscoveryLogRecorder()
        try await withSDServer(answer) { url in
            try await withRunningDiscoverer(discoverer(url, log: log)) { updates in
                let first = try #require(await updates.first())
                #expect(first.isEmpty)
                answer.set {
                    $0.status = .ok
                    $0.body = Self.twoGroups
                }
                #expect(await updates.latest(within: .seconds(2)) { addresses($0) == ["a:1", "b:2", "c:3"] } != nil)
            }
        }
    }

    @Test func oversizedBodyIsRefused() async throws {
        let answer = Answer()
        answer.set { $0.body = "[" + String(repeating: " ", count: HTTPDiscoverer.maxBodySize) + "]" }
        let log = DiscoveryLogRecorder()
        try await withSDServer(answer) { url in
            try await withRunningDiscoverer(discoverer(url, log: log)) { _ in
                let problem = try #require(await log.problem(within: .seconds(5)))
                #expect(problem.metadata["discovery.error"] == "response body is larger than 16 MiB")
            }
        }
    }

    @Test func slowServerTimesOut() async throws {
        let answer = Answer()
        answer.set { $0.delay = .seconds(2) }
        let log = DiscoveryLogRecorder()
        try await withSDServer(answer) { url in
            let started = ContinuousClock.now
            try await withRunningDiscoverer(discoverer(url, log: log, timeout: .milliseconds(300))) { updates in
                let problem = try #require(await log.problem(within: .seconds(10)))
                #expect(problem.metadata["discovery.error"]?.hasPrefix("timed out after") == true)
                #expect(ContinuousClock.now - started < .seconds(10))
                #expect(await updates.latest(within: .seconds(10)) { $0.isEmpty } != nil)
            }
        }
    }
}
