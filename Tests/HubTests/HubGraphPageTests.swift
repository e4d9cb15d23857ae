import CanopyTestSupport
import Foundation
import PromQL
import Shared
import Testing

@testable import Hub

/// The graph page without an evaluator: its URL read and checked, answers drawn from synthetic
/// values, its errors, the query runner's refusals, and the links other pages make into it.
/// `HubGraphRouteTests` runs it in a hub; `HubWebTests` looks at it in Chromium.
@Suite struct HubGraphPageTests {
    static let maxSteps = QueryLimits.default.maxSteps
    static let now = Date(timeIntervalSince1970: 1_746_280_800)  // 2025-05-03 14:00:00 UTC
    static let hostile = #"<script>window.__pwned=1</script>" & 'quotes' \ done"#

    static func parameters(_ query: String) throws -> GraphPage.Parameters {
        GraphPage.Parameters(try PercentDecoding.QueryItems(query[...]).items, maxSteps: maxSteps)
    }

    static func page(_ parameters: GraphPage.Parameters, _ outcome: GraphPage.Outcome) throws -> String {
        let templates = try WebTemplates(pages: HubPageTemplates.all)
        return try templates.page(HubPages.chrome("Graph", path: "/graph"), template: "hubGraph", GraphPage.view(parameters, outcome, maxSteps: maxSteps))
    }

    /// `count` series of a counter over the last hour, a point a minute, with long and hostile labels.
    static func matrix(_ count: Int, end: Date = now) -> [SeriesValues] {
        let last = QueryTime.timestamp(end)
        return (0..<count).map { (index: Int) -> SeriesValues in
            let pairs: [(String, String)] = [
                ("aggregation_key", "card declined \(index) " + hostile), ("env", index % 2 == 0 ? "prod" : "staging"), ("team", "payments"),
            ]
            let samples: [Sample] = (0...60).map { (minute: Int) -> Sample in
                Sample(t: last - Timestamp(60 - minute) * 60_000, v: Double(minute * (index + 1)))
            }
            return SeriesValues(labels: PromQL.Labels(pairs), samples: samples)
        }
    }

    // MARK: The URL

    @Test func defaultsAreATableOfNowAndAnHourOfGraph() throws {
        let empty = try Self.parameters("")
        #expect(empty.expr == "" && empty.tab == .table && empty.problems.isEmpty)
        #expect(empty.time == nil && empty.end == nil && empty.step == nil)
        #expect(empty.range == 3_600_000 && empty.rangeText == "1h")
        let graph = try Self.parameters("expr=sum+by+(team)+(up)&tab=graph&range=1d&end=2025-05-03T14:00:00Z")
        #expect(graph.expr == "sum by (team) (up)")
        #expect(graph.tab == .graph && graph.range == 86_400_000 && graph.end == Self.now)
        #expect(graph.effectiveStep(maxSteps: Self.maxSteps) == 600_000)
        #expect(try Self.parameters("expr=up&time=1746280800").time == Self.now)
        // The expression is kept as typed, line breaks and all.
        #expect(try Self.parameters("expr=sum(%0D%0A++up)").expr == "sum(\r\n  up)")
        #expect(try Self.parameters("tab=graph&range=90&step=1m30s").range == 90_000)
        #expect(try Self.parameters("tab=graph&step=1m30s").step == 90_000)
        #expect(try Self.parameters("tab=graph&step=15").step == 15_000)
        #expect(try Self.parameters("tab=graph&step=0.5").step == 500)
    }

    @Test func theStepIsChosenLikePrometheusButRound() throws {
        func step(_ range: String, maxSteps: Int = Self.maxSteps) throws -> String {
            PromDuration(milliseconds: GraphPage.defaultStep(range: try PromDuration.parse(range).milliseconds, maxSteps: maxSteps)).description
        }
        // range / 250, rounded up to a round step, at least a second.
        #expect(try step("10s") == "1s")
        #expect(try step("5m") == "2s")
        #expect(try step("1h") == "15s")
        #expect(try step("6h") == "2m")
        #expect(try step("1d") == "10m")
        #expect(try step("7d") == "1h")
        #expect(try step("30d") == "3h")
        // Past a day per step there is no round step: whole seconds of range / 250.
        #expect(try step("1y") == "1d11h2m24s")
        // Never the maximum number of points or more.
        #expect(try step("1d", maxSteps: 100) == "14m25s")
        #expect(GraphPage.defaultStep(range: 86_400_000, maxSteps: 100) == 865_000)
        for range in ["1s", "5m", "1h", "1d", "30d", "1y", "10y"] {
            let milliseconds = try PromDuration.parse(range).milliseconds
            let chosen = GraphPage.defaultStep(range: milliseconds, maxSteps: Self.maxSteps)
            #expect(milliseconds / chosen < Self.maxSteps, "\(range)")
            #expect(chosen >= 1000 && chosen % 1000 == 0, "\(range)")
        }
    }

    @Test func badParametersAreNamedAndStopTheQuery() throws {
        func problems(_ query: String) throws -> [String] { try Self.parameters(query).problems }
        #expect(try problems("expr=up&tab=graph&step=0") == [
            #"invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer"#
        ])
        #expect(try problems("expr=up&tab=graph&range=30d&step=1ms") == [
            #"invalid parameter "step": a step of 1ms over 30d makes 2,592,000,001 points per series, more than the 11,000 allowed: use a step of at least 3m56s"#
        ])
        #expect(try problems("expr=up&tab=graph&range=30d&step=3m56s") == [])
        #expect(try problems("expr=up&tab=graph&step=soon") == [#"invalid parameter "step": cannot parse "soon" to a valid duration"#])
        #expect(try problems("expr=up&tab=graph&range=forever") == [#"invalid parameter "range": cannot parse "forever" to a valid duration"#])
        #expect(try problems("expr=up&tab=graph&range=0s") == [#"invalid parameter "range": the range must be positive, such as 1h"#])
        #expect(try problems("expr=up&tab=graph&end=tomorrow") == [#"invalid parameter "end": cannot parse "tomorrow" to a valid timestamp"#])
        #expect(try problems("expr=up&time=yesterday") == [#"invalid parameter "time": cannot parse "yesterday" to a valid timestamp"#])
        #expect(try problems("expr=up&tab=sideways") == [#"invalid parameter "tab": "sideways" is neither table nor graph"#])
        // Only the open tab's parameters count: the table has no step, the graph no time.
        #expect(try problems("expr=up&tab=table&step=0&range=x") == [])
        #expect(try problems("expr=up&tab=graph&time=yesterday") == [])
        // A refused parameter keeps its text for the form.
        let kept = try Self.parameters("expr=up&tab=graph&step=soon&range=forever")
        #expect(kept.stepText == "soon" && kept.rangeText == "forever")
    }

    // MARK: Errors

    @Test func parseErrorsPointAtTheirPlace() throws {
        func failure(_ query: String) throws -> GraphPage.Failure {
            do {
                _ = try PromQLParser.parse(query)
            } catch {
                return GraphPage.parseFailure(error, in: query)
            }
            throw TestFailure("\(query) parsed")
        }
        let one = try failure("up{env=}")
        #expect(one.title == "Parse error:")
        #expect(one.message.hasPrefix("1:8: parse error: "), "\(one.message)")
        #expect(one.pointer == GraphPage.Pointer(line: "up{env=}", caret: "       ^"))
        // On the line at fault, the caret under the character (not the byte) of the column.
        let multi = try failure("sum(\n\tx{a=\"läuft\"} +\n)")
        #expect(multi.message.hasPrefix("3:1: parse error"), "\(multi.message)")
        #expect(multi.pointer == GraphPage.Pointer(line: ")", caret: "^"))
        // Bytes to characters: `ä` is two bytes, one character; a tab stays a tab, so the caret lines up.
        let wide = try failure("\tx{a=\"ä\"} +* 1")
        #expect(wide.message.hasPrefix("1:13: parse error"), "\(wide.message)")
        #expect(wide.pointer == GraphPage.Pointer(line: "\tx{a=\"ä\"} +* 1", caret: "\t          ^"))
    }

    @Test func everyFailureHasATitle() {
        let timeout = GraphPage.failure(QueryRunner.Refusal.timedOut, timeout: .seconds(120))
        #expect(timeout.title == "Timed out:")
        #expect(timeout.message == "query timed out in expression evaluation (the hub stops queries after 2 min)")
        #expect(GraphPage.failure(QueryError(.execution, "vector cannot contain metrics with the same labelset"), timeout: .seconds(1)).title == "Execution error:")
        #expect(GraphPage.failure(QueryError(.limit, "query processing would load too many samples"), timeout: .seconds(1)).title == "Over a limit:")
        #expect(GraphPage.failure(QueryError(.canceled, "canceled"), timeout: .seconds(1)).title == "Canceled:")
        #expect(GraphPage.failure(QueryError(.source, "the database failed: x"), timeout: .seconds(1)).message == "the database failed: x")
        #expect(GraphPage.failure(ExceptionCounters.TooManySeries(limit: 5), timeout: .seconds(1)).message.contains("more than 5 series"))
        #expect(GraphPage.failure(QueryRunner.Refusal(.badData, "no"), timeout: .seconds(1)) == GraphPage.Failure(title: "Refused:", message: "no"))
    }

    /// What the API and the page refuse alike before evaluating, with Prometheus's messages.
    @Test func theRunnerRefusesWhatPrometheusRefuses() throws {
        let up = try PromQLParser.parse("up")
        func refusal(_ expr: Expr, _ start: Timestamp, _ end: Timestamp, _ step: Timestamp) -> String? {
            do {
                try QueryRunner.checkRange(expr, start: start, end: end, step: step, maxSteps: 11_000)
                return nil
            } catch {
                return error.message
            }
        }
        #expect(refusal(up, 0, 3_600_000, 15_000) == nil)
        #expect(refusal(up, 10, 0, 15_000) == #"invalid parameter "end": end timestamp must not be before start time"#)
        #expect(refusal(up, 0, 10, 0)?.hasPrefix(#"invalid parameter "step": zero or negative"#) == true)
        #expect(refusal(up, 0, 11_000_000, 1000) == "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
        #expect(refusal(up, 0, 10_999_000, 1000) == nil)
        #expect(refusal(try PromQLParser.parse("up[5m]"), 0, 10, 1) == #"invalid expression type "range vector" for range query, must be Scalar or instant Vector"#)
        #expect(refusal(try PromQLParser.parse(#""text""#), 0, 10, 1)?.contains(#""string""#) == true)
        #expect(refusal(try PromQLParser.parse("1 + 1"), 0, 10, 1) == nil)

        let runner = QueryRunner(source: EmptySource(), settings: QuerySettings(timeout: .seconds(30)))
        #expect(runner.timeout(asked: nil) == .seconds(30))
        #expect(runner.timeout(asked: .seconds(5)) == .seconds(5))
        #expect(runner.timeout(asked: .seconds(300)) == .seconds(30))
    }

    struct EmptySource: SeriesSource {
        func select(_ request: SelectRequest) async throws -> [SourceSeries] { [] }
    }

    /// What the page refuses is refused before anything is evaluated (the evaluator is not
    /// reached: these outcomes come back without it).
    @Test func refusalsComeBackWithoutEvaluating() async throws {
        let runner = QueryRunner(source: EmptySource(), settings: QuerySettings())
        func outcome(_ query: String) async throws -> GraphPage.Failure? {
            guard case .failed(let failure) = await GraphPage.run(try Self.parameters(query), runner: runner, now: Self.now) else { return nil }
            return failure
        }
        #expect(try await outcome("expr=up%7B")?.title == "Parse error:")
        #expect(try await outcome("expr=rate(up%5B5m%5D)%5B1h%3A%5D&tab=graph")?.title == "Cannot graph this:")
        #expect(try await outcome("expr=up%5B5m%5D&tab=graph")?.message.contains("The Table view shows it") == true)
        if case .nothing = await GraphPage.run(try Self.parameters("expr=up&tab=graph&step=0"), runner: runner, now: Self.now) {} else {
            Issue.record("a bad step is not run")
        }
        if case .nothing = await GraphPage.run(try Self.parameters("expr=++%0A"), runner: runner, now: Self.now) {} else {
            Issue.record("blank is nothing to run")
        }
    }

    // MARK: Drawing answers

    @Test func theEmptyFormAsksForAnExpression() throws {
        let html = try Self.page(try Self.parameters(""), .nothing)
        #expect(html.contains(#"<form class="filters graph-form" method="get" action="/graph">"#))
        #expect(html.contains(#"<input type="hidden" name="tab" value="table">"#))
        #expect(html.contains(#"<textarea name="expr" rows="2""#))
        #expect(html.contains(#"data-submit-on-enter"#))
        #expect(html.contains(#"name="time" value="" placeholder="now""#))
        #expect(!html.contains(#"name="step""#), "the table has no step")
        #expect(html.contains("No expression yet"))
        #expect(html.contains(#"<a href="/graph" aria-current="page">Graph</a>"#), "the nav marks Graph")
        #expect(html.contains(#"<a href="/graph?tab=table" aria-current="page">Table</a>"#))
        #expect(html.contains(#"<a href="/graph?tab=graph&amp;range=1h">Graph</a>"#))
        #expect(!html.contains("style="))
    }

    @Test func aTableOfAnInstantVector() throws {
        let parameters = try Self.parameters("expr=x")
        let value = QueryValue.vector([
            VectorElement(labels: PromQL.Labels([("__name__", "canopy_exceptions_total"), ("team", Self.hostile)]), sample: Sample(t: 0, v: 12345)),
            VectorElement(labels: PromQL.Labels([("team", "search")]), sample: Sample(t: 0, v: 1.0 / 60)),
            VectorElement(labels: PromQL.Labels(), sample: Sample(t: 0, v: .nan)),
        ])
        let html = try Self.page(parameters, .table(value, at: Self.now))
        #expect(html.contains("An instant vector of 3 series at 2025-05-03 14:00:00 UTC"))
        #expect(html.contains(#"<table class="query-result">"#))
        #expect(html.contains(#"<span class="sample-value" title="12345">12345</span>"#))
        #expect(html.contains(#"<span class="sample-value" title="0.016666666666666666">0.0166667</span>"#))
        #expect(html.contains(#"<span class="sample-value" title="NaN">NaN</span>"#))
        #expect(html.contains(#"<td class="mono series-labels">{team=<wbr>&quot;search&quot;}</td>"#))
        #expect(html.contains(#"<td class="mono series-labels">{}</td>"#))
        // The hostile label value is text, quoted as PromQL prints it.
        #expect(html.replacingOccurrences(of: "<wbr>", with: "").contains(#"canopy_exceptions_total{team=&quot;&lt;script&gt;window.__pwned=1&lt;/script&gt;\&quot; &amp; &#39;quotes&#39; \\ done&quot;}"#))
        #expect(!html.contains("<script>window"))
    }

    @Test func scalarsStringsAndRangeVectorsInTheTable() throws {
        let parameters = try Self.parameters("expr=x")
        let scalar = try Self.page(parameters, .table(.scalar(Sample(t: 0, v: 2.5)), at: Self.now))
        #expect(scalar.contains("A scalar at 2025-05-03 14:00:00 UTC"))
        #expect(scalar.contains(#"<td class="mono series-labels">scalar</td><td class="num mono"><span class="sample-value" title="2.5">2.5</span>"#))
        let string = try Self.page(parameters, .table(.string(t: 0, value: Self.hostile), at: Self.now))
        #expect(string.contains(#"<td class="mono series-labels">string</td>"#))
        #expect(string.contains("&lt;script&gt;window.__pwned=1&lt;/script&gt;"))
        #expect(!string.contains("<script>window"))
        let range = try Self.page(parameters, .table(.matrix(Self.matrix(2)), at: Self.now))
        #expect(range.contains("A range vector of 2 series"))
        #expect(range.contains("Samples (value @ Unix time)"))
        #expect(range.contains(#"<span class="sample-value" title="120 at 2025-05-03 14:00:00 UTC">120 @1746280800</span>"#))
        #expect(range.components(separatedBy: #"class="sample-value""#).count - 1 == 2 * 61)
        let empty = try Self.page(parameters, .table(.vector([]), at: Self.now))
        #expect(empty.contains("Empty query result") && !empty.contains("<table"))
        // A long range vector shows its latest samples and says how many more there are.
        let long = SeriesValues(labels: PromQL.Labels(), samples: (0..<600).map { Sample(t: Timestamp($0) * 1000, v: 1) })
        let table = try #require(GraphPage.resultTable(.matrix([long])))
        #expect(table.rows[0].values.count == 500 && table.rows[0].more == "and 100 earlier samples")
        let wide = try #require(GraphPage.resultTable(.vector((0..<1200).map { VectorElement(labels: PromQL.Labels([("i", "\($0)")]), sample: Sample(t: 0, v: 1)) })))
        #expect(wide.rows.count == 1000 && wide.note == "showing 1,000 of 1,200 series")
    }

    @Test func aGraphOfARangeQuery() throws {
        let parameters = try Self.parameters("expr=sum+by+(env)+(x)&tab=graph&range=1h")
        let html = try Self.page(parameters, .graph(.matrix(Self.matrix(60)), start: Self.now.addingTimeInterval(-3600), end: Self.now, step: 60_000))
        #expect(html.contains(#"<figure class="chart line-chart"><figcaption>60 series, 2025-05-03 13:00:00 UTC to 2025-05-03 14:00:00 UTC, every 1m</figcaption>"#))
        #expect(html.components(separatedBy: "<polyline ").count - 1 == 50)
        #expect(html.components(separatedBy: #"<li class="legend-entry">"#).count - 1 == 50)
        #expect(html.contains(#"<p class="chart-note">showing 50 of 60 series</p>"#))
        #expect(html.contains(#"aria-label="sum by (env) (x)""#))
        #expect(html.contains(#">13:10</text>"#) && html.contains(">UTC</text>"))
        #expect(!html.contains("<script>window"))
        // The graph's controls: range, end and step, with the step it would choose.
        #expect(html.contains(#"<option value="1h" selected>1h</option>"#))
        #expect(html.contains(#"name="step" value="" placeholder="auto (15s)""#))
        #expect(html.contains(#"name="end" value="" placeholder="now""#))
        // Range links keep the query and the end, and drop the step.
        #expect(html.contains(#"<a href="/graph?expr=sum%20by%20%28env%29%20%28x%29&amp;tab=graph&amp;range=6h">6h</a>"#))
        #expect(html.contains(#"<a href="/graph?expr=sum%20by%20%28env%29%20%28x%29&amp;tab=graph&amp;range=1h" aria-current="page">1h</a>"#))
        let empty = try Self.page(parameters, .graph(.matrix([]), start: Self.now.addingTimeInterval(-3600), end: Self.now, step: 60_000))
        #expect(empty.contains("Empty query result") && !empty.contains("<svg class=\"chart-lines\""))
    }

    @Test func errorsShowInABoxWithTheExpressionKept() throws {
        let query = #"sum(rate(x{a="<b>"}[5m])"#
        let parameters = try Self.parameters("expr=" + PageLink.segment(query))
        let failure: GraphPage.Failure
        do {
            _ = try PromQLParser.parse(query)
            throw TestFailure("parsed")
        } catch let error as PromQLError {
            failure = GraphPage.parseFailure(error, in: query)
        }
        let html = try Self.page(parameters, .failed(failure))
        #expect(html.contains(#"<div class="banner banner-error" role="alert"><strong class="banner-title">Parse error:</strong> <span class="banner-message">1:"#))
        #expect(html.contains("parse error: "))
        #expect(html.contains(#"<pre class="parse-pointer"><code>sum(rate(x{a=&quot;&lt;b&gt;&quot;}[5m])"#))
        #expect(html.contains(#">sum(rate(x{a=&quot;&lt;b&gt;&quot;}[5m])</textarea>"#), "the expression stays in the box")
        let bad = try Self.page(try Self.parameters("expr=up&tab=graph&step=0&range=2h"), .nothing)
        #expect(bad.contains(#"<strong class="banner-title">Bad parameter:</strong> <span class="banner-message">invalid parameter &quot;step&quot;: zero or negative"#))
        #expect(bad.contains(#"name="step" value="0""#))
        #expect(bad.contains(#"<option value="2h" selected>2h</option>"#), "a range not among the presets is added to the select")
        #expect(!bad.contains("No expression yet"))
    }

    @Test func hubTemplatesPrintOnlyTheKitsMarkupUnescaped() {
        for (name, text) in HubPageTemplates.all {
            var rest = Substring(text)
            while let open = rest.range(of: "{{{") {
                guard let close = rest[open.upperBound...].range(of: "}}}") else { break }
                // `…HTML` fields are SafeHTML made by `SafeHTML.breakable` (escaped, with `<wbr>`s).
                let safe: Set = ["sparkline", "svg", "keyHTML", "classHTML", "graphQueryHTML", "queryHTML", "urlHTML", "nameHTML", "valueHTML", "fileHTML", "lastErrorHTML", "labelsHTML"]
                #expect(safe.contains(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)), "\(name)")
                rest = rest[close.upperBound...]
            }
            #expect(!text.contains("style=") && !text.contains("<script"), "\(name)")
        }
    }

    // MARK: Links from other pages

    /// The `expr` of a page's link into the graph page, as the browser would send it.
    static func expr(ofLink href: String) throws -> (expr: String, items: [(name: String, value: String)]) {
        let unescaped = href.replacingOccurrences(of: "&amp;", with: "&")
        let parts = unescaped.split(separator: "?", maxSplits: 1)
        #expect(parts.first == "/graph")
        let items = try PercentDecoding.QueryItems(parts.count > 1 ? parts[1] : nil).items
        return (try #require(items.first { $0.name == "expr" }?.value), items)
    }

    /// The value of the matcher `name` in the query's only selector.
    static func matcher(_ name: String, in query: String) throws -> String? {
        let expr = try PromQLParser.parse(query)
        #expect(expr.vectorSelectors.count == 1)
        return expr.vectorSelectors.first?.matchers.first { $0.name == name }?.value
    }

    @Test func linksQuoteLabelValuesAndParse() throws {
        let (team, service, key) = (#"pay"ments"#, #"check\out"#, Self.hostile)
        let count = GraphPage.Links.groupCount(team: team, service: service, key: key, window: "30m")
        #expect(
            count
                == #"sum(increase(canopy_exceptions_total{team="pay\"ments",service="check\\out",aggregation_key="<script>window.__pwned=1</script>\" & 'quotes' \\ done"}[30m]))"#
        )
        #expect(try Self.matcher("team", in: count) == team)
        #expect(try Self.matcher("service", in: count) == service)
        #expect(try Self.matcher("aggregation_key", in: count) == key)
        let by = GraphPage.Links.groupBreakdown(team: team, service: service, key: key, window: "1m", by: ["env", "region"])
        #expect(by.hasPrefix("sum by (env, region) (increase(canopy_exceptions_total{"))
        #expect(try Self.matcher("aggregation_key", in: by) == key)
        let generic = GraphPage.Links.groupBreakdown(team: team, service: service, key: key, window: "1m", by: nil)
        #expect(generic.hasPrefix("sum without (aggregation_key, class, service, severity, team) (increase("))
        #expect(try Self.matcher("team", in: generic) == team)
        let teams = GraphPage.Links.teamByService("a\nb\u{FFFD}")
        #expect(try Self.matcher("team", in: teams) == "a\nb\u{FFFD}")
        #expect(GraphPage.Links.teamByService("payments") == #"sum by (service) (increase(canopy_exceptions_total{team="payments"}[1h]))"#)

        // The whole query percent-encoded: nothing in the link needs HTML's or the URL's escaping.
        let href = GraphPage.Links.href(count, range: "24h", step: "30m")
        #expect(!href.contains(" ") && !href.contains("\"") && !href.contains("<") && !href.contains("{") && !href.contains("\\"))
        let (decoded, items) = try Self.expr(ofLink: href)
        #expect(decoded == count)
        #expect(items.map(\.name) == ["expr", "tab", "range", "step"])
        #expect(items.first { $0.name == "tab" }?.value == "graph")
        #expect(try Self.parameters(String(href.split(separator: "?")[1])).problems.isEmpty)

        #expect(GraphPage.Links.isPlainName("env") && GraphPage.Links.isPlainName("_x9"))
        #expect(!GraphPage.Links.isPlainName("9x") && !GraphPage.Links.isPlainName("a-b") && !GraphPage.Links.isPlainName("") && !GraphPage.Links.isPlainName("ä"))
    }
}
