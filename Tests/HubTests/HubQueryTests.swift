import CanopyTestSupport
import Foundation
import Testing

@testable import Hub

/// PromQL on the hub against the real thing: real Python clients (periskop-client) raise real
/// exceptions, two real leaves count them, the hub (in process, real PostgreSQL) and Debian's
/// Prometheus (scraping the leaves' `/metrics`) hold the same counters, and many queries must
/// get the same answers from both. Then the clients as operators use them: a Grafana-style
/// client, promtool, and PyPI's prometheus-api-client.
@Suite(.serialized) struct HubQueryTests {
    /// payments/checkout: a prod and a staging target; search/api: one prod target.
    struct World {
        let hub: HTTPTestClient
        let hubBase: String
        let prometheus: HTTPTestClient
        let payProd: PythonTarget
        let payStaging: PythonTarget
        let search: PythonTarget
    }

    static func withWorld(_ body: (World) async throws -> Void) async throws {
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            try await withPythonTargets(3) { targets in
                try await withTemporaryDirectory { directory in
                    let payments = try HubEndToEndTests.Leaf(
                        team: "payments", service: "checkout", targets: [targets[0].address, targets[1].address],
                        labels: [["env": "prod"], ["env": "staging"]], directory: directory)
                    let search = try HubEndToEndTests.Leaf(
                        team: "search", service: "api", targets: [targets[2].address], labels: [["env": "prod"]], directory: directory)
                    try await payments.start()
                    try await search.start()
                    // Only the exception counters, without the scrape's own labels: the series the hub has.
                    let prometheus = try await PrometheusServer.start(
                        dataDirectory: directory + "/prometheus/data",
                        config: """
                            global: {scrape_interval: 1s}
                            scrape_configs:
                            - job_name: leaves
                              static_configs: [{targets: ['127.0.0.1:\(payments.port)', '127.0.0.1:\(search.port)']}]
                              metric_relabel_configs:
                              - {source_labels: [__name__], regex: canopy_exceptions_total, action: keep}
                              - {regex: 'job|instance', action: labeldrop}
                            """)
                    defer { prometheus.stop() }
                    try await withInProcessHub(
                        database: database, cluster: cluster, leaves: [("payments", payments.port), ("search", search.port)], directory: directory
                    ) { base in
                        try await body(
                            World(
                                hub: HTTPTestClient(base: base), hubBase: base, prometheus: HTTPTestClient(base: prometheus.base),
                                payProd: targets[0], payStaging: targets[1], search: targets[2]))
                    }
                    await payments.stop()
                    await search.stop()
                }
            }
        }
    }

    /// `data` of a successful query, or the failure.
    static func query(_ client: HTTPTestClient, _ path: String, _ parameters: [String: String]) async throws -> [String: Any] {
        let query = parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.formEncoded($0.value))" }.joined(separator: "&")
        let (status, body) = try await client.get("\(path)?\(query)")
        guard status == 200, let answer = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
            answer["status"] as? String == "success", let data = answer["data"] as? [String: Any]
        else { throw TestFailure("\(client.base)\(path) \(parameters) answered \(status): \(body)") }
        return data
    }

    static func formEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// A result as comparable values: resultType, and per series its labels and samples (value
    /// strings parsed), in the order given or sorted.
    struct Result: Equatable, CustomStringConvertible {
        var type: String
        var series: [Series]

        struct Series: Equatable, Comparable {
            var labels: [String: String]
            var samples: [[Double]]

            static func < (lhs: Series, rhs: Series) -> Bool { key(lhs.labels) < key(rhs.labels) }
            static func key(_ labels: [String: String]) -> String { labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") }

            /// Values equal to 1e-9 relatively, NaN equal to NaN.
            static func == (lhs: Series, rhs: Series) -> Bool {
                lhs.labels == rhs.labels && lhs.samples.count == rhs.samples.count
                    && zip(lhs.samples, rhs.samples).allSatisfy { left, right in
                        left.count == right.count && zip(left, right).allSatisfy { a, b in
                            a == b || (a.isNaN && b.isNaN) || abs(a - b) <= 1e-9 * max(abs(a), abs(b))
                        }
                    }
            }
        }

        init(_ data: [String: Any], ordered: Bool) throws {
            type = data["resultType"] as? String ?? ""
            func sample(_ pair: Any?) throws -> [Double] {
                guard let pair = pair as? [Any], pair.count == 2, let t = pair[0] as? Double, let text = pair[1] as? String else {
                    throw TestFailure("not a sample: \(String(describing: pair))")
                }
                return [t, Double(text) ?? (text == "+Inf" ? .infinity : text == "-Inf" ? -.infinity : .nan)]
            }
            switch type {
            case "scalar", "string":
                series = [Series(labels: [:], samples: [try sample(data["result"])])]
            default:
                let items = data["result"] as? [[String: Any]] ?? []
                series = try items.map { item in
                    let labels = item["metric"] as? [String: String] ?? [:]
                    if let values = item["values"] as? [Any] { return Series(labels: labels, samples: try values.map(sample)) }
                    return Series(labels: labels, samples: [try sample(item["value"])])
                }
                if !ordered { series.sort() }
            }
        }

        var description: String { "\(type) \(series.map { "\($0.labels) \($0.samples)" })" }
    }

    static let queries: [String] = [
        // Selection and filters.
        "canopy_exceptions_total", #"canopy_exceptions_total{env="prod"}"#, #"canopy_exceptions_total{env!="prod"}"#,
        #"canopy_exceptions_total{class=~"Zero.*"}"#, #"canopy_exceptions_total{class!~"Key.*|Zero.*"}"#, #"canopy_exceptions_total{team=~"pay.*",env=""}"#,
        #"{__name__="canopy_exceptions_total",team="search"}"#, #"canopy_exceptions_total{aggregation_key=~".+"}"#,
        // Aggregations.
        "sum(canopy_exceptions_total)", "sum by (team) (canopy_exceptions_total)", "sum by (env) (canopy_exceptions_total)",
        "sum by (team, env) (canopy_exceptions_total)", "sum without (aggregation_key, class) (canopy_exceptions_total)",
        "count by (team) (canopy_exceptions_total)", "max by (team) (canopy_exceptions_total)", "min by (env) (canopy_exceptions_total)",
        "avg by (env) (canopy_exceptions_total)", "group by (team, env) (canopy_exceptions_total)", "stddev(canopy_exceptions_total)",
        "stdvar by (team) (canopy_exceptions_total)", "topk(2, canopy_exceptions_total)", "bottomk(1, canopy_exceptions_total)",
        "topk by (team) (1, canopy_exceptions_total)", "quantile(0.5, canopy_exceptions_total)", "quantile by (team) (0.9, canopy_exceptions_total)",
        #"count_values("n", canopy_exceptions_total)"#, #"count_values by (team) ("n", canopy_exceptions_total)"#, "count(canopy_exceptions_total)",
        // Comparisons and arithmetic.
        "canopy_exceptions_total > 2", "canopy_exceptions_total > bool 2", "sum by (team) (canopy_exceptions_total) >= 5",
        "canopy_exceptions_total == 5", "canopy_exceptions_total * 2", "-canopy_exceptions_total", "canopy_exceptions_total % 3",
        "2 ^ canopy_exceptions_total", "sum(canopy_exceptions_total) + 1", "1 - canopy_exceptions_total / 10",
        // Vector matching.
        "canopy_exceptions_total / on(team, service, aggregation_key) group_left sum by (team, service, aggregation_key) (canopy_exceptions_total)",
        "sum by (team) (canopy_exceptions_total) / on() group_left sum(canopy_exceptions_total)",
        "sum by (team, env) (canopy_exceptions_total) / ignoring(env) group_left sum by (team) (canopy_exceptions_total)",
        "sum by (team) (canopy_exceptions_total) - on(team) group_right sum by (team, env) (canopy_exceptions_total)",
        #"sum by (aggregation_key) (canopy_exceptions_total{env="prod"}) > on(aggregation_key) sum by (aggregation_key) (canopy_exceptions_total{env="staging"})"#,
        // Set operators.
        #"canopy_exceptions_total{env="prod"} and on(aggregation_key) canopy_exceptions_total{env="staging"}"#,
        #"canopy_exceptions_total{team="search"} or canopy_exceptions_total{env="staging"}"#,
        #"canopy_exceptions_total unless on(team) canopy_exceptions_total{env="staging"}"#,
        // Functions.
        #"label_replace(canopy_exceptions_total, "where", "at-$1", "env", "(.*)")"#,
        #"label_join(sum by (team, env) (canopy_exceptions_total), "team_env", "/", "team", "env")"#,
        #"absent(canopy_exceptions_total{team="nobody"})"#, "absent(canopy_exceptions_total)", #"absent(nonexistent{team="x",env=~"p.*"})"#,
        "clamp(canopy_exceptions_total, 2, 4)", "clamp_max(canopy_exceptions_total, 3)", "clamp_min(canopy_exceptions_total, 4)",
        "sort(sum by (team) (canopy_exceptions_total))", "sort_desc(canopy_exceptions_total)", "abs(-canopy_exceptions_total)",
        "ceil(canopy_exceptions_total / 3)", "floor(canopy_exceptions_total / 3)", "round(canopy_exceptions_total / 3)",
        "round(canopy_exceptions_total / 3, 0.5)", "sqrt(canopy_exceptions_total)", "ln(canopy_exceptions_total)", "exp(canopy_exceptions_total)",
        "scalar(sum(canopy_exceptions_total))", "vector(1)", "time() - time()", "timestamp(vector(1)) - time()",
        "day_of_week(vector(86400 * 3))", "hour(vector(3600 * 5))", "sgn(canopy_exceptions_total - 3)",
        "last_over_time(canopy_exceptions_total[1m])", "max_over_time(canopy_exceptions_total[30s])", "present_over_time(canopy_exceptions_total[10s])",
        "sum by (team) (canopy_exceptions_total) and on(team) (count by (team) (canopy_exceptions_total) > 2)",
    ]

    /// The first words that make a result's order part of the answer.
    static func isOrdered(_ query: String) -> Bool { query.hasPrefix("sort") }

    @Test func theHubAnswersWhatPrometheusAnswersOverTheSameExceptions() async throws {
        try await Self.withWorld { world in
            try await world.payProd.raise(kind: "zero", count: 5)
            try await world.payProd.raise(kind: "missing", count: 3)
            try await world.payStaging.raise(kind: "zero", count: 2)
            try await world.search.raise(kind: "zero", count: 4)
            try await world.search.raise(kind: "http", count: 1)
            func total(_ client: HTTPTestClient) async -> Double? {
                guard let data = try? await Self.query(client, "/api/v1/query", ["query": "sum(canopy_exceptions_total)"]),
                    let result = try? Result(data, ordered: false), let value = result.series.first?.samples.first?.last
                else { return nil }
                return value
            }
            try await expectEventually(timeout: .seconds(30)) { await total(world.hub) == 15 }
            try await expectEventually(timeout: .seconds(30)) { await total(world.prometheus) == 15 }
            let prometheusHasAll = Date().timeIntervalSince1970.rounded(.up)

            // Compared a little later, so that Prometheus's first scrapes with every count are in the past.
            try await Task.sleep(for: .seconds(6))
            let now = Date().timeIntervalSince1970.rounded(.down)
            let time = String(now)
            var disagreements: [String] = []
            for query in Self.queries {
                let ours = try Result(try await Self.query(world.hub, "/api/v1/query", ["query": query, "time": time]), ordered: Self.isOrdered(query))
                let theirs = try Result(try await Self.query(world.prometheus, "/api/v1/query", ["query": query, "time": time]), ordered: Self.isOrdered(query))
                if ours != theirs { disagreements.append("\(query)\n  hub:        \(ours)\n  prometheus: \(theirs)") }
            }
            // Since Prometheus had every count (the hub had them from the minute they were counted in), every second.
            for query in ["sum by (team, env) (canopy_exceptions_total)", "topk(1, canopy_exceptions_total)", "canopy_exceptions_total > bool 3",
                "max_over_time(canopy_exceptions_total[10s])", "sum(canopy_exceptions_total) * 2"] {
                let parameters = ["query": query, "start": String(prometheusHasAll + 1), "end": time, "step": "1"]
                let ours = try Result(try await Self.query(world.hub, "/api/v1/query_range", parameters), ordered: false)
                let theirs = try Result(try await Self.query(world.prometheus, "/api/v1/query_range", parameters), ordered: false)
                if ours != theirs { disagreements.append("range \(query)\n  hub:        \(ours)\n  prometheus: \(theirs)") }
            }
            #expect(disagreements.isEmpty, "\(disagreements.count) of \(Self.queries.count + 5) queries differ:\n\(disagreements.joined(separator: "\n"))")

            try await Self.checkClients(world)
        }
    }

    /// What Grafana's Prometheus data source calls, promtool and prometheus-api-client, with the
    /// counts the clients reported: per team and per env.
    static func checkClients(_ world: World) async throws {
        // Grafana's health check: `1+1` at time 4, by form POST.
        let health = try await world.hub.request(
            "/api/v1/query", method: .POST, body: "query=1%2B1&time=4", headers: ["Content-Type": "application/x-www-form-urlencoded"])
        #expect(health.status == 200 && health.body == #"{"status":"success","data":{"resultType":"scalar","result":[4,"2"]}}"#, "\(health.body)")
        #expect(try await world.hub.get("/api/v1/status/buildinfo").status == 200)
        #expect(try await world.hub.get("/api/v1/labels?start=0&end=\(Int(Date().timeIntervalSince1970))").body.contains(#""env""#))
        #expect(try await world.hub.get("/api/v1/label/env/values").body.contains(#"["prod","staging"]"#))
        // A panel: per env, over the last 10 minutes at 1 m steps, by form POST as Grafana sends it.
        let end = Int(Date().timeIntervalSince1970)
        let panel = try await world.hub.request(
            "/api/v1/query_range", method: .POST,
            body: "query=\(Self.formEncoded("sum by (env) (increase(canopy_exceptions_total[1h]))"))&start=\(end - 600)&end=\(end)&step=60",
            headers: ["Content-Type": "application/x-www-form-urlencoded"])
        #expect(panel.status == 200, "\(panel.body)")
        let series = try Result(try #require(try JSONSerialization.jsonObject(with: Data(panel.body.utf8)) as? [String: Any])["data"] as! [String: Any], ordered: false)
        let last = Dictionary(uniqueKeysWithValues: series.series.map { ($0.labels["env"] ?? "", $0.samples.last?.last ?? -1) })
        #expect(last == ["prod": 13, "staging": 2], "\(series)")

        let teams = try promtool(["query", "instant", world.hubBase, "sum by (team) (increase(canopy_exceptions_total[1h]))"])
        #expect(teams.status == 0, "\(teams.output)")
        #expect(teams.output.contains(#"{team="payments"} => 10 @"#) && teams.output.contains(#"{team="search"} => 5 @"#), "\(teams.output)")
        let range = try promtool([
            "query", "range", "--start=\(end - 60)", "--end=\(end)", "--step=30s", world.hubBase, #"sum(canopy_exceptions_total{env="prod"})"#,
        ])
        #expect(range.status == 0 && range.output.contains("13 @["), "\(range.output)")

        let script = """
            import json, sys
            from prometheus_api_client import PrometheusConnect
            from datetime import datetime, timedelta
            hub = PrometheusConnect(url=sys.argv[1], disable_ssl=True)
            envs = {r["metric"]["env"]: r["value"][1] for r in hub.custom_query("sum by (env) (canopy_exceptions_total)")}
            now = datetime.now()
            ranged = hub.custom_query_range('sum by (team) (canopy_exceptions_total)', start_time=now - timedelta(minutes=2), end_time=now, step="30")
            teams = {r["metric"]["team"]: r["values"][-1][1] for r in ranged}
            current = hub.get_current_metric_value(metric_name="canopy_exceptions_total", label_config={"team": "search"})
            print(json.dumps({"envs": envs, "teams": teams, "search": sorted(r["value"][1] for r in current),
                              "metrics": hub.all_metrics(), "up": hub.check_prometheus_connection()}))
            """
        let (status, output) = try ChildProcess.run("/usr/bin/env", ["python3", "-c", script, world.hubBase])
        #expect(status == 0, "\(output)")
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
        #expect(answer["envs"] as? [String: String] == ["prod": "13", "staging": "2"])
        #expect(answer["teams"] as? [String: String] == ["payments": "10", "search": "5"])
        #expect(answer["search"] as? [String] == ["1", "4"])
        #expect((answer["metrics"] as? [String])?.contains("canopy_exceptions_total") == true)
        #expect(answer["up"] as? Bool == true)
    }

    /// `increase` and `rate` over a window are exactly what the clients reported in it: the hub
    /// counts each minute, so a window that starts on a minute holds that minute's occurrences
    /// and nothing before.
    @Test func increaseIsExactlyWhatClientsReportedInTheWindow() async throws {
        try await Self.withWorld { world in
            try await world.payProd.raise(kind: "zero", count: 3)
            try await world.search.raise(kind: "missing", count: 2)
            func sums(_ query: String, at time: Double? = nil) async throws -> [String: Double] {
                var parameters = ["query": query]
                if let time { parameters["time"] = String(time) }
                let result = try Result(try await Self.query(world.hub, "/api/v1/query", parameters), ordered: false)
                return Dictionary(uniqueKeysWithValues: result.series.map { (Result.Series.key($0.labels), $0.samples.last?.last ?? .nan) })
            }
            try await expectEventually(timeout: .seconds(30)) { (try? await sums("sum(canopy_exceptions_total)")) == ["": 5] }
            // The next minute, then more.
            let minute = (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 + 60
            try await Task.sleep(for: .seconds(minute - Date().timeIntervalSince1970 + 0.5))
            try await world.payProd.raise(kind: "zero", count: 4)
            try await world.payStaging.raise(kind: "zero", count: 6)
            try await expectEventually(timeout: .seconds(30)) { (try? await sums("sum(canopy_exceptions_total)")) == ["": 15] }

            try await Task.sleep(for: .seconds(1))
            let now = (Date().timeIntervalSince1970 * 1000).rounded(.down) / 1000
            // (minute - 1 ms, now]: the minute's counts are at its start, so the window must hold it.
            let window = Int(((now - minute) * 1000).rounded()) + 1
            let byTeamEnv = "sum by (team, env) (increase(canopy_exceptions_total[\(window)ms]))"
            #expect(try await sums(byTeamEnv, at: now) == ["env=prod,team=payments": 4, "env=staging,team=payments": 6, "env=prod,team=search": 0])
            let rates = try await sums("sum by (team) (rate(canopy_exceptions_total[\(window)ms]))", at: now)
            #expect(rates == ["team=payments": 10 / (Double(window) / 1000), "team=search": 0])
            #expect(try await sums("sum by (team) (increase(canopy_exceptions_total[1h]))", at: now) == ["team=payments": 13, "team=search": 2])
            // Before the minute: only the first reports.
            #expect(try await sums("sum by (team) (canopy_exceptions_total)", at: minute - 0.001) == ["team=payments": 3, "team=search": 2])
            #expect(try await sums("sum(canopy_exceptions_total @ \(minute - 0.001))", at: now) == ["": 5])
            #expect(try await sums("sum(increase(canopy_exceptions_total[1h] offset 1h))", at: now) == [:], "nothing existed an hour ago")
            // Per minute, as a graph shows it: the steps' increases add up to the window's.
            let range = try Result(
                try await Self.query(
                    world.hub, "/api/v1/query_range",
                    ["query": "sum(increase(canopy_exceptions_total[1m]))", "start": String(minute - 120), "end": String(minute + 60), "step": "60"]),
                ordered: false)
            let steps = try #require(range.series.first?.samples, "\(range)")
            #expect(steps.first { $0[0] == minute }?[1] == 10, "the minute of the second reports: \(steps)")
            #expect(steps.reduce(0) { $0 + $1[1] } == 15, "every occurrence in exactly one minute: \(steps)")
        }
    }
}
