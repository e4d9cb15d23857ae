import CanopyTestSupport
import Foundation
import Hummingbird
import Logging
import Periskop
import PeriskopHummingbird
import Synchronization
import Testing

/// The collector against real servers: a `canopy-leaf` process scraping it, and a gateway
/// receiving its pushes.
@Suite struct LiveTests {
    /// A service with a collector, on a free port.
    static func service(_ collector: ExceptionCollector, port: PortPromise) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: PeriskopMiddleware(collector: collector))
        PeriskopEndpoint(collector: collector).addRoutes(to: router)
        router.get("/orders/{id}") { _, _ -> String in throw CheckoutBroke() }
        var logger = Logger(label: "collector-service")
        logger.logLevel = .warning
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { port.fulfil($0.localAddress?.port ?? 0) }, logger: logger)
    }

    @Test func leafShowsTheCollectorsGroupsWithExactTotals() async throws {
        let collector = ExceptionCollector()
        let port = PortPromise()
        try await withServices([Self.service(collector, port: port)]) {
            // Errors thrown by a handler (reported by the middleware), reported with a key of one's
            // own, and reported directly from one call site, past the sample cap.
            let service = HTTPTestClient(base: "http://127.0.0.1:\(await port.value)")
            for id in 0..<3 { #expect(try await service.get("/orders/\(id)").status == 500) }
            for _ in 0..<5 { collector.report(Timeout(), key: "jobs/timeout@nightly", severity: .warning) }
            for _ in 0..<25 { reportFromSiteB(collector, Wrapped(description: "outer", cause: Declined())) }

            let directory = NSTemporaryDirectory() + "canopy-client-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let config = directory + "/leaf.yml"
            try """
            global:
              scrape_interval: 100ms
              scrape_timeout: 100ms
              external_labels: {team: payments}
            services:
            - name: swift-service
              static_configs:
              - targets: ["127.0.0.1:\(await port.value)"]
              scraper:
                endpoint: /-/exceptions
                refresh_interval: 100ms
            """.write(toFile: config, atomically: true, encoding: .utf8)
            let leaf = try ServerProcess("canopy-leaf", ["--config", config, "--data-dir", directory + "/data"])
            let client = HTTPTestClient(base: try await leaf.base())
            func leafTotals() async throws -> [String: Int] {
                guard let groups = try await client.json("/api/v1/services/swift-service/errors") as? [[String: Any]] else { return [:] }
                return Dictionary(uniqueKeysWithValues: groups.map { ($0["aggregation_key"] as! String, $0["total"] as! Int) })
            }
            try await expectEventually(timeout: .seconds(30)) { try await leafTotals() == collector.payload().totals }
            #expect(collector.payload().totals.values.sorted() == [3, 5, 25])

            // More reports: the leaf adds exactly the difference.
            for id in 3..<7 { #expect(try await service.get("/orders/\(id)").status == 500) }
            try await expectEventually(timeout: .seconds(30)) { try await leafTotals() == collector.payload().totals }
            #expect(try await leafTotals().values.sorted() == [5, 7, 25])

            // The leaf keeps the severity the collector reported.
            let groups = try await client.json("/api/v1/services/swift-service/errors") as? [[String: Any]] ?? []
            let timeout = groups.first { $0["aggregation_key"] as? String == "jobs/timeout@nightly" }
            #expect(timeout?["severity"] as? String == "warning")
            #expect(await leaf.stop() == 0)
        }
    }

    @Test func pushPostsThePayloadAndFailsOnAnError() async throws {
        let received = Mutex<[[UInt8]]>([])
        let status = Mutex(HTTPResponse.Status.accepted)
        let port = PortPromise()
        let router = Router()
        router.post("/errors") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            #expect(request.headers[.contentType] == "application/json")
            received.withLock { $0.append(Array(buffer: body)) }
            return Response(status: status.withLock { $0 }, body: .init(byteBuffer: ByteBuffer(string: "gateway says no")))
        }
        var logger = Logger(label: "gateway")
        logger.logLevel = .warning
        let gateway = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { port.fulfil($0.localAddress?.port ?? 0) }, logger: logger)
        try await withServices([gateway]) {
            let url = URL(string: "http://127.0.0.1:\(await port.value)/errors")!
            let collector = ExceptionCollector()
            collector.report(DiskFull())
            collector.report(Timeout(), key: "t")
            try await collector.push(to: url)
            let bodies = received.withLock { $0 }
            #expect(bodies.count == 1)
            #expect(try PayloadDecoder().decode(bodies[0]) == (try PayloadDecoder().decode(collector.exportJSON())))

            status.withLock { $0 = .internalServerError }
            await #expect { try await collector.push(to: url) } throws: { error in
                let push = error as? PushError
                return push?.status == 500 && push?.body == "gateway says no"
            }
        }
    }
}
