import CanopyTestSupport
import Foundation
import PromQL
import Testing

@testable import Hub

/// `/api/v1/query` and `query_range` on bad input and over their limits: each a clear error in
/// Prometheus's shape and status, and the next query answered.
@Suite struct HubQueryAPITests {
    static func withHub(query: QuerySettings, _ body: (HTTPTestClient) async throws -> Void) async throws {
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            let prod = FakeTarget()
            let staging = FakeTarget()
            prod.report("card declined", total: 5)
            staging.report("card declined", total: 2)
            try await withServices([prod.makeApplication(), staging.makeApplication()]) {
                try await withTemporaryDirectory { directory in
                    let leaf = try HubEndToEndTests.Leaf(
                        team: "payments", service: "checkout", targets: [await prod.address(), await staging.address()],
                        labels: [["env": "prod"], ["env": "staging"]], directory: directory)
                    try await leaf.start()
                    try await withInProcessHub(
                        database: database, cluster: cluster, leaves: [("payments", leaf.port)], directory: directory, query: query
                    ) { base in
                        let hub = HTTPTestClient(base: base)
                        try await expectEventually(timeout: .seconds(20)) {
                            (try? await hub.get("/api/v1/query?query=sum(canopy_exceptions_total)").body)?.contains(#""7"]"#) == true
                        }
                        try await body(hub)
                    }
                    await leaf.stop()
                }
            }
        }
    }

    /// The status, `errorType` and `error` of an answer.
    static func failure(_ hub: HTTPTestClient, _ path: String) async throws -> (status: Int, type: String, error: String) {
        let (status, body) = try await hub.get(path)
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], "\(body)")
        #expect(answer["status"] as? String == (status == 200 ? "success" : "error"), "\(body)")
        return (status, answer["errorType"] as? String ?? "", answer["error"] as? String ?? "")
    }

    @Test func badQueriesAndLimitsAreClearErrors() async throws {
        var settings = QuerySettings()
        settings.limits.maxSamples = 50
        try await Self.withHub(query: settings) { hub in
            let syntax = try await Self.failure(hub, "/api/v1/query?query=sum(canopy_exceptions_total")
            #expect(syntax.status == 400 && syntax.type == "bad_data")
            #expect(syntax.error.contains("1:28: parse error: unclosed left parenthesis"), "\(syntax.error)")
            let missing = try await Self.failure(hub, "/api/v1/query")
            #expect(missing.status == 400 && missing.type == "bad_data")
            let time = try await Self.failure(hub, "/api/v1/query?query=1&time=yesterday")
            #expect(time.status == 400 && time.error.contains(#"invalid parameter "time""#))

            let now = Int(Date().timeIntervalSince1970)
            let step = try await Self.failure(hub, "/api/v1/query_range?query=1&start=\(now - 60)&end=\(now)&step=0")
            #expect(step.status == 400 && step.error.contains("zero or negative query resolution step"), "\(step.error)")
            let points = try await Self.failure(hub, "/api/v1/query_range?query=1&start=0&end=\(now)&step=1")
            #expect(points.status == 400 && points.error.contains("exceeded maximum resolution of 11,000 points per timeseries"), "\(points.error)")
            let matrix = try await Self.failure(hub, "/api/v1/query_range?query=canopy_exceptions_total%5B5m%5D&start=\(now - 60)&end=\(now)&step=15")
            #expect(matrix.status == 400 && matrix.error.contains("invalid expression type \"range vector\""), "\(matrix.error)")
            let order = try await Self.failure(hub, "/api/v1/query_range?query=1&start=\(now)&end=\(now - 60)&step=15")
            #expect(order.status == 400 && order.error.contains("end timestamp must not be before start time"))

            // Execution errors: 422, with Prometheus's message.
            let duplicate = try await Self.failure(hub, "/api/v1/query?query=canopy_exceptions_total%20%2B%20on(team)%20canopy_exceptions_total")
            #expect(duplicate.status == 422 && duplicate.type == "execution", "\(duplicate)")
            #expect(duplicate.error.contains("many-to-many matching not allowed") || duplicate.error.contains("duplicate series"), "\(duplicate.error)")
            // 3,601 steps of a series, over the limit of 50.
            let samples = try await Self.failure(hub, "/api/v1/query_range?query=vector(1)&start=\(now - 3600)&end=\(now)&step=1")
            #expect(samples.status == 422 && samples.error.contains("too many samples"), "\(samples)")
            // The time limit: a timeout of 0 ends before the database answers.
            let timeout = try await Self.failure(hub, "/api/v1/query?query=sum(canopy_exceptions_total)&timeout=0s")
            #expect(timeout.status == 503 && timeout.type == "timeout", "\(timeout)")
            let badTimeout = try await Self.failure(hub, "/api/v1/query?query=1&timeout=soon")
            #expect(badTimeout.status == 400 && badTimeout.error.contains(#"invalid parameter "timeout""#))

            // And the next query is answered, in every result type.
            #expect(try await hub.get("/api/v1/query?query=%22hello%22&time=10").body == #"{"status":"success","data":{"resultType":"string","result":[10,"hello"]}}"#)
            #expect(try await hub.get("/api/v1/query?query=0.1%2B0.2&time=1.5").body == #"{"status":"success","data":{"resultType":"scalar","result":[1.5,"0.30000000000000004"]}}"#)
            let vector = try await hub.get("/api/v1/query?query=sum%20by%20(env)%20(canopy_exceptions_total)&time=\(now)")
            #expect(vector.body == #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"env":"prod"},"value":[\#(now),"5"]},{"metric":{"env":"staging"},"value":[\#(now),"2"]}]}}"#)
        }
    }

    /// `sum by` over the counters is summed in SQL; the same sum computed by the evaluator from
    /// every series must be equal, for every kind of selector.
    @Test func sumsInSQLEqualSumsOfTheSeries() async throws {
        try await Self.withHub(query: QuerySettings()) { hub in
            let now = Int(Date().timeIntervalSince1970)
            for selector in [
                "canopy_exceptions_total", #"canopy_exceptions_total{env="prod"}"#, #"canopy_exceptions_total{env=~"prod|staging"}"#,
                #"canopy_exceptions_total{env=~"p.*"}"#, #"canopy_exceptions_total{team!="search",class=~"TestError"}"#, #"{__name__=~"canopy_exc.*"}"#,
            ] {
                for (pushed, evaluated) in [
                    ("sum by (env) (\(selector))", "sum by (env) (\(selector) + 0)"),
                    ("sum(increase(\(selector)[1h]))", "sum(increase(\(selector)[1h]) + 0)"),
                    ("sum by (team, aggregation_key) (rate(\(selector)[5m]))", "sum by (team, aggregation_key) (rate(\(selector)[5m]) + 0)"),
                    // A day: the whole hours from the hourly rollup.
                    ("sum by (team, severity) (delta(\(selector)[1d]))", "sum by (team, severity) (delta(\(selector)[1d]) + 0)"),
                    ("sum by (team) (increase(\(selector)[3h] offset 1m))", "sum by (team) (increase(\(selector)[3h] offset 1m) + 0)"),
                    // One key per group, summed without GROUP BY.
                    ("sum by (team, service, aggregation_key, class) (increase(\(selector)[1h]))",
                     "sum by (team, service, aggregation_key, class) (increase(\(selector)[1h]) + 0)"),
                ] {
                    for path in ["/api/v1/query?time=\(now)&query=", "/api/v1/query_range?start=\(now - 3600)&end=\(now)&step=300&query="] {
                        let a = try await hub.get(path + HubQueryTests.formEncoded(pushed))
                        let b = try await hub.get(path + HubQueryTests.formEncoded(evaluated))
                        #expect(a.status == 200 && a.body == b.body, "\(pushed) vs \(evaluated):\n\(a.body)\n\(b.body)")
                    }
                }
            }
        }
    }

    /// The graph page runs real queries: a table of the instant result and a chart of the range.
    @Test func theGraphPageShowsRealResults() async throws {
        try await Self.withHub(query: QuerySettings()) { hub in
            let query = HubQueryTests.formEncoded("sum by (env) (canopy_exceptions_total)")
            let table = try await hub.get("/graph?tab=table&expr=\(query)")
            #expect(table.status == 200)
            #expect(table.body.contains("query-result") && table.body.contains("prod") && table.body.contains("staging"), "\(table.body)")
            #expect(table.body.contains(">5<") && table.body.contains(">2<"), "the values, as integers")
            let graph = try await hub.get("/graph?tab=graph&range=1h&expr=\(query)")
            #expect(graph.status == 200 && graph.body.contains("<svg"))
            #expect(graph.body.components(separatedBy: "class=\"legend-entry\"").count - 1 == 2, "one legend entry per env")
            #expect(graph.body.contains("env=&quot;prod&quot;") || graph.body.contains(#"env="prod""#))
            let failing = try await hub.get("/graph?tab=table&expr=" + HubQueryTests.formEncoded("canopy_exceptions_total + on(team) canopy_exceptions_total"))
            #expect(failing.status == 200 && failing.body.contains("many-to-many"), "the execution error is shown")
        }
    }
}
