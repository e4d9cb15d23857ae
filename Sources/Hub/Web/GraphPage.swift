import Foundation
import Hummingbird
import PromQL
import Shared

/// The graph page (`/graph`): Prometheus's expression browser over the hub's series. The query
/// and how to show it are all in the URL (a GET form), so every view can be shared; the Table
/// view is an instant query, the Graph view a range query drawn on the server. Both go through
/// the same `QueryRunner` as `/api/v1/query` and `query_range`, so the page and the API cost and
/// answer the same. Reading the URL (`Parameters`) and drawing an answer (`view`) are pure
/// functions, tested without a database or an evaluator; only `run` evaluates.
enum GraphPage {
    enum Tab: String, Sendable, CaseIterable { case table, graph }

    /// The ranges offered as links and in the form's select.
    static let presets = ["5m", "1h", "6h", "1d", "7d", "30d"]
    static let defaultRange = "1h"
    /// Series drawn at most: more lines than colours to tell them apart are noise, and the page
    /// stays small. The rest are counted in a note.
    static let maxSeriesDrawn = 50
    /// Table rows at most, and samples per row of a range vector.
    static let maxRows = 1000
    static let maxSamplesPerRow = 500
    /// Points per series Prometheus's UI aims at when it picks the step (range / 250).
    static let targetPoints: Int64 = 250
    /// The round steps the page picks from, in seconds: the first at least range / 250.
    static let roundSteps: [Int64] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]

    // MARK: The URL

    /// What the page's URL asks for, checked. A parameter that does not parse becomes a problem
    /// shown on the page (and the query is not run), while every field keeps its text, so the
    /// form shows what was typed. Only the open tab's parameters are judged: a bad `step` does
    /// not stop the table, which has no step.
    struct Parameters: Sendable, Equatable {
        var expr = ""
        var tab = Tab.table
        /// The fields as typed, for the form and the links ("" when absent).
        var timeText = ""
        var rangeText = GraphPage.defaultRange
        var endText = ""
        var stepText = ""
        /// The table's evaluation time; nil: now.
        var time: Date?
        /// The graph's range in milliseconds, ending at `end` (nil: now).
        var range: Timestamp = 3_600_000
        var end: Date?
        /// nil: chosen from the range (`GraphPage.defaultStep`).
        var step: Timestamp?
        var problems: [String] = []

        init(_ items: [(name: String, value: String)], maxSteps: Int) {
            func value(_ name: String) -> String { items.first { $0.name == name }?.value.trimmingCharacters(in: .whitespaces) ?? "" }
            expr = items.first { $0.name == "expr" }?.value ?? ""
            timeText = value("time")
            endText = value("end")
            stepText = value("step")
            let range = value("range")
            rangeText = range.isEmpty ? GraphPage.defaultRange : range
            let tabText = value("tab")
            if tabText.isEmpty {
                tab = .table
            } else if let known = Tab(rawValue: tabText) {
                tab = known
            } else {
                problems.append("invalid parameter \"tab\": \"\(tabText)\" is neither table nor graph")
            }
            func attempt<T>(_ body: () throws -> T) -> T? {
                do { return try body() } catch let error as PrometheusAPIError { problems.append(error.message) } catch {
                    problems.append(String(describing: error))
                }
                return nil
            }
            switch tab {
            case .table:
                if !timeText.isEmpty { time = attempt { try PrometheusParameters.time(timeText, name: "time") } }
            case .graph:
                if !endText.isEmpty { end = attempt { try PrometheusParameters.time(endText, name: "end") } }
                if let parsed = attempt({ try GraphPage.milliseconds(rangeText, name: "range") }) {
                    if parsed > 0 { self.range = parsed } else { problems.append("invalid parameter \"range\": the range must be positive, such as 1h") }
                }
                if !stepText.isEmpty, let parsed = attempt({ try GraphPage.milliseconds(stepText, name: "step") }) {
                    if parsed <= 0 {
                        problems.append(
                            "invalid parameter \"step\": zero or negative query resolution step widths are not accepted. Try a positive integer")
                    } else if let problem = GraphPage.tooManyPoints(range: self.range, step: parsed, maxSteps: maxSteps) {
                        problems.append(problem)
                    } else {
                        step = parsed
                    }
                }
            }
        }

        /// The step the graph uses: the one asked for, or the default for the range.
        func effectiveStep(maxSteps: Int) -> Timestamp { step ?? GraphPage.defaultStep(range: range, maxSteps: maxSteps) }
    }

    /// A duration parameter as the API takes `step` (`15`, `0.5`, `1m30s`), in milliseconds.
    static func milliseconds(_ text: String, name: String) throws -> Timestamp {
        let duration = try PrometheusQueryRoutes<BasicRequestContext>.duration(text, name: name)
        return duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    /// Prometheus's choice (range / 250, at least a second), rounded up to a round step, and
    /// never so small that the range has `maxSteps` points or more.
    static func defaultStep(range: Timestamp, maxSteps: Int) -> Timestamp {
        let raw = max(range / targetPoints, 1000)
        var step = roundSteps.map { $0 * 1000 }.first { $0 >= raw } ?? (raw + 999) / 1000 * 1000
        if range / step >= Int64(max(maxSteps, 1)) { step = smallestStep(range: range, maxSteps: maxSteps) }
        return step
    }

    /// The smallest whole-second step that keeps `range` under `maxSteps` points per series.
    static func smallestStep(range: Timestamp, maxSteps: Int) -> Timestamp {
        (range / Int64(max(maxSteps, 1)) + 1 + 999) / 1000 * 1000
    }

    /// Why `step` is refused over `range`, in words that say what step would do; nil if it is fine.
    static func tooManyPoints(range: Timestamp, step: Timestamp, maxSteps: Int) -> String? {
        guard range / step >= Int64(maxSteps) else { return nil }
        let points = WebFormat.grouped(range / step + 1)
        return "invalid parameter \"step\": a step of \(PromDuration(milliseconds: step)) over \(PromDuration(milliseconds: range)) makes \(points) points per series, "
            + "more than the \(WebFormat.grouped(Int64(maxSteps))) allowed: use a step of at least \(PromDuration(milliseconds: smallestStep(range: range, maxSteps: maxSteps)))"
    }

    // MARK: Running the query

    /// What evaluating the page's query came to.
    enum Outcome: Sendable {
        /// Nothing was run: no expression yet, or `Parameters.problems`.
        case nothing
        case table(QueryValue, at: Date)
        /// `step` in milliseconds.
        case graph(QueryValue, start: Date, end: Date, step: Timestamp)
        case failed(Failure)
    }

    /// An error box: what kind of failure, its message, and for a parse error the line of the
    /// query with a caret under the place.
    struct Failure: Sendable, Equatable {
        var title: String
        var message: String
        var pointer: Pointer?
    }

    struct Pointer: Sendable, Equatable {
        let line: String
        let caret: String
    }

    /// Parses and evaluates, as the API would with the same parameters; every failure becomes
    /// an `Outcome.failed` for the page to show.
    static func run(_ parameters: Parameters, runner: QueryRunner, now: Date) async -> Outcome {
        guard parameters.problems.isEmpty, !parameters.expr.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return .nothing }
        let expr: Expr
        do {
            expr = try PromQLParser.parse(parameters.expr)
        } catch {
            return .failed(parseFailure(error, in: parameters.expr))
        }
        do {
            switch parameters.tab {
            case .table:
                let at = parameters.time ?? now
                return .table(try await runner.instant(expr, at: QueryTime.timestamp(at)), at: at)
            case .graph:
                guard expr.type == .scalar || expr.type == .instantVector else {
                    return .failed(
                        Failure(
                            title: "Cannot graph this:",
                            message: "invalid expression type \"\(expr.type)\" for range query, must be Scalar or instant Vector. The Table view shows it."))
                }
                let end = QueryTime.timestamp(parameters.end ?? now)
                let start = end - parameters.range
                let step = parameters.effectiveStep(maxSteps: runner.settings.limits.maxSteps)
                let value = try await runner.range(expr, start: start, end: end, step: step)
                return .graph(value, start: QueryTime.date(start), end: QueryTime.date(end), step: step)
            }
        } catch {
            return .failed(failure(error, timeout: runner.timeout(asked: nil)))
        }
    }

    static func parseFailure(_ error: PromQLError, in query: String) -> Failure {
        let lines = query.split(separator: "\n", omittingEmptySubsequences: false)
        var pointer: Pointer?
        if error.position.line >= 1, error.position.line <= lines.count {
            let line = String(lines[error.position.line - 1])
            // The column counts bytes; the caret goes under the character they end at (tabs kept, so it lines up).
            let before = String(decoding: Array(line.utf8.prefix(max(0, error.position.column - 1))), as: UTF8.self)
            pointer = Pointer(line: line, caret: String(before.map { $0 == "\t" ? "\t" : " " }) + "^")
        }
        return Failure(title: "Parse error:", message: error.description, pointer: pointer)
    }

    /// Every other way a query fails, named as the API names it.
    static func failure(_ error: any Error, timeout: Duration) -> Failure {
        switch error {
        case let refusal as QueryRunner.Refusal where refusal.kind == .timeout:
            return Failure(title: "Timed out:", message: "\(refusal.message) (the hub stops queries after \(WebFormat.duration(timeout)))")
        case let refusal as QueryRunner.Refusal:
            return Failure(title: "Refused:", message: refusal.message)
        case let error as QueryError:
            let title =
                switch error.kind {
                case .execution: "Execution error:"
                case .limit: "Over a limit:"
                case .canceled: "Canceled:"
                case .source: "The series could not be read:"
                }
            return Failure(title: title, message: error.message)
        case let error as ExceptionCounters.TooManySeries:
            return Failure(title: "Over a limit:", message: error.description)
        case let error as HubSeriesSource.DatabaseFailure:
            return Failure(title: "The series could not be read:", message: error.description)
        default:
            return Failure(title: "The query failed:", message: String(describing: error))
        }
    }

    // MARK: The page

    struct Link {
        let label: String
        let href: String
        let current: Bool
    }

    struct Option {
        let value: String
        let label: String
        let selected: Bool
    }

    /// The table of an instant query's answer: one row per series (or the scalar, or the string).
    struct ResultTable {
        struct Row {
            let labels: String
            /// `labels` with a `<wbr>` after each `=`, `.`, `-`..., so that a long label set wraps there.
            let labelsHTML: SafeHTML
            let values: [Value]
            let hasMore: Bool
            let more: String

            init(labels: String, values: [Value], hasMore: Bool, more: String) {
                self.labels = labels
                labelsHTML = .breakable(labels)
                self.values = values
                self.hasMore = hasMore
                self.more = more
            }
        }

        struct Value {
            let text: String
            let exact: String
        }

        let valueHeader: String
        let rows: [Row]
        let hasNote: Bool
        let note: String
    }

    /// What the `hubGraph` template reads. Lists of zero or one stand for what may be absent.
    struct View {
        let tabs: [Link]
        let tab: String
        let isGraph: Bool
        let expr: String
        let time: String
        let end: String
        let step: String
        let autoStep: String
        let rangeOptions: [Option]
        let rangeLinks: [Link]
        let errors: [ErrorBannerView]
        let pointer: [Pointer]
        let hasSummary: Bool
        let summary: String
        let chart: [LineChartView]
        let table: [ResultTable]
        let empty: [EmptyStateView]
    }

    /// The page for `parameters` and what running them came to: pure, so that tests can draw any answer.
    static func view(_ parameters: Parameters, _ outcome: Outcome, maxSteps: Int) -> View {
        let p = parameters
        func href(_ tab: Tab, range: String? = nil) -> String {
            switch tab {
            case .table: PageLink.href("/graph", query: [("expr", p.expr), ("tab", "table"), ("time", p.timeText)])
            case .graph:
                // A new range drops the step: the one typed may not suit it.
                PageLink.href("/graph", query: [("expr", p.expr), ("tab", "graph"), ("range", range ?? p.rangeText), ("end", p.endText), ("step", range == nil ? p.stepText : "")])
            }
        }
        let presetMilliseconds = presets.map { (try? milliseconds($0, name: "range")) ?? 0 }
        var options = zip(presets, presetMilliseconds).map { Option(value: $0, label: $0, selected: $1 == p.range) }
        if !options.contains(where: \.selected) { options.append(Option(value: p.rangeText, label: p.rangeText, selected: true)) }
        let errors = p.problems.map { ErrorBannerView(title: "Bad parameter:", message: $0) }

        var failure: [ErrorBannerView] = [], pointer: [Pointer] = [], summary = ""
        var chart: [LineChartView] = [], table: [ResultTable] = [], empty: [EmptyStateView] = []
        switch outcome {
        case .nothing:
            if p.problems.isEmpty {
                empty = [EmptyStateView(title: "No expression yet", detail: "Type a PromQL expression, such as sum by (team) (increase(canopy_exceptions_total[1h])), and run it.")]
            }
        case .failed(let error):
            failure = [ErrorBannerView(title: error.title, message: error.message)]
            pointer = error.pointer.map { [$0] } ?? []
        case .table(let value, let at):
            summary = Self.summary(value, at: at)
            if let result = resultTable(value) { table = [result] } else {
                empty = [EmptyStateView(title: "Empty query result", detail: "No series match at \(WebFormat.absolute(at)).")]
            }
        case .graph(let value, let start, let end, let step):
            guard case .matrix(let series) = value else {
                summary = Self.summary(value, at: end)
                table = resultTable(value).map { [$0] } ?? []
                break
            }
            if series.isEmpty {
                empty = [EmptyStateView(title: "Empty query result", detail: "No series have values from \(WebFormat.absolute(start)) to \(WebFormat.absolute(end)).")]
            } else {
                chart = [lineChart(series, start: start, end: end, step: step, expr: p.expr)]
            }
        }
        return View(
            tabs: Tab.allCases.map { Link(label: $0 == .table ? "Table" : "Graph", href: href($0), current: $0 == p.tab) },
            tab: p.tab.rawValue, isGraph: p.tab == .graph, expr: p.expr, time: p.timeText, end: p.endText, step: p.stepText,
            autoStep: "auto (\(PromDuration(milliseconds: defaultStep(range: p.range, maxSteps: maxSteps))))", rangeOptions: options,
            rangeLinks: zip(presets, presetMilliseconds).map { Link(label: $0, href: href(.graph, range: $0), current: $1 == p.range) },
            errors: errors + failure, pointer: pointer, hasSummary: !summary.isEmpty, summary: summary, chart: chart, table: table, empty: empty)
    }

    /// The chart of a range query's answer: the first `maxSeriesDrawn` series, as the answer orders them (by labels).
    static func lineChart(_ series: [SeriesValues], start: Date, end: Date, step: Timestamp, expr: String) -> LineChartView {
        let lines = series.map { one in
            ChartSeries(name: name(one.labels), points: one.samples.map { (QueryTime.date($0.t), $0.v) })
        }
        let count = series.count == 1 ? "1 series" : "\(WebFormat.grouped(Int64(series.count))) series"
        return SVGChart.lineChart(
            lines, from: start, to: end, step: Double(step) / 1000,
            caption: "\(count), \(WebFormat.absolute(start)) to \(WebFormat.absolute(end)), every \(PromDuration(milliseconds: step))",
            label: expr, maxSeries: maxSeriesDrawn)
    }

    /// A series as Prometheus prints it (`name{a="1"}`), `{}` for one without labels.
    static func name(_ labels: PromQL.Labels) -> String { labels.isEmpty ? "{}" : labels.description }

    static func summary(_ value: QueryValue, at: Date) -> String {
        let when = "at \(WebFormat.absolute(at))"
        switch value {
        case .scalar: return "A scalar \(when)"
        case .string: return "A string \(when)"
        case .vector(let elements): return "An instant vector of \(plural(elements.count, "series")) \(when)"
        case .matrix(let series): return "A range vector of \(plural(series.count, "series")) \(when)"
        }
    }

    private static func plural(_ count: Int, _ noun: String) -> String { "\(WebFormat.grouped(Int64(count))) \(noun)" }

    /// Rows for the answer, nil when it is an empty vector or matrix.
    static func resultTable(_ value: QueryValue) -> ResultTable? {
        func number(_ value: Double) -> ResultTable.Value { ResultTable.Value(text: WebFormat.number(value), exact: GoText.formatFloatPlain(value)) }
        func row(_ labels: String, _ values: [ResultTable.Value], more: Int = 0) -> ResultTable.Row {
            ResultTable.Row(labels: labels, values: values, hasMore: more > 0, more: more > 0 ? "and \(plural(more, "earlier samples"))" : "")
        }
        func table(_ header: String, _ rows: [ResultTable.Row], of total: Int) -> ResultTable {
            let note = total > rows.count ? "showing \(WebFormat.grouped(Int64(rows.count))) of \(plural(total, "series"))" : ""
            return ResultTable(valueHeader: header, rows: rows, hasNote: !note.isEmpty, note: note)
        }
        switch value {
        case .scalar(let sample):
            return table("Value", [row("scalar", [number(sample.v)])], of: 1)
        case .string(_, let text):
            return table("Value", [row("string", [ResultTable.Value(text: text, exact: text)])], of: 1)
        case .vector(let elements):
            guard !elements.isEmpty else { return nil }
            return table("Value", elements.prefix(maxRows).map { row(name($0.labels), [number($0.sample.v)]) }, of: elements.count)
        case .matrix(let series):
            guard !series.isEmpty else { return nil }
            let rows = series.prefix(maxRows).map { one in
                let shown = one.samples.suffix(maxSamplesPerRow)
                let values = shown.map { sample in
                    ResultTable.Value(
                        text: "\(WebFormat.number(sample.v)) @\(QueryResultJSON.seconds(sample.t))",
                        exact: "\(GoText.formatFloatPlain(sample.v)) at \(WebFormat.absolute(QueryTime.date(sample.t)))")
                }
                return row(name(one.labels), values, more: one.samples.count - shown.count)
            }
            return table("Samples (value @ Unix time)", rows, of: series.count)
        }
    }

    // MARK: Links from other pages

    /// The PromQL behind the numbers of the other pages, as links to this one. Label values are
    /// written as the query library prints matchers (Go's quoting: `"` and `\` escaped), and the
    /// whole query is percent-encoded by `PageLink`.
    enum Links {
        /// Labels every series of one group shares: a breakdown by them says nothing.
        static let groupLabels: Set<String> = [PromQL.Labels.metricName, "team", "service", "aggregation_key", "class", "severity"]

        /// `name="value"`, quoted by the query library.
        static func matcher(_ name: String, _ value: String) -> String {
            // An equality matcher compiles no regex, so it cannot fail.
            (try? LabelMatcher(.equal, name: name, value: value))?.description ?? "\(name)=\"\""
        }

        static func selector(_ matchers: [(name: String, value: String)]) -> String {
            ExceptionCounters.metric + "{" + matchers.map { matcher($0.name, $0.value) }.joined(separator: ",") + "}"
        }

        static func group(team: String, service: String, key: String) -> String {
            selector([("team", team), ("service", service), ("aggregation_key", key)])
        }

        /// The group's occurrences per `window`: the bars of its page.
        static func groupCount(team: String, service: String, key: String, window: String) -> String {
            "sum(increase(\(group(team: team, service: service, key: key))[\(window)]))"
        }

        /// The same, one line per value of the series' own labels (`by`), or, when the page does
        /// not know them, summed over the labels the group's series share, which leaves the same lines.
        static func groupBreakdown(team: String, service: String, key: String, window: String, by names: [String]?) -> String {
            let grouping = names.map { "by (\($0.joined(separator: ", ")))" } ?? "without (\(groupLabels.subtracting([PromQL.Labels.metricName]).sorted().joined(separator: ", ")))"
            return "sum \(grouping) (increase(\(group(team: team, service: service, key: key))[\(window)]))"
        }

        static func teamByService(_ team: String) -> String {
            "sum by (service) (increase(\(selector([("team", team)]))[1h]))"
        }

        /// The graph tab of `expr` over `range`, every `step` ("": the page's default).
        static func href(_ expr: String, range: String, step: String = "") -> String {
            PageLink.href("/graph", query: [("expr", expr), ("tab", "graph"), ("range", range), ("step", step)])
        }

        /// Label names a `by (…)` may list as they are: PromQL's identifiers.
        static func isPlainName(_ name: String) -> Bool {
            let scalars = Array(name.unicodeScalars)
            guard let first = scalars.first, !("0"..."9").contains(first) else { return false }
            return scalars.allSatisfy { $0 == "_" || ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
        }
    }
}
