import Foundation
import Periskop
import Shared
import CanopyTestSupport
import Testing

@testable import Leaf

/// Exact counting through a real leaf scraping real targets over HTTP: target restarts, leaf
/// restarts, missed scrapes, targets that come and go.
@Suite struct LeafCountingTests {
    static func config(_ targets: [String], interval: String = "100ms") -> String {
        """
        global:
          scrape_interval: \(interval)
          scrape_timeout: \(interval)
          external_labels: {team: payments}
        services:
        - name: checkout
          static_configs:
          - targets: [\(targets.joined(separator: ", "))]
          scraper:
            endpoint: /-/exceptions
            refresh_interval: \(interval)
        """
    }

    @Test func countsEqualWhatTargetsReportedThroughTargetAndLeafRestarts() async throws {
        let a = FakeTarget()
        let b = FakeTarget()
        let dataDir = LeafHarness.temporaryDirectory()
        try await withServices([a.makeApplication(), b.makeApplication()]) {
            let config = try LeafHarness.config(Self.config([await a.address(), await b.address()]))
            a.report("db-timeout", total: 3)
            b.report("db-timeout", total: 4)
            b.report("nil-user", total: 1, severity: .warning)
            try await LeafHarness.run(config, dataDir: dataDir) { leaf in
                try await expectEventually { try await leaf.totals(of: "checkout") == ["db-timeout": 7, "nil-user": 1] }
                // a grows; b restarts (new target_uuid) and reports 2 again.
                a.report("db-timeout", total: 5)
                b.restart()
                b.report("db-timeout", total: 2)
                try await expectEventually { try await leaf.totals(of: "checkout") == ["db-timeout": 11, "nil-user": 1] }
                #expect(try await leaf.periskopTotals(of: "checkout") == ["db-timeout": 11, "nil-user": 1])
            }
            // While the leaf is down, a keeps counting; the leaf restarted from its data dir counts on.
            a.report("db-timeout", total: 9)
            try await LeafHarness.run(config, dataDir: dataDir) { leaf in
                try await expectEventually { try await leaf.totals(of: "checkout") == ["db-timeout": 15, "nil-user": 1] }
                // Scraping the same bodies again and again adds nothing.
                let requests = a.requests
                try await expectEventually { a.requests >= requests + 3 }
                #expect(try await leaf.totals(of: "checkout") == ["db-timeout": 15, "nil-user": 1])
            }
        }
    }

    @Test func targetWithoutUUIDRestartIsDetectedByFallingCount() async throws {
        let a = FakeTarget()
        a.payload.targetUUID = nil
        try await withServices([a.makeApplication()]) {
            let config = try LeafHarness.config(Self.config([await a.address()]))
            a.report("k", total: 10)
            try await LeafHarness.run(config, dataDir: LeafHarness.temporaryDirectory()) { leaf in
                try await expectEventually { try await leaf.totals(of: "checkout") == ["k": 10] }
                a.restart(keepUUID: true)
                a.report("k", total: 4)
                try await expectEventually { try await leaf.totals(of: "checkout") == ["k": 14] }
                a.report("k", total: 6)
                try await expectEventually { try await leaf.totals(of: "checkout") == ["k": 16] }
            }
        }
    }

    @Test func targetThatGoesAwayKeepsWhatItAddedAndMissedScrapesLoseNothing() async throws {
        let a = FakeTarget()
        let b = FakeTarget()
        try await withServices([a.makeApplication(), b.makeApplication()]) {
            let addressB = await b.address()
            let config = try LeafHarness.config(Self.config([await a.address(), addressB]))
            a.report("k", total: 2)
            b.report("k", total: 5)
            try await LeafHarness.run(config, dataDir: LeafHarness.temporaryDirectory()) { leaf in
                try await expectEventually { try await leaf.totals(of: "checkout") == ["k": 7] }
                // b fails for a while (missed scrapes) and counts on meanwhile.
                b.behaviour = .status(503)
                try await expectEventually { try await leaf.target("http://\(addressB)/-/exceptions")?["health"] as? String == "down" }
                b.report("k", total: 8)
                b.behaviour = .serve
                try await expectEventually { try await leaf.totals(of: "checkout") == ["k": 10] }
                // Then b disappears for good: what it added stays.
                b.behaviour = .status(404)
                a.report("k", total: 3)
                try await expectEventually { try await leaf.totals(of: "checkout") == ["k": 11] }
            }
        }
    }
}
