import CanopyTestSupport
import Foundation
import Testing
@testable import PromQL

/// Our evaluator against the real Prometheus 2.42 (Debian's package) on the same data: for
/// every query below, instant queries at several times and range queries over several ranges
/// and steps must give the same label sets, the same timestamps and the same values (within a
/// relative 1e-9; NaN equals NaN), or the same error message.
///
/// Left out on purpose (Prometheus quirks we do not follow):
/// - `predict_linear(x[r] @ t, d)` in range queries: Prometheus moves the window with the step
///   (the function is "@-unsafe", so its pinned argument is not evaluated once, but its offset
///   was made relative to the query's start); we keep the window at `t`.
/// - `timestamp(x @ t offset o)`: Prometheus ignores the offset there; we apply it.
@Suite(.serialized) struct DifferentialTests {
    /// `$AT` stands for a pinned time in seconds (base + 1h), `$AT2` for base + 1h20m.
    static let queries: [String] = [
        // Selectors.
        "http_requests_total", #"http_requests_total{job="api"}"#, #"http_requests_total{code=~"5.."}"#,
        #"http_requests_total{instance!="10.0.0.1:80", code!~"2.*"}"#, #"{__name__=~"cpu_.*|memory_bytes"}"#,
        #"{job="web"}"#, "cpu_usage offset 10m", "cpu_usage offset -7m", "temperature", "errors_total",
        "cpu_usage @ $AT", "cpu_usage @ $AT offset 5m", "cpu_usage @ start()", "cpu_usage @ end()", "nonexistent",
        "http_requests_total[2m]", "cpu_usage[1m] offset 3m", "temperature[5m] @ $AT", "errors_total[30s]",
        // Literals and scalar arithmetic.
        "1", "-2.5", "1 + 2 * 3 - 4 / 8", "2 ^ 3 ^ 2", "7 % 3", "1 atan2 2", "NaN", "Inf", "-Inf", "1 < bool 2",
        "3 == bool 3", #""a string""#, "(5)", "-(3)",
        // Vector-scalar arithmetic and comparisons.
        "cpu_usage * 100", "100 * cpu_usage", "cpu_usage + 1", "1 - cpu_usage", "cpu_usage / 0", "0 / cpu_usage * 0",
        "memory_bytes / 1024 / 1024", "cpu_usage ^ 2", "2 ^ cpu_usage", "temperature % 3", "-temperature",
        "cpu_usage atan2 0.5", "cpu_usage > 0.5", "0.5 < cpu_usage", "cpu_usage >= 0.5", "cpu_usage != 0.4271",
        "temperature < 0", "temperature <= bool 0", "0 > bool temperature", "cpu_usage == bool cpu_usage",
        "up == 0", "up == bool 1", "temperature > -1 < 3",
        // Vector-vector.
        "cpu_usage + cpu_usage", "cpu_usage - cpu_usage offset 5m", "cpu_usage > cpu_usage offset 5m",
        "cpu_usage > bool cpu_usage offset 5m", "http_requests_total / ignoring(code) group_left http_requests_total{code=\"200\"}",
        #"http_requests_total{code="500"} / ignoring(code) http_requests_total{code="200"}"#,
        #"http_requests_total{code="500"} / on(job, instance) http_requests_total{code="200"}"#,
        "sum by (job) (rate(http_requests_total[5m])) / on(job) group_left sum by (job) (rate(http_requests_total[5m]))",
        "rate(http_requests_total[5m]) / on(job, instance) group_left sum by (job, instance) (rate(http_requests_total[5m]))",
        "sum by (job, instance) (rate(http_requests_total[5m])) / on(job) group_left sum by (job) (rate(http_requests_total[5m]))",
        "sum by (job) (rate(http_requests_total[5m])) * on(job) group_right sum by (job, code) (rate(http_requests_total[5m]))",
        "cpu_usage * on(job) group_left(version) build_info", "build_info * on(job) group_right(version) cpu_usage",
        "cpu_usage * on(job) group_left(version, nonexistent) build_info",
        "cpu_usage * ignoring(instance, env) group_left(version) build_info",
        "memory_bytes / on(instance) group_left cpu_usage{job=\"api\"}",
        "up * on(instance) group_left(env) cpu_usage{job=\"api\"}", "cpu_usage > on(job, instance, env) cpu_usage offset 1m",
        "cpu_usage atan2 cpu_usage offset 1m", "cpu_usage == cpu_usage", "cpu_usage{env=\"prod\"} + on() group_left sum(cpu_usage)",
        // Errors Prometheus reports: duplicate matches.
        "cpu_usage + on(job) cpu_usage", "http_requests_total / ignoring(code) http_requests_total",
        "cpu_usage * on(job) group_left build_info{job=~\".+\"} * on(env) group_left cpu_usage",
        "sum by (job) (cpu_usage) + on(job) group_right cpu_usage * on(job) group_left cpu_usage",
        // Set operators.
        "cpu_usage and cpu_usage > 0.5", "cpu_usage or memory_bytes", "cpu_usage unless cpu_usage > 0.5",
        "cpu_usage and on(job) up", "cpu_usage and ignoring(env, instance) build_info", "cpu_usage unless on(env) cpu_usage{env=\"prod\"}",
        "temperature > 0 or temperature < -2", "up == 0 or vector(0)", "nonexistent or cpu_usage", "cpu_usage and nonexistent",
        "cpu_usage unless nonexistent", "(cpu_usage > 0.5) or (memory_bytes > 2e9) and on(instance) up",
        "errors_total or on(job) http_requests_total", "http_requests_total and on(job, instance) (cpu_usage > 0.45)",
        // Aggregations.
        "sum(cpu_usage)", "sum by (job) (cpu_usage)", "sum without (instance) (cpu_usage)", "sum by (job, env) (cpu_usage)",
        "sum by (nonexistent) (cpu_usage)", "sum by (__name__) ({__name__=~\"cpu_usage|memory_bytes\"})",
        "sum without (job, instance, code) (http_requests_total)", "min(temperature)", "max by (env) (cpu_usage)",
        "avg by (job) (cpu_usage)", "avg(memory_bytes)", "count(cpu_usage)", "count by (env) (cpu_usage)",
        "count without (code) (http_requests_total)", "group by (job) (http_requests_total)", "group(cpu_usage)",
        "stddev(cpu_usage)", "stddev by (job) (cpu_usage)", "stdvar(temperature)", "stdvar without (instance) (cpu_usage)",
        "topk(3, cpu_usage)", "topk by (job) (1, cpu_usage)", "topk(2, rate(http_requests_total[5m]))", "bottomk(2, temperature)",
        "bottomk without (instance) (1, cpu_usage)", "topk(0, cpu_usage)", "topk(100, memory_bytes)",
        "topk(scalar(count(up)), cpu_usage)", "quantile(0.5, cpu_usage)", "quantile by (job) (0.9, cpu_usage)",
        "quantile(0, temperature)", "quantile(1, temperature)", "quantile(1.5, temperature)", "quantile(-1, temperature)",
        "count_values(\"value\", up)", "count_values by (job) (\"n\", round(cpu_usage, 0.1))",
        "count_values without (instance) (\"v\", build_info)", "sum(sum by (job) (cpu_usage))", "max(count by (job) (cpu_usage))",
        "avg(rate(http_requests_total[5m])) by (code)", "sum(rate(http_requests_total[5m]))", "sum by (job) (increase(http_requests_total[10m]))",
        "sum by (code) (delta(http_requests_total[15m]))", "sum by (job) (http_requests_total)", "sum(errors_total)",
        // Range functions.
        "rate(http_requests_total[1m])", "rate(http_requests_total[5m])", "rate(http_requests_total[1h])",
        "irate(http_requests_total[5m])", "increase(http_requests_total[10m])", "increase(errors_total[20m])",
        "delta(cpu_usage[10m])", "delta(temperature[5m])", "idelta(cpu_usage[5m])", "idelta(temperature[1m])",
        "deriv(cpu_usage[10m])", "deriv(memory_bytes[30m])", "predict_linear(cpu_usage[15m], 600)",
        "predict_linear(memory_bytes[30m] offset 10m, 3600)", "resets(http_requests_total[1h])", "resets(cpu_usage[10m])",
        "changes(up[30m])", "changes(cpu_usage[5m])", "holt_winters(cpu_usage[10m], 0.5, 0.5)",
        "holt_winters(memory_bytes[20m], 0.2, 0.7)", "avg_over_time(cpu_usage[10m])", "sum_over_time(cpu_usage[5m])",
        "min_over_time(temperature[20m])", "max_over_time(temperature[20m])", "count_over_time(temperature[10m])",
        "last_over_time(cpu_usage[5m])", "last_over_time(temperature[30s])", "stddev_over_time(cpu_usage[10m])",
        "stdvar_over_time(temperature[15m])", "quantile_over_time(0.9, cpu_usage[10m])", "quantile_over_time(0, temperature[5m])",
        "present_over_time(temperature[1m])", "absent_over_time(temperature[1m])", "absent_over_time(nonexistent[5m])",
        "absent_over_time(nonexistent{job=\"x\", env=~\"a\"}[5m])", "absent_over_time(errors_total{job=\"api\"}[10m])",
        "rate(http_requests_total[5m] offset 10m)", "rate(http_requests_total[5m] @ $AT)", "increase(errors_total[10m] @ $AT2)",
        "rate(http_requests_total[5m] @ $AT offset 10m)", "max_over_time(cpu_usage[5m] @ end())", "rate(cpu_usage[90s])",
        "irate(http_requests_total[15s])", "count_over_time(http_requests_total[15s])",
        // Subqueries.
        "max_over_time(rate(http_requests_total[5m])[30m:1m])", "avg_over_time(cpu_usage[10m:])", "min_over_time(cpu_usage[15m:30s] offset 5m)",
        "sum_over_time(cpu_usage[10m:1m] @ $AT)", "rate(http_requests_total[5m])[20m:2m]", "cpu_usage[5m:1m]",
        "max_over_time(max_over_time(cpu_usage[5m:1m])[20m:5m])", "count_over_time(temperature[30m:1m])",
        "deriv(sum(cpu_usage)[20m:1m])", "quantile_over_time(0.5, sum by (job) (rate(http_requests_total[5m]))[30m:3m])",
        "rate(sum(http_requests_total)[10m:30s])", "absent_over_time(nonexistent[5m:1m])", "last_over_time(cpu_usage[7m:45s])",
        "avg_over_time((cpu_usage > 0.5)[20m:1m])", "max_over_time(cpu_usage @ $AT [10m:1m])",
        // Instant functions.
        "abs(temperature)", "ceil(cpu_usage * 10)", "floor(temperature)", "round(temperature)", "round(cpu_usage, 0.05)",
        "round(temperature, 2)", "exp(cpu_usage)", "ln(memory_bytes)", "log2(memory_bytes)", "log10(memory_bytes)",
        "sqrt(cpu_usage)", "sqrt(temperature)", "sin(temperature)", "cos(temperature)", "tan(cpu_usage)", "asin(cpu_usage)",
        "acos(cpu_usage)", "atan(temperature)", "sinh(cpu_usage)", "cosh(cpu_usage)", "tanh(temperature)", "asinh(temperature)",
        "acosh(cpu_usage + 1)", "atanh(cpu_usage)", "deg(cpu_usage)", "rad(temperature)", "sgn(temperature)", "pi()",
        "clamp(temperature, -1, 2)", "clamp(temperature, 2, -1)", "clamp_min(temperature, 0)", "clamp_max(cpu_usage, 0.5)",
        "sort(cpu_usage)", "sort_desc(temperature)", "sort(rate(http_requests_total[5m]))", "sort_desc(sum by (job) (cpu_usage))",
        "time()", "time() - 3600", "timestamp(cpu_usage)", "timestamp(temperature)", "timestamp(cpu_usage offset 1m)",
        "timestamp(-cpu_usage)", "timestamp(cpu_usage @ $AT)", "vector(1)", "vector(time())", "scalar(sum(cpu_usage))",
        "scalar(cpu_usage)", "scalar(nonexistent)", "cpu_usage * scalar(count(up))", "day_of_week()", "day_of_month()",
        "day_of_year()", "days_in_month()", "hour()", "minute()", "month()", "year()", "hour(timestamp(cpu_usage))",
        "minute(timestamp(temperature))", "day_of_week(vector(1700000000))", "days_in_month(vector(1709251200))",
        "year(vector(-100000000))", "month(vector(1e9))", "absent(nonexistent)", "absent(nonexistent{job=\"x\", code=~\"5..\"})",
        "absent(nonexistent{job=\"x\", job=\"y\"})", "absent(cpu_usage)", "absent(temperature{room=\"garage\"})",
        "absent(sum(nonexistent))",
        #"label_replace(cpu_usage, "host", "$1", "instance", "(.*):.*")"#,
        #"label_replace(cpu_usage, "port", "${2}x$1", "instance", "(.*):(.*)")"#,
        #"label_replace(cpu_usage, "job", "", "job", ".*")"#, #"label_replace(cpu_usage, "new", "x", "nonexistent", "")"#,
        #"label_replace(cpu_usage, "new", "$1", "instance", "no-match")"#,
        #"label_replace(up, "instance", "$1", "instance", "(10)\\.0\\..*")"#,
        #"label_replace(cpu_usage, "a", "$name-$$", "env", "(?P<name>p)rod")"#,
        #"label_join(cpu_usage, "combined", "-", "job", "env", "instance")"#, #"label_join(cpu_usage, "job", "", "nonexistent")"#,
        #"label_join(up, "x", ",")"#,
        "histogram_quantile(0.9, rate(request_duration_seconds_bucket[5m]))",
        "histogram_quantile(0.5, sum by (le) (rate(request_duration_seconds_bucket[10m])))",
        "histogram_quantile(0.99, request_duration_seconds_bucket)", "histogram_quantile(0, request_duration_seconds_bucket)",
        "histogram_quantile(1.2, request_duration_seconds_bucket)", "histogram_quantile(0.5, cpu_usage)",
        "histogram_count(cpu_usage)", "histogram_sum(rate(http_requests_total[5m]))",
        // Combinations.
        "sum by (job) (rate(http_requests_total{code=\"500\"}[5m])) / sum by (job) (rate(http_requests_total[5m]))",
        "topk(1, sum by (job, instance) (rate(http_requests_total[5m])))", "count(cpu_usage > 0.4) by (env)",
        "avg_over_time(temperature[10m]) - temperature", "-rate(http_requests_total[5m]) + 1",
        "max by (job) (cpu_usage) > bool on(job) min by (job) (cpu_usage) * 2", "1 - avg(up)",
        "clamp_max(rate(http_requests_total[5m]), 5) * on(instance) group_left(env) cpu_usage{job=\"api\"}",
        "label_replace(sum by (instance) (cpu_usage), \"ip\", \"$1\", \"instance\", \"([^:]+):.*\")",
        "sort_desc(topk(3, memory_bytes))", "bottomk(1, sort(temperature))",
        // More shapes: merged series, pinned and shifted subqueries, nesting.
        "cpu_usage or cpu_usage offset 10m", "temperature or temperature offset 15m", "absent(nonexistent{job=\"x\"} @ $AT)",
        "max_over_time(rate(http_requests_total[2m])[15m:1m] offset 10m)", "avg_over_time(cpu_usage[30m:7m])",
        "sum_over_time(temperature[1h:90s])", "min_over_time((cpu_usage @ $AT)[10m:1m])", "rate(http_requests_total[5m:])",
        "max_over_time(sum by (job) (rate(http_requests_total[5m] @ $AT2))[10m:1m])", "count_over_time(up[10m:1m] @ $AT offset 5m)",
        "last_over_time(rate(http_requests_total[5m])[10m:2m] @ end())", "histogram_quantile(0.75, sum by (job, le) (rate(request_duration_seconds_bucket[5m])))",
        "histogram_quantile(scalar(max(up)) * 0.5, request_duration_seconds_bucket)", "count_values(\"v\", floor(temperature))",
        "topk(2, temperature) or bottomk(1, temperature)", "quantile_over_time(scalar(min(up)) * 0.5, cpu_usage[10m])",
        "predict_linear(temperature[10m], scalar(count(cpu_usage)) * 100)", "vector(scalar(sum(up)))", "timestamp(timestamp(cpu_usage))",
        "sort(-temperature)", "sum by (room) (temperature) * -1", "cpu_usage > bool 0.5 == bool 1", "(cpu_usage > 0.5) + 0",
        "http_requests_total % 7 == 0", "sum(http_requests_total) by (job) / ignoring(job) group_left sum(http_requests_total)",
        "label_join(label_replace(cpu_usage, \"a\", \"$1\", \"job\", \"(.)..\"), \"b\", \"/\", \"a\", \"env\")",
        "increase(http_requests_total[3m] offset 1h)", "resets(http_requests_total[2h])", "delta(errors_total[1h])",
        "stddev_over_time(http_requests_total[20m])", "changes(build_info[1h])", "absent_over_time(up[1m] @ $AT)",
        "group without (instance) (cpu_usage)", "stddev by (env) (memory_bytes or cpu_usage)", "avg without () (temperature)",
        // Signatures shared by series that do not overlap in time: errors only where they do.
        "cpu_usage * on(env) group_left errors_total", "errors_total + on(env) group_right cpu_usage",
        "errors_total / on(env) sum by (env) (errors_total)", "sum by (env) (errors_total) - on(env) errors_total",
        // Execution errors.
        #"label_replace(cpu_usage, "1bad", "x", "job", ".*")"#, #"label_replace(cpu_usage, "x", "x", "job", "(")"#,
        #"label_join(cpu_usage, "x", "-", "bad-name")"#, #"count_values("bad-label", up)"#, "holt_winters(cpu_usage[10m], 1.5, 0.5)",
        "holt_winters(cpu_usage[10m], 0.5, 0)", "topk(1e30, cpu_usage)", "label_replace(cpu_usage, \"instance\", \"same\", \"instance\", \".*\")",
        "abs({__name__=~\"cpu_usage|memory_bytes\", job=\"api\", instance=\"10.0.0.1:80\"}) or vector(1)",
        "rate({__name__=~\"http_requests_total|errors_total\", job=\"api\"}[5m])",
        "sum by (job) (cpu_usage) + sum by (job) (cpu_usage) * on(job) group_left(env) cpu_usage",
    ]

    @Test func agreesWithPrometheus() async throws {
        // Whole hours three hours ago, so that Prometheus's retention keeps the blocks.
        let hour: Timestamp = 3_600_000
        let now = Timestamp(Date().timeIntervalSince1970 * 1000)
        let base = now / hour * hour - 3 * hour
        let data = DifferentialData(base: base)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("promql-diff-\(UUID().uuidString)")
        let tsdb = directory.appendingPathComponent("data").path
        try FileManager.default.createDirectory(atPath: tsdb, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try PrometheusServer.createBlocks(openMetrics: data.openMetrics, in: tsdb)
        let prometheus = try await PrometheusServer.start(dataDirectory: tsdb)
        defer { prometheus.stop() }
        let client = HTTPTestClient(base: prometheus.base)
        let source = MemorySeriesSource(data.series)
        let engine = QueryEngine()
        // The same evaluator without its series-by-series shortcuts must agree too.
        var stepByStep = QueryEngine()
        stepByStep.usesFastPaths = false

        // First, the data itself: Prometheus must hold exactly our samples.
        let everything = "{__name__=~\".+\"}[3h]"
        let loaded = try await Self.prometheus(client, everything, instantAt: base + 2 * hour + 60_000)
        let ours = try await Self.ours(engine, everything, instantAt: base + 2 * hour + 60_000, source)
        #expect(Self.difference(ours, loaded, ordered: false) == nil, "Prometheus did not load the data as written")
        #expect(data.series.count == 41)

        let instantTimes = [minutes(30), minutes(61) + 17_000, minutes(95) + 500, minutes(122), minutes(131)].map { base + $0 }
        let ranges: [(start: Timestamp, end: Timestamp, step: Timestamp)] = [
            (base + minutes(10), base + minutes(110), 60_000),
            (base - minutes(10), base + minutes(130), 7 * 60_000),
            (base + minutes(47) + 13_000, base + minutes(73), 17_000),
        ]
        var failures: [String] = []
        var comparisons = 0, nonEmpty = 0, errors = 0
        for template in Self.queries {
            let query = template
                .replacingOccurrences(of: "$AT2", with: String((base + minutes(80)) / 1000))
                .replacingOccurrences(of: "$AT", with: String((base + hour) / 1000))
            let expr: Expr
            do {
                expr = try PromQLParser.parse(query)
            } catch {
                Issue.record("\(query) does not parse: \(error)")
                continue
            }
            let type = expr.type
            let ordered = QueryEngine.keepsOrder(expr)
            var cases: [(String, Answer, Answer)] = []
            for time in instantTimes {
                let theirs = try await Self.prometheus(client, query, instantAt: time)
                let what = "instant at base+\((time - base) / 1000)s"
                cases.append((what, try await Self.ours(engine, query, instantAt: time, source), theirs))
                cases.append((what + " step by step", try await Self.ours(stepByStep, query, instantAt: time, source), theirs))
            }
            if type == .scalar || type == .instantVector {
                for range in ranges {
                    let theirs = try await Self.prometheus(client, query, range: range)
                    let what = "range base+\((range.start - base) / 1000)s..base+\((range.end - base) / 1000)s step \(range.step / 1000)s"
                    cases.append((what, try await Self.ours(engine, query, range: range, source), theirs))
                    cases.append((what + " step by step", try await Self.ours(stepByStep, query, range: range, source), theirs))
                }
            }
            for (what, ourAnswer, theirAnswer) in cases {
                comparisons += 1
                if case .value(let value) = theirAnswer, !render(value).isEmpty { nonEmpty += 1 }
                if case .error = theirAnswer { errors += 1 }
                if let difference = Self.difference(ourAnswer, theirAnswer, ordered: ordered && what.hasPrefix("instant")) {
                    failures.append("\(query) (\(what)): \(difference)")
                }
            }
        }
        print("DifferentialTests: \(Self.queries.count) queries, \(comparisons) comparisons, \(nonEmpty) non-empty, \(errors) errors, \(failures.count) differences")
        #expect(Self.queries.count >= 200)
        #expect(comparisons > 5_000)
        // The comparisons must mostly be about something: non-empty answers, and some errors.
        #expect(nonEmpty > comparisons * 3 / 4, "only \(nonEmpty) of \(comparisons) answers were non-empty")
        #expect(errors > 60)
        let report = "\(failures.count) of \(comparisons) comparisons differ:\n" + failures.prefix(60).joined(separator: "\n")
        #expect(failures.isEmpty, "\(report)")
    }

    /// A value or an error message.
    enum Answer {
        case value(QueryValue)
        case error(String)
    }

    static func ours(_ engine: QueryEngine, _ query: String, instantAt time: Timestamp, _ source: MemorySeriesSource) async throws -> Answer {
        do {
            return .value(try await engine.instant(PromQLParser.parse(query), at: time, source: source))
        } catch let error as QueryError {
            return .error(error.message)
        }
    }

    static func ours(
        _ engine: QueryEngine, _ query: String, range: (start: Timestamp, end: Timestamp, step: Timestamp), _ source: MemorySeriesSource
    ) async throws -> Answer {
        do {
            return .value(try await engine.range(
                PromQLParser.parse(query), start: range.start, end: range.end, step: range.step, source: source))
        } catch let error as QueryError {
            return .error(error.message)
        }
    }

    static func prometheus(_ client: HTTPTestClient, _ query: String, instantAt time: Timestamp) async throws -> Answer {
        try await ask(client, "/api/v1/query?query=\(encoded(query))&time=\(seconds(time))")
    }

    static func prometheus(_ client: HTTPTestClient, _ query: String, range: (start: Timestamp, end: Timestamp, step: Timestamp)) async throws -> Answer {
        try await ask(
            client,
            "/api/v1/query_range?query=\(encoded(query))&start=\(seconds(range.start))&end=\(seconds(range.end))&step=\(seconds(range.step))")
    }

    private static func seconds(_ time: Timestamp) -> String { String(format: "%.3f", Double(time) / 1000) }

    private static func encoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }

    /// Prometheus's JSON answer as one of our values.
    private static func ask(_ client: HTTPTestClient, _ path: String) async throws -> Answer {
        // Uncompressed: the shared HTTP client refuses bodies that decompress too well.
        let (_, body) = try await client.request(path, method: .GET, headers: ["Accept-Encoding": "identity"])
        guard let object = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else {
            throw TestFailure("not JSON: \(body)")
        }
        if object["status"] as? String == "error" { return .error(object["error"] as? String ?? body) }
        guard let data = object["data"] as? [String: Any], let type = data["resultType"] as? String else {
            throw TestFailure("no data: \(body)")
        }
        func sample(_ pair: Any?) throws -> Sample {
            guard let pair = pair as? [Any], pair.count == 2, let time = pair[0] as? Double, let text = pair[1] as? String,
                let value = parseGoFloat(text)
            else { throw TestFailure("bad sample in \(body)") }
            return Sample(t: Timestamp((time * 1000).rounded()), v: value)
        }
        func labels(_ metric: Any?) -> Labels {
            Labels(((metric as? [String: String]) ?? [:]).map { ($0.key, $0.value) })
        }
        switch type {
        case "scalar":
            return .value(.scalar(try sample(data["result"])))
        case "string":
            guard let pair = data["result"] as? [Any], pair.count == 2, let time = pair[0] as? Double, let text = pair[1] as? String
            else { throw TestFailure("bad string in \(body)") }
            return .value(.string(t: Timestamp((time * 1000).rounded()), value: text))
        case "vector":
            var elements: [VectorElement] = []
            for item in data["result"] as? [[String: Any]] ?? [] {
                elements.append(VectorElement(labels: labels(item["metric"]), sample: try sample(item["value"])))
            }
            return .value(.vector(elements))
        default:
            var series: [SeriesValues] = []
            for item in data["result"] as? [[String: Any]] ?? [] {
                var samples: [Sample] = []
                for pair in item["values"] as? [Any] ?? [] { samples.append(try sample(pair)) }
                series.append(SeriesValues(labels: labels(item["metric"]), samples: samples))
            }
            return .value(.matrix(series))
        }
    }

    /// Nil when the answers agree, else what differs.
    static func difference(_ ours: Answer, _ theirs: Answer, ordered: Bool) -> String? {
        switch (ours, theirs) {
        case (.error(let a), .error(let b)):
            return a == b ? nil : "error \(GoText.quote(a)), Prometheus: \(GoText.quote(b))"
        case (.error(let a), .value(let b)):
            return "error \(GoText.quote(a)), Prometheus: \(render(b).prefix(5))"
        case (.value(let a), .error(let b)):
            return "\(render(a).prefix(5)), Prometheus: error \(GoText.quote(b))"
        case (.value(let a), .value(let b)):
            return difference(a, b, ordered: ordered)
        }
    }

    private static func difference(_ ours: QueryValue, _ theirs: QueryValue, ordered: Bool) -> String? {
        switch (ours, theirs) {
        case (.scalar(let a), .scalar(let b)):
            return a.t == b.t && close(a.v, b.v) ? nil : "scalar \(a), Prometheus: \(b)"
        case (.string(let t1, let a), .string(let t2, let b)):
            return t1 == t2 && a == b ? nil : "string \(a), Prometheus: \(b)"
        case (.vector(let a), .vector(let b)):
            let mine = ordered ? a : a.sorted { $0.labels < $1.labels }
            var others = ordered ? b : b.sorted { $0.labels < $1.labels }
            if ordered { others = reorderTies(others, like: mine) }
            guard mine.count == others.count else { return "\(mine.count) elements, Prometheus: \(others.count): \(describe(mine)) vs \(describe(others))" }
            for (x, y) in zip(mine, others) where x.labels != y.labels || x.sample.t != y.sample.t || !close(x.sample.v, y.sample.v) {
                return "\(x.labels) \(x.sample.v)@\(x.sample.t), Prometheus: \(y.labels) \(y.sample.v)@\(y.sample.t)"
            }
            return nil
        case (.matrix(let a), .matrix(let b)):
            let mine = a.sorted { $0.labels < $1.labels }, others = b.sorted { $0.labels < $1.labels }
            guard mine.count == others.count else {
                return "\(mine.count) series, Prometheus: \(others.count): \(mine.map(\.labels).prefix(6)) vs \(others.map(\.labels).prefix(6))"
            }
            for (x, y) in zip(mine, others) {
                if x.labels != y.labels { return "series \(x.labels), Prometheus: \(y.labels)" }
                if x.samples.count != y.samples.count {
                    return "\(x.labels): \(x.samples.count) samples, Prometheus: \(y.samples.count) (first \(x.samples.first.map { "\($0)" } ?? "-") vs \(y.samples.first.map { "\($0)" } ?? "-"))"
                }
                for (p, q) in zip(x.samples, y.samples) where p.t != q.t || !close(p.v, q.v) {
                    return "\(x.labels): \(p.v)@\(p.t), Prometheus: \(q.v)@\(q.t)"
                }
            }
            return nil
        default:
            return "\(ours.resultType), Prometheus: \(theirs.resultType)"
        }
    }

    /// Elements with equal values may come in any order (Go's sort is not stable): Prometheus's
    /// run of equal values is put in our order.
    private static func reorderTies(_ theirs: [VectorElement], like ours: [VectorElement]) -> [VectorElement] {
        guard theirs.count == ours.count else { return theirs }
        var result = theirs
        var start = 0
        while start < result.count {
            var end = start + 1
            while end < result.count, result[end].sample.v == result[start].sample.v { end += 1 }
            let run = result[start..<end]
            let mine = ours[start..<end]
            if Set(run.map(\.labels)) == Set(mine.map(\.labels)) {
                result.replaceSubrange(start..<end, with: mine.map { element in run.first { $0.labels == element.labels } ?? element })
            }
            start = end
        }
        return result
    }

    private static func describe(_ elements: [VectorElement]) -> String {
        elements.prefix(4).map { "\($0.labels) \($0.sample.v)" }.joined(separator: ", ")
    }

    static func close(_ a: Double, _ b: Double) -> Bool {
        if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
        if a.isInfinite || b.isInfinite { return a == b }
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b)) + 1e-12
    }
}
