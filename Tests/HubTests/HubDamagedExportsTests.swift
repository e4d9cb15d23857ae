import CanopyTestSupport
import Foundation
import Periskop
import Testing

/// Targets that serve a damaged export on every scrape, beside good ones, through a real leaf
/// process and a hub on a real database: both stay up, the good service stays exact at both, what
/// the decoder rejects is a failed scrape with its own error on every scrape, and what it
/// tolerates by design (lone surrogates, duplicate keys) is counted as it defines.
@Suite struct HubDamagedExportsTests {
    /// What the damaged targets start from: a good export of one group.
    static let export: [UInt8] = PayloadEncoder().encode(
        ExceptionsPayload(
            targetUUID: "damaged",
            aggregatedErrors: [
                AggregatedError(
                    aggregationKey: "k", totalCount: 5, createdAt: Date(timeIntervalSince1970: 1_700_000_000),
                    latestErrors: [
                        ErrorWithContext(
                            error: ErrorInstance(className: "E", message: "m", stacktrace: ["a.swift:1"]), uuid: "u",
                            timestamp: Date(timeIntervalSince1970: 1_700_000_000))
                    ])
            ]))

    /// A target whose every export is damaged so that the decoder must reject it, each request
    /// differently, and the start of the error its scrapes fail with.
    struct Rejected {
        let name: String
        let error: String
        let body: @Sendable (Int) -> [UInt8]
    }

    static let rejected: [Rejected] = [
        // Bytes outside strings flipped to non-ASCII: never JSON there, whichever byte it hits.
        // (A flip inside a string may still be a valid export, and would be counted.)
        Rejected(name: "flipped", error: "invalid payload: invalid JSON at byte") { request in
            var random = SplitMix64(seed: UInt64(request))
            var bytes = export
            for _ in 0...random.next(below: 3) { bytes[outsideStrings[random.next(below: outsideStrings.count)]] |= 0x80 }
            return bytes
        },
        // Any proper prefix lacks the closing brace at least.
        Rejected(name: "truncated", error: "invalid payload: invalid JSON at byte") { request in
            Array(export.prefix(1 + request * 7 % (export.count - 1)))
        },
        // 100,000 levels, never closed, under a key the decoder skips.
        Rejected(name: "deep", error: "invalid payload: invalid JSON at byte") { request in deep[request % deep.count] },
        Rejected(name: "huge", error: "invalid payload: aggregated_errors[0].") { request in
            let variants = [
                #""total_count": 99999999999999999999999"#, #""total_count": 1e400"#, #""total_count": -1e400"#,
                #""total_count": 5, "created_at": 1e400"#,
            ]
            return Array(#"{"aggregated_errors": [{"aggregation_key": "k", \#(variants[request % variants.count]), "latest_errors": []}]}"#.utf8)
        },
        Rejected(name: "wrong-types", error: "invalid payload: ") { request in
            let variants = [
                #"{"aggregated_errors": {}}"#, #"[]"#, #"{"aggregated_errors": [{"aggregation_key": 12, "total_count": 1}]}"#,
                #"{"aggregated_errors": [{"aggregation_key": "k", "total_count": "5"}]}"#,
                #"{"aggregated_errors": [{"aggregation_key": "k", "total_count": 1, "latest_errors": 7}]}"#,
                #"{"aggregated_errors": [{"aggregation_key": "k", "total_count": true}]}"#,
            ]
            return Array(variants[request % variants.count].utf8)
        },
    ]

    /// Made once: building them on every request would slow the fake target more than the leaf.
    static let deep: [[UInt8]] = ["[", #"{"a":"#].map { level in
        Array(#"{"aggregated_errors": [], "x": "#.utf8) + Array(String(repeating: level, count: 100_000).utf8)
    }

    /// Offsets of the export's bytes that are not inside a string (nor its quotes).
    static let outsideStrings: [Int] = {
        let bytes = export
        var positions: [Int] = []
        var inString = false
        var escaped = false
        for (offset, byte) in bytes.enumerated() {
            if inString {
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            } else {
                positions.append(offset)
            }
        }
        return positions
    }()

    /// A counter of the leaf's or the hub's `/metrics`, by its labels as written there.
    static func metric(_ text: String, _ name: String, _ labels: String) -> Int? {
        let prefix = "\(name){\(labels)} "
        return text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.dropFirst(prefix.count)) }.map { Int($0) }
    }

    @Test func damagedExportsOnEveryScrapeFailOnlyThemselves() async throws {
        let good = FakeTarget()
        good.report("fine", total: 3)
        let damaged = Self.rejected.map { damage in
            let target = FakeTarget()
            target.behaviour = .generated(damage.body)
            return target
        }
        // Tolerated by design: a lone surrogate becomes U+FFFD; of duplicate keys the last counts.
        let surrogates = FakeTarget()
        surrogates.behaviour = .raw(
            #"{"aggregated_errors": [{"aggregation_key": "k\ud800", "total_count": 2, "latest_errors": [{"error": {"class": "E", "message": "\udc00x"}, "uuid": "s"}]}]}"#
        )
        let duplicates = FakeTarget()
        duplicates.behaviour = .raw(
            #"{"aggregated_errors": [{"aggregation_key": "first", "total_count": 1, "aggregation_key": "dup", "total_count": 4, "latest_errors": []}]}"#
        )
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            try await withServices(([good, surrogates, duplicates] + damaged).map { $0.makeApplication() }) {
                try await withTemporaryDirectory { directory in
                    func list(_ targets: [FakeTarget]) async -> String {
                        var addresses: [String] = []
                        for target in targets { addresses.append("'\(await target.address())'") }
                        return addresses.joined(separator: ", ")
                    }
                    let leaf = try HubEndToEndTests.Leaf(
                        team: "t",
                        config: """
                            global: {scrape_interval: 300ms, scrape_timeout: 300ms, external_labels: {team: t}}
                            services:
                            - name: good
                              static_configs: [{targets: [\(await list([good]))]}]
                              scraper: {endpoint: /-/exceptions}
                            - name: tolerated
                              static_configs: [{targets: [\(await list([surrogates, duplicates]))]}]
                              scraper: {endpoint: /-/exceptions}
                            - name: damaged
                              static_configs: [{targets: [\(await list(damaged))]}]
                              scraper: {endpoint: /-/exceptions}
                            """,
                        directory: directory)
                    try await leaf.start()
                    let leafClient = HTTPTestClient(base: "http://127.0.0.1:\(leaf.port)")
                    func leafTotals(_ service: String) async throws -> [String: Int] {
                        let groups = try await leafClient.json("/api/v1/services/\(service)/errors") as? [[String: Any]] ?? []
                        return Dictionary(uniqueKeysWithValues: groups.map { ($0["aggregation_key"] as! String, $0["total"] as! Int) })
                    }
                    func leafTarget(_ address: String) async throws -> [String: Any]? {
                        let report = try await leafClient.json("/api/v1/targets") as? [String: Any]
                        return (report?["active_targets"] as? [[String: Any]])?.first { $0["url"] as? String == "http://\(address)/-/exceptions" }
                    }
                    try await withInProcessHub(database: database, cluster: cluster, leaves: [("t", leaf.port)], directory: directory) { base in
                        let hub = HTTPTestClient(base: base)
                        // At least 30 damaged exports served by each damaged target and counted: a
                        // target's scrapes run one after the other, so its 31st request means the
                        // leaf has recorded the 30th (the 30th alone may still be in flight).
                        try await expectEventually("30 scrapes of every damaged target", timeout: .seconds(90)) {
                            damaged.allSatisfy { $0.requests >= 31 }
                        }
                        let metrics = try await leafClient.get("/metrics").body
                        for (damage, target) in zip(Self.rejected, damaged) {
                            let address = await target.address()
                            let report = try await leafTarget(address)
                            let error = report?["last_error"] as? String ?? ""
                            #expect(report?["health"] as? String == "down", "\(damage.name): \(report ?? [:])")
                            #expect(error.hasPrefix(damage.error), "\(damage.name) fails with \(error.debugDescription), not \(damage.error)")
                            let labels = #"service="damaged",instance="\#(address)""#
                            let scrapes = Self.metric(metrics, "canopy_target_scrapes_total", labels) ?? 0
                            let failures = Self.metric(metrics, "canopy_target_scrape_failures_total", labels) ?? -1
                            #expect(scrapes >= 30 && failures == scrapes, "\(damage.name): \(failures) of \(scrapes) scrapes failed")
                        }
                        #expect(try await leafTotals("damaged").isEmpty)
                        for target in [good, surrogates, duplicates] {
                            let address = await target.address()
                            let service = target === good ? "good" : "tolerated"
                            let labels = #"service="\#(service)",instance="\#(address)""#
                            #expect(Self.metric(metrics, "canopy_target_scrape_failures_total", labels) == 0, "\(service) \(address) failed scrapes")
                            #expect(try await leafTarget(address)?["health"] as? String == "up")
                        }

                        // The good service goes on being counted exactly, at the leaf and at the hub.
                        good.report("fine", total: 8)
                        try await expectEventually { try await leafTotals("good") == ["fine": 8] }
                        #expect(try await leafTotals("tolerated") == ["k\u{FFFD}": 2, "dup": 4])
                        try await expectEventually(timeout: .seconds(20)) {
                            let totals = try await HubEndToEndTests.totals(hub)
                            return totals["t/good/fine"] == 8 && totals["t/tolerated/k\u{FFFD}"] == 2 && totals["t/tolerated/dup"] == 4
                        }
                        let totals = try await HubEndToEndTests.totals(hub)
                        #expect(totals.keys.sorted() == ["t/good/fine", "t/tolerated/dup", "t/tolerated/k\u{FFFD}"], "\(totals)")

                        // Both servers are still up, and the hub still reads the leaf.
                        #expect(leaf.process?.isRunning == true)
                        #expect(try await leafClient.get("/-/ready").status == 200)
                        let hubMetrics = try await hub.get("/metrics").body
                        #expect(Self.metric(hubMetrics, "canopy_leaf_up", #"leaf="t",instance="127.0.0.1:\#(leaf.port)""#) == 1, "\(hubMetrics)")
                    }
                    await leaf.stop()
                }
            }
        }
    }
}
