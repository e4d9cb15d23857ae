import Foundation
import NIOHTTP1
import Periskop
import CanopyTestSupport
import Testing

@testable import Leaf

/// The leaf as an operator runs it: the release of `deploy/leaf.example.yml`, the binary, its
/// command line, its signals, and `/metrics` as promtool reads it.
@Suite(.serialized) struct LeafBinaryTests {
    @Test func checkConfigPrintsEachErrorWithLineAndExitsOne() throws {
        let directory = LeafHarness.temporaryDirectory()
        let file = directory + "/bad.yml"
        try """
        global:
          scrape_interval: 1x
        services:
        - name: api
          static_configs: [{targets: [a:1]}]
          scraper: {endpoint: /-/exceptions}
          colour: blue
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let (status, output) = try LeafProcess.run(["check-config", file])
        #expect(status == 1)
        #expect(output.contains("\(file):2:20: global.scrape_interval: not a duration: \"1x\""))
        #expect(output.contains("\(file):7:3: services[0].colour: unknown key colour"))
        #expect(output.contains("missing global.external_labels.team"))

        let example = LeafProcess.packageRoot.appendingPathComponent("deploy/leaf.example.yml").path
        let (good, text) = try LeafProcess.run(["check-config", example])
        #expect(good == 0)
        #expect(text.contains("OK (team payments, 2 services)"))
    }

    @Test func startsWithoutConfigAndSaysWhereItsAPIIs() async throws {
        let leaf = try LeafProcess.start(["--data-dir", LeafHarness.temporaryDirectory()])
        let base = try await leaf.base()
        let services = try await RunningLeaf(base: base).json("/api/v1/services") as? [Any]
        #expect(services?.isEmpty == true)
        #expect(leaf.log.contains("no --config given"))
        #expect(leaf.log.contains("leaf.api=http://127.0.0.1:"))
        #expect(await leaf.stop() == 0)
    }

    /// The example config, unchanged, against real targets: exact counts through a target restart
    /// and a leaf restart, in both APIs; a bad reload is refused; promtool accepts /metrics.
    @Test func exampleConfigCountsExactlyThroughRestarts() async throws {
        let directory = LeafHarness.temporaryDirectory()
        let config = directory + "/leaf.yml"
        try FileManager.default.copyItem(atPath: LeafProcess.packageRoot.appendingPathComponent("deploy/leaf.example.yml").path, toPath: config)
        try FileManager.default.createDirectory(atPath: directory + "/targets", withIntermediateDirectories: true)
        let dataDir = directory + "/data"
        let one = FakeTarget()
        let two = FakeTarget()
        try await withServices([one.makeApplication(), two.makeApplication()]) {
            try #"[{"targets": ["\#(await one.address())", "\#(await two.address())"], "labels": {"env": "test"}}]"#
                .write(toFile: directory + "/targets/checkout-test.json", atomically: true, encoding: .utf8)
            one.report("card declined", total: 4)
            two.report("card declined", total: 2)
            two.report("ledger/timeout@v2", total: 1, severity: .warning)

            var leaf = try LeafProcess.start(["--config", config, "--data-dir", dataDir])
            var client = RunningLeaf(base: try await leaf.base())
            try await expectEventually(timeout: .seconds(40)) {
                try await client.totals(of: "checkout") == ["card declined": 6, "ledger/timeout@v2": 1]
            }
            #expect(try await client.periskopTotals(of: "checkout") == ["card declined": 6, "ledger/timeout@v2": 1])
            // A key with a slash round-trips through the URL.
            let detail = try await client.json("/api/v1/services/checkout/errors/ledger%2Ftimeout@v2") as? [String: Any]
            #expect((detail?["group"] as? [String: Any])?["total"] as? Int == 1)

            // Target restart.
            one.restart()
            one.report("card declined", total: 3)
            try await expectEventually(timeout: .seconds(40)) { try await client.totals(of: "checkout")["card declined"] == 9 }

            // Leaf restart: counts go on from the data dir, nothing counted twice.
            #expect(await leaf.stop() == 0)
            two.report("card declined", total: 5)
            leaf = try LeafProcess.start(["--config", config, "--data-dir", dataDir])
            client = RunningLeaf(base: try await leaf.base())
            #expect(try await client.totals(of: "checkout") == ["card declined": 9, "ledger/timeout@v2": 1])
            try await expectEventually(timeout: .seconds(40)) { try await client.totals(of: "checkout")["card declined"] == 12 }
            #expect(try await client.periskopTotals(of: "checkout") == ["card declined": 12, "ledger/timeout@v2": 1])

            // A broken config is refused on reload (HTTP and SIGHUP) and the leaf keeps scraping.
            let original = try String(contentsOfFile: config, encoding: .utf8)
            try (original + "\nbogus: true\n").write(toFile: config, atomically: true, encoding: .utf8)
            let reload = try await client.request("/-/reload", method: .POST)
            #expect(reload.status == 400)
            #expect(reload.body.contains("unknown key bogus"))
            leaf.send(SIGHUP)
            one.report("card declined", total: 4)
            try await expectEventually(timeout: .seconds(40)) { try await client.totals(of: "checkout")["card declined"] == 13 }
            #expect(leaf.log.contains("config reload failed"))

            // promtool accepts the exposition.
            let metrics = try await client.get("/metrics").body
            #expect(
                metrics.contains(#"canopy_exceptions_total{team="payments",service="checkout",aggregation_key="card declined",class="TestError",severity="error",env="test"} 13"#))
            let (status, verdict) = try promtoolCheckMetrics(metrics)
            #expect(status == 0, "promtool: \(verdict)")
            #expect(await leaf.stop() == 0)
        }
    }
}
