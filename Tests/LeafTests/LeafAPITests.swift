import Foundation
import NIOHTTP1
import Periskop
import Shared
import CanopyTestSupport
import Testing

@testable import Leaf

/// The leaf's HTTP surface against real targets: filters and sorting, keys that need encoding,
/// resolve through the Periskop API, targets with relabelling, credentials, and the federation
/// payload with its samples scrubbed.
@Suite struct LeafAPITests {
    static let oddKeys = ["java.lang.Run/ timeException@123", "Ünïcode key $1 & ?x=1", "plain"]

    @Test func groupsFilterSortAndRoundTripAnyKey() async throws {
        let target = FakeTarget()
        try await withServices([target.makeApplication()]) {
            target.report(Self.oddKeys[0], total: 5, severity: .error, message: "connection reset")
            target.report(Self.oddKeys[1], total: 9, severity: .warning, message: "slow query")
            target.report(Self.oddKeys[2], total: 1, severity: .info, message: "cache miss")
            let config = try LeafHarness.config(
                """
                global: {scrape_interval: 1s, scrape_timeout: 1s, external_labels: {team: core}}
                services:
                - name: api
                  static_configs: [{targets: ['\(await target.address())']}]
                  scraper: {endpoint: /-/exceptions}
                """)
            try await LeafHarness.run(config, dataDir: LeafHarness.temporaryDirectory()) { leaf in
                try await expectEventually { try await leaf.totals(of: "api").count == 3 }
                func keys(_ query: String) async throws -> [String] {
                    let groups = try await leaf.json("/api/v1/services/api/errors\(query)") as? [[String: Any]] ?? []
                    return groups.map { $0["aggregation_key"] as! String }
                }
                #expect(try await keys("?sort=count") == [Self.oddKeys[1], Self.oddKeys[0], Self.oddKeys[2]])
                #expect(try await keys("?severity=warning") == [Self.oddKeys[1]])
                #expect(try await keys("?q=RESET") == [Self.oddKeys[0]])
                #expect(try await keys("?q=app.swift%3A9") == [Self.oddKeys[1]])  // stack trace text
                #expect(try await leaf.get("/api/v1/services/api/errors?severity=fatal").status == 400)
                #expect(try await leaf.get("/api/v1/services/nope/errors").status == 404)

                for key in Self.oddKeys {
                    let encoded = key.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                    let detail = try #require(try await leaf.json("/api/v1/services/api/errors/\(encoded)") as? [String: Any])
                    let group = try #require(detail["group"] as? [String: Any])
                    #expect(group["aggregation_key"] as? String == key)
                    let instances = try #require(detail["instances"] as? [[String: Any]])
                    #expect(instances.count == 1)
                    #expect(instances.first?["instance"] as? String == (await target.address()))
                    #expect(instances.first?["target_uuid"] as? String == target.payload.targetUUID)
                    #expect(instances.first?["current"] as? Bool == true)
                    #expect((detail["samples"] as? [Any])?.count == 1)
                }
                #expect(try await leaf.get("/api/v1/services/api/errors/missing").status == 404)

                // Resolve through the Periskop API: hidden until it occurs again.
                let encoded = Self.oddKeys[0].addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                #expect(try await leaf.request("/services/api/errors/\(encoded)/", method: .DELETE).status == 204)
                #expect(try await leaf.request("/services/api/errors/nothing/", method: .DELETE).status == 404)
                #expect(try await leaf.periskopTotals(of: "api").keys.sorted() == [Self.oddKeys[1], Self.oddKeys[2]].sorted())
                #expect(try await keys("?resolved=true").count == 3)
                target.report(Self.oddKeys[0], total: 6)
                try await expectEventually { try await leaf.periskopTotals(of: "api")[Self.oddKeys[0]] == 6 }

                // The Periskop shapes: a list of names, times as Unix seconds, endpoints per service.
                #expect(try await leaf.json("/services/") as? [String] == ["api"])
                let aggregates = try #require(try await leaf.json("/services/api/errors/") as? [[String: Any]])
                #expect(aggregates.allSatisfy { $0["created_at"] is Int })
                let sample = try #require((aggregates.first?["latest_errors"] as? [[String: Any]])?.first)
                #expect(sample["timestamp"] is Int)
                let targets = try #require(try await leaf.json("/targets/") as? [String: [[String: String]]])
                #expect(targets["api"]?.first?["endpoint"] == "http://\(await target.address())/-/exceptions")
            }
        }
    }

    /// Encoded characters in paths and queries mean those characters, on the API and the pages.
    @Test func encodedPathsAndQueriesMeanTheirCharacters() async throws {
        let target = FakeTarget()
        try await withServices([target.makeApplication()]) {
            target.report("C++key", total: 1, message: "C++ template error")
            target.report("literal", total: 1, message: "discount 100%20 off")
            target.report("spaced", total: 1, message: "two words here")
            let config = try LeafHarness.config(
                """
                global: {scrape_interval: 1s, scrape_timeout: 1s, external_labels: {team: core}}
                services:
                - name: 'api:v2'
                  static_configs: [{targets: ['\(await target.address())']}]
                  scraper: {endpoint: /-/exceptions}
                """)
            try await LeafHarness.run(config, dataDir: LeafHarness.temporaryDirectory()) { leaf in
                try await expectEventually { try await leaf.totals(of: "api%3Av2").count == 3 }
                func keys(_ query: String) async throws -> [String] {
                    let groups = try await leaf.json("/api/v1/services/api%3Av2/errors\(query)") as? [[String: Any]] ?? []
                    return groups.map { $0["aggregation_key"] as! String }
                }
                #expect(try await keys("?q=C%2B%2B") == ["C++key"])
                #expect(try await keys("?q=100%2520") == ["literal"])
                #expect(try await keys("?q=two+words") == ["spaced"])
                #expect(try await keys("?q=C++") == [])  // `+` in a query is a space: "C  " is nowhere
                // `+` in a path is a plus; any other escape is its character, constants too.
                let detail = try await leaf.json("/api/v1/services/api:v2/errors/C++key") as? [String: Any]
                #expect((detail?["group"] as? [String: Any])?["aggregation_key"] as? String == "C++key")
                #expect(try await leaf.get("/api/%76%31/services/%61pi%3av2/errors/C%2B%2Bkey").status == 200)
                #expect(try await leaf.get("/services/api%3Av2/errors/").status == 200)

                // The search box shows what was searched, and the list has what it found.
                let page = try await leaf.get("/groups?q=C%2B%2B")
                #expect(page.body.contains(#"<input type="search" name="q" value="C++""#))
                #expect(page.body.contains("C++ template error"))
                #expect(!page.body.contains("two words here"))
                let literal = try await leaf.get("/groups?q=100%2520")
                #expect(literal.body.contains(#"value="100%20""#))
                #expect(literal.body.contains("discount 100%20 off"))
                #expect(!literal.body.contains("C++ template error"))
                #expect(try await leaf.get("/groups/api%3Av2/C%2B%2Bkey").body.contains("C++ template error"))
            }
        }
    }

    /// Targets' labels make series: the federation payload and /metrics count per label set.
    @Test func targetLabelsMakeSeriesInTheFederationPayloadAndMetrics() async throws {
        let prod = FakeTarget()
        let staging = FakeTarget()
        try await withServices([prod.makeApplication(), staging.makeApplication()]) {
            prod.report("k", total: 5)
            staging.report("k", total: 2)
            let config = try LeafHarness.config(
                """
                global: {scrape_interval: 1s, scrape_timeout: 1s, external_labels: {team: core}}
                federation: {drop_labels: [pod]}
                services:
                - name: api
                  static_configs:
                  - {targets: ['\(await prod.address())'], labels: {env: prod, pod: a}}
                  - {targets: ['\(await staging.address())'], labels: {env: staging, pod: b}}
                  scraper: {endpoint: /-/exceptions}
                """)
            try await LeafHarness.run(config, dataDir: LeafHarness.temporaryDirectory()) { leaf in
                try await expectEventually { try await leaf.totals(of: "api")["k"] == 7 }
                let federate = try #require(try await leaf.json("/api/v1/federate") as? [String: Any])
                let group = try #require(((federate["services"] as? [[String: Any]])?.first?["groups"] as? [[String: Any]])?.first)
                let series = try #require(group["series"] as? [[String: Any]])
                #expect(series.map { $0["labels"] as? [String: String] } == [["env": "prod"], ["env": "staging"]])
                #expect(series.map { $0["total"] as? Int } == [5, 2])
                let metrics = try await leaf.get("/metrics").body
                #expect(metrics.contains(#"canopy_exceptions_total{team="core",service="api",aggregation_key="k",class="TestError",severity="error",env="prod"} 5"#))
                #expect(metrics.contains(#"canopy_exceptions_total{team="core",service="api",aggregation_key="k",class="TestError",severity="error",env="staging"} 2"#))
                #expect(!metrics.contains("pod="))
            }
        }
    }

    @Test func fileDiscoveryAndRelabellingShowOnTheTargetsPage() async throws {
        let kept = FakeTarget()
        let dropped = FakeTarget()
        let directory = LeafHarness.temporaryDirectory()
        try await withServices([kept.makeApplication(), dropped.makeApplication()]) {
            try """
            - targets: ['\(await kept.address())']
              labels: {env: prod}
            - targets: ['\(await dropped.address())']
              labels: {env: staging}
            """.write(toFile: directory + "/api.yml", atomically: true, encoding: .utf8)
            let config = try LeafConfig.parse(
                """
                global: {scrape_interval: 1s, scrape_timeout: 1s, external_labels: {team: core}}
                services:
                - name: api
                  file_sd_configs: [{files: ['*.yml']}]
                  scraper: {endpoint: /-/exceptions}
                  basic_auth: {username: canopy, password: opensesame}
                  labels: {tier: web}
                  relabel_configs:
                  - {source_labels: [env], regex: staging, action: drop}
                  - {source_labels: [__meta_filepath], regex: '.*/(.*)\\.yml', target_label: source}
                """, file: directory + "/leaf.yml")
            try await LeafHarness.run(config, dataDir: LeafHarness.temporaryDirectory()) { leaf in
                let report = try await eventually { try await (leaf.json("/api/v1/targets") as? [String: Any])?["active_targets"] as? [[String: Any]] != nil }
                #expect(report)
                try await expectEventually { try await leaf.target("http://\(await kept.address())/-/exceptions")?["health"] as? String == "up" }
                let target = try #require(try await leaf.target("http://\(await kept.address())/-/exceptions"))
                #expect(target["labels"] as? [String: String] == ["instance": await kept.address(), "service": "api", "env": "prod", "tier": "web", "source": "api"])
                #expect((target["discovered_labels"] as? [String: String])?["__meta_filepath"] == directory + "/api.yml")
                let all = try #require(try await leaf.json("/api/v1/targets") as? [String: Any])
                #expect((all["active_targets"] as? [Any])?.count == 1)
                let droppedTargets = try #require(all["dropped_targets"] as? [[String: Any]])
                #expect(droppedTargets.map { ($0["discovered_labels"] as? [String: String])?["__address__"] } == [await dropped.address()])
                // Credentials reach the target.
                #expect(kept.lastHeaders["authorization"] == "Basic " + Data("canopy:opensesame".utf8).base64EncodedString())
                #expect(dropped.requests == 0)
            }
        }
    }

    @Test func federationCarriesTheTeamAndScrubbedSamples() async throws {
        let target = FakeTarget()
        try await withServices([target.makeApplication()]) {
            let context = HTTPContext(
                requestMethod: "POST", requestURL: "https://shop/pay?card=1&api_key=k3y",
                requestHeaders: ["Authorization": "Bearer t0ken", "Cookie": "session=abc", "X-Request-Id": "r1", "X-Session-Id": "s1"],
                requestBody: #"{"user": "ann", "password": "hunter2", "card_number": "4111"}"#)
            target.report("PaymentError@1", total: 2, message: "card declined", httpContext: context)
            let config = try LeafHarness.config(
                """
                global: {scrape_interval: 1s, scrape_timeout: 1s, external_labels: {team: payments, region: eu}}
                scrub: {headers: [X-Session-Id], fields: [card_number]}
                services:
                - name: checkout
                  static_configs: [{targets: ['\(await target.address())']}]
                  scraper: {endpoint: /-/exceptions}
                """)
            try await LeafHarness.run(config, dataDir: LeafHarness.temporaryDirectory()) { leaf in
                try await expectEventually { try await leaf.totals(of: "checkout") == ["PaymentError@1": 2] }
                // Once every target was scraped (the payload says `complete`), bodies stay the same.
                try await expectEventually { try await leaf.get("/api/v1/federate").body.contains("\"complete\":true") }
                let federation = try await leaf.get("/api/v1/federate").body
                for secret in ["t0ken", "session=abc", "hunter2", "4111", "k3y", "s1\""] {
                    #expect(!federation.contains(secret), "\(secret) leaked into the federation payload")
                }
                let payload = try CanopyJSON.decoder().decode(FederationPayload.self, from: Data(federation.utf8))
                #expect(payload.leaf.team == "payments")
                #expect(payload.leaf.externalLabels == ["team": "payments", "region": "eu"])
                let group = try #require(payload.services.first { $0.name == "checkout" }?.groups.first)
                #expect(group.total == 2)
                #expect(group.instances == 1)
                #expect(group.message == "card declined")
                let kept = try #require(group.samples.first?.httpContext)
                #expect(kept.requestHeaders["X-Request-Id"] == "r1")
                #expect(kept.requestHeaders["Authorization"] == Scrubber.redacted)
                #expect(kept.requestBody?.contains("\"user\": \"ann\"") == true)
                #expect(kept.requestURL.hasPrefix("https://shop/pay?card=1&api_key="))
                #expect(payload.services.first?.targetsTotal == 1)
                #expect(payload.services.first?.targetsUp == 1)
                // Nothing new, the same bytes: the hub skips them without decoding.
                #expect(try await leaf.get("/api/v1/federate").body == federation)
            }
        }
    }

    @Test func reloadAppliesANewConfigAndKeepsUnchangedTargetsRunning() async throws {
        let first = FakeTarget()
        let second = FakeTarget()
        let directory = LeafHarness.temporaryDirectory()
        let file = directory + "/leaf.yml"
        try await withServices([first.makeApplication(), second.makeApplication()]) {
            func service(_ name: String, _ address: String) -> String {
                "- name: \(name)\n  static_configs: [{targets: ['\(address)']}]\n  scraper: {endpoint: /-/exceptions}\n"
            }
            let header = "global: {scrape_interval: 1s, scrape_timeout: 1s, external_labels: {team: core}}\nservices:\n"
            try (header + service("one", await first.address())).write(toFile: file, atomically: true, encoding: .utf8)
            first.report("a", total: 1)
            second.report("b", total: 2)
            try await LeafHarness.run(try LeafConfig.load(file: file), dataDir: directory + "/data", configFile: file) { leaf in
                try await expectEventually { try await leaf.totals(of: "one") == ["a": 1] }
                try (header + service("one", await first.address()) + service("two", await second.address())).write(toFile: file, atomically: true, encoding: .utf8)
                #expect(try await leaf.request("/-/reload", method: .POST).status == 200)
                try await expectEventually { try await leaf.totals(of: "two") == ["b": 2] }
                #expect(try await leaf.target("http://\(await first.address())/-/exceptions")?["health"] as? String == "up")
                // Dropping a service stops its target; its counts stay.
                try (header + service("two", await second.address())).write(toFile: file, atomically: true, encoding: .utf8)
                #expect(try await leaf.request("/-/reload", method: .POST).status == 200)
                try await expectEventually { try await leaf.target("http://\(await first.address())/-/exceptions") == nil }
                #expect(try await leaf.totals(of: "one") == ["a": 1])
            }
        }
    }
}
