import Foundation
import Shared
import CanopyTestSupport
import Testing

@testable import Leaf

@Suite struct LeafConfigTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../Fixtures/periskop/configs").standardized

    /// The Periskop server's own configs load unchanged, with a team added.
    @Test(arguments: ["server-repo_config.dev.yaml", "server-repo_config.docker.yaml"])
    func periskopServerConfigLoads(file: String) throws {
        let text = try String(contentsOf: Self.fixtures.appendingPathComponent(file), encoding: .utf8)
        let config = try LeafConfig.parse(text + "\nglobal:\n  external_labels:\n    team: search\n", file: file)
        #expect(config.team == "search")
        #expect(config.services.map(\.name) == ["mock-target", "periskop"])
        let mock = try #require(config.services.first)
        #expect(mock.job.endpoint == "/errors")
        #expect(mock.job.interval == .seconds(10))
        #expect(mock.job.dnsConfigs.first?.type == .a)
        #expect(mock.job.dnsConfigs.first?.port == 7778)
        #expect(config.services[1].job.staticConfigs.first?.targets.count == 1)
    }

    @Test func fullPeriskopExampleNamesTheDiscoveryItCannotRun() throws {
        let text = try String(contentsOf: Self.fixtures.appendingPathComponent("full-example_all-options.yaml"), encoding: .utf8)
        let error = try #require(throws: ConfigError.self) { try LeafConfig.parse(text + "\nglobal: {external_labels: {team: t}}\n", file: "full.yaml") }
        // Everything but Kubernetes discovery is understood.
        #expect(error.issues.count == 1)
        #expect(error.issues.first?.path == "services[3].kubernetes_sd_configs")
        #expect(error.issues.first?.line == 62)
        #expect(error.issues.first?.message.contains("not supported") == true)
    }

    @Test func theDeployLabelIsReadAndABadOneNamesItsLine() throws {
        let config = try LeafConfig.parse("global: {external_labels: {team: t}}\ndeploys: {label: build, restart_window: 2m}\n", file: "leaf.yml")
        #expect(config.deploys.label == "build" && config.deploys.restartWindow == .seconds(120))
        #expect(try LeafConfig.parse("global: {external_labels: {team: t}}\n", file: "leaf.yml").deploys == DeployRule(), "version, then release")
        let error = try #require(throws: ConfigError.self) {
            try LeafConfig.parse("global: {external_labels: {team: t}}\ndeploys:\n  label: no-dashes\n  restart: 1m\n", file: "leaf.yml")
        }
        #expect(error.issues.map(\.path) == ["deploys.label", "deploys.restart"])
        #expect(error.issues.first?.line == 3 && error.issues.first?.message.contains("invalid label name") == true)
    }

    @Test func everyOptionIsRead() throws {
        let directory = LeafHarness.temporaryDirectory()
        let ca = directory + "/ca.pem"
        _ = FileManager.default.createFile(atPath: ca, contents: Data("x".utf8))
        let config = try LeafConfig.parse(
            """
            global:
              scrape_interval: 30s
              scrape_timeout: 5s
              max_concurrent_scrapes: 7
              external_labels: {team: payments, region: eu}
            scrub:
              headers: [X-Session]
              fields: [ssn]
            services:
            - name: api
              static_configs:
              - targets: [a:1, b:2]
                labels: {env: prod}
              scraper: {endpoint: /-/exceptions, refresh_interval: 1m}
              scrape_timeout: 20s
              scheme: https
              tls_config: {ca_file: \(ca), server_name: api.internal, insecure_skip_verify: true}
              authorization: {credentials: s3cr3t}
              body_size_limit: 2MB
              aggregate_limit: 500
              sample_limit: 3
              labels: {tier: web}
              relabel_configs:
              - source_labels: [__address__]
                regex: 'a:.*'
                action: drop
            """, file: "all.yml")
        #expect(config.global.maxConcurrentScrapes == 7)
        #expect(config.externalLabels == ["team": "payments", "region": "eu"])
        #expect(config.scrub == ScrubConfig(headers: ["X-Session"], fields: ["ssn"]))
        let api = try #require(config.services.first)
        #expect(api.job.interval == .seconds(60))
        #expect(api.job.timeout == .seconds(20))
        #expect(api.job.scheme == "https")
        #expect(api.job.tls == TLSSettings(caFile: ca, serverName: "api.internal", insecureSkipVerify: true))
        #expect(api.job.auth == .authorization(type: "Bearer", credentials: .inline("s3cr3t")))
        #expect(api.job.bodySizeLimit == 2 << 20)
        #expect(api.aggregateLimit == 500)
        #expect(api.sampleLimit == 3)
        #expect(api.job.labels == ["tier": "web"])
        #expect(api.job.relabelConfigs.first?.action == .drop)
    }

    @Test func eachErrorNamesLineAndKey() throws {
        let error = try #require(throws: ConfigError.self) {
            try LeafConfig.parse(
                """
                global:
                  scrape_interval: soon
                  external_labels: {team: payments}
                services:
                - name: api
                  static_configs:
                  - targets: [a:1]
                  scraper: {endpoint: /-/exceptions}
                  scrape_timout: 5s
                  dns_sd_configs:
                  - names: [x]
                    type: MX
                  relabel_configs:
                  - action: hashmod
                    target_label: shard
                """, file: "bad.yml")
        }
        let described = error.issues.map(\.description)
        #expect(described.contains { $0.hasPrefix("bad.yml:2:20: global.scrape_interval: not a duration: \"soon\"") })
        #expect(described.contains { $0.hasPrefix("bad.yml:9:3: services[0].scrape_timout: unknown key scrape_timout") })
        #expect(described.contains { $0.hasPrefix("bad.yml:12:11: services[0].dns_sd_configs[0].type: type must be SRV, A or AAAA") })
        #expect(described.contains { $0.contains("bad.yml:14:") && $0.contains("modulus") })
        #expect(error.issues.count == 4)
    }

    @Test func leafRefusesToStartWithoutTeam() throws {
        let error = try #require(throws: ConfigError.self) {
            try LeafConfig.parse("services: []\n", file: "noteam.yml")
        }
        #expect(error.issues.map(\.message) == ["missing global.external_labels.team: every leaf belongs to one team"])
        let labelled = try #require(throws: ConfigError.self) {
            try LeafConfig.parse("global: {external_labels: {env: prod}}\n", file: "noteam.yml")
        }
        #expect(labelled.issues.first?.path == "global.external_labels")
    }

    @Test func brokenYAMLNamesTheLine() throws {
        let error = try #require(throws: ConfigError.self) {
            try LeafConfig.parse("global:\n  external_labels: {team: [\n", file: "broken.yml")
        }
        #expect(error.issues.count == 1)
        #expect(error.issues.first?.file == "broken.yml")
        #expect(error.issues.first?.line == 3)
        #expect(error.issues.first?.message.hasPrefix("invalid YAML") == true)
    }

    @Test func federationChoosesTheSeriesLabels() throws {
        let config = try LeafConfig.parse(
            "global: {external_labels: {team: t}}\nfederation: {drop_labels: [pod, version], max_series_per_group: 20}\n", file: "f.yml")
        #expect(config.series == SeriesRule(dropLabels: ["pod", "version"], maxSeriesPerGroup: 20))
        #expect(try LeafConfig.parse("global: {external_labels: {team: t}}\n", file: "f.yml").series == SeriesRule())
        do {
            _ = try LeafConfig.parse("global: {external_labels: {team: t}}\nfederation: {max_series_per_group: 0, keep: [x]}\n", file: "f.yml")
            Issue.record("a bad federation section loaded")
        } catch {
            #expect(error.description.contains("federation.max_series_per_group"))
            #expect(error.description.contains("unknown key keep"))
        }
    }
}
