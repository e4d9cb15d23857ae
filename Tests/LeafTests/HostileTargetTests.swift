import Foundation
import Periskop
import Shared
import CanopyTestSupport
import Testing

@testable import Leaf

/// Every way a target can be wrong gives that target a specific error, while the others go on
/// being scraped and counted exactly.
@Suite struct HostileTargetTests {
    @Test func eachBadTargetGetsItsOwnErrorAndTheGoodOneIsStillCounted() async throws {
        let good = FakeTarget()
        let slow = FakeTarget()
        let huge = FakeTarget()
        let negative = FakeTarget()
        let truncated = FakeTarget()
        let html = FakeTarget()
        let failing = FakeTarget()
        let trickle = FakeTarget()
        let crowded = FakeTarget()
        slow.behaviour = .slow(.seconds(5))
        huge.behaviour = .huge(bytes: 64 * 1024)
        negative.behaviour = .raw(#"{"aggregated_errors": [{"aggregation_key": "k", "total_count": -3, "latest_errors": []}]}"#)
        truncated.behaviour = .raw(#"{"aggregated_errors": [{"aggregation_key": "k", "total_co"#)
        html.behaviour = .contentType("text/html")
        failing.behaviour = .status(500)
        trickle.behaviour = .trickle
        for key in ["a", "b", "c"] { crowded.report(key, total: 1) }
        let hostile = [slow, huge, negative, truncated, html, failing, trickle, crowded]

        try await withServices(([good] + hostile).map { $0.makeApplication() }) {
            var addresses: [String] = []
            for target in hostile { addresses.append(await target.address()) }
            let dead = "127.0.0.1:9"  // discard port: nothing listens there
            let config = try LeafHarness.config(
                """
                global:
                  scrape_interval: 500ms
                  scrape_timeout: 300ms
                  external_labels: {team: t}
                services:
                - name: good
                  static_configs: [{targets: ['\(await good.address())']}]
                  scraper: {endpoint: /-/exceptions, refresh_interval: 200ms}
                  scrape_timeout: 150ms
                - name: hostile
                  static_configs: [{targets: [\((addresses + [dead]).map { "'\($0)'" }.joined(separator: ", "))]}]
                  scraper: {endpoint: /-/exceptions}
                  body_size_limit: 4KB
                  aggregate_limit: 2
                """)
            good.report("fine", total: 3)
            try await LeafHarness.run(config, dataDir: LeafHarness.temporaryDirectory()) { leaf in
                func error(of address: String) async throws -> String? {
                    try await leaf.target("http://\(address)/-/exceptions")?["last_error"] as? String
                }
                let expected: [(String, String)] = [
                    (addresses[0], "scrape timed out after 300ms"),
                    (addresses[1], "body exceeds body_size_limit of 4096 bytes"),
                    (addresses[2], "invalid payload: aggregated_errors[0].total_count"),
                    (addresses[3], "invalid payload: "),
                    (addresses[4], "unexpected content type \"text/html\""),
                    (addresses[5], "server returned HTTP status 500"),
                    (addresses[6], "scrape timed out after 300ms"),
                    (addresses[7], "aggregate_limit"),
                    (dead, "connection failed"),
                ]
                for (address, message) in expected {
                    let found = try await eventually { try await error(of: address)?.contains(message) == true }
                    let actual = "\(try await leaf.target("http://\(address)/-/exceptions") ?? [:])"
                    #expect(found, "\(address) should fail with \(message), has \(actual)")
                }
                // Meanwhile the good target is up and counted exactly, and keeps being scraped.
                try await expectEventually { try await leaf.totals(of: "good") == ["fine": 3] }
                good.report("fine", total: 4)
                try await expectEventually { try await leaf.totals(of: "good") == ["fine": 4] }
                #expect(try await leaf.target("http://\(await good.address())/-/exceptions")?["health"] as? String == "up")
                #expect(try await leaf.totals(of: "hostile").isEmpty)
                let metrics = try await leaf.get("/metrics").body
                #expect(metrics.contains("canopy_target_up{service=\"hostile\",instance=\"\(dead)\"} 0"))
                #expect(metrics.contains("canopy_target_up{service=\"good\",instance=\"\(await good.address())\"} 1"))
            }
        }
    }
}
