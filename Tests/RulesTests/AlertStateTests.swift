import CanopyTestSupport
import Foundation
import PromQL
import Testing

@testable import Rules

/// The alert life cycle against Prometheus's: the same series, the same rule, our states at each
/// evaluation, and `promtool test rules` agreeing on which alerts fire when.
@Suite struct AlertStateTests {
    static let minute: Timestamp = 60_000

    /// Series at one value a minute from 0 (nil: no sample), in promtool's notation too.
    struct Input {
        var series: String
        var values: [Double?]

        var notation: String { values.map { $0.map { GoText.formatFloatPlain($0) } ?? "_" }.joined(separator: " ") }

        func source() throws -> SourceSeries {
            let labels = try PromQLParser.parse(series)
            guard case .vectorSelector(let selector) = labels else { throw TestFailure("not a selector: \(series)") }
            var pairs: [String: String] = [Labels.metricName: selector.name ?? ""]
            for matcher in selector.matchers where matcher.name != Labels.metricName { pairs[matcher.name] = matcher.value }
            let samples = values.enumerated().compactMap { index, value in value.map { Sample(t: Timestamp(index) * AlertStateTests.minute, v: $0) } }
            return SourceSeries(labels: Labels(pairs), data: .samples(samples))
        }
    }

    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var expr: String
        var holdFor: Duration
        var keepFiringFor: Duration
        var inputs: [(String, [Double?])]
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "pending then firing after for, resolved when gone", expr: "errors > 2", holdFor: .seconds(180), keepFiringFor: .zero,
            inputs: [
                (#"errors{team="a"}"#, [0, 1, 3, 4, 5, 6, 7, 1, 1, 9, 9, 9, 9, 9]),
                (#"errors{team="b"}"#, [5, 5, 5, 5, 1, 5, 5, 5, 5, 5, 5, 5, 5, 5]),
            ]),
        Case(
            name: "keep_firing_for holds a firing alert", expr: "errors > 2", holdFor: .seconds(60), keepFiringFor: .seconds(180),
            inputs: [(#"errors{team="a"}"#, [3, 3, 3, 0, 0, 3, 0, 0, 0, 0, 0, 0, 3, 3])]),
        Case(
            name: "no for: firing at once; gaps within the lookback keep it", expr: "errors > 0", holdFor: .zero, keepFiringFor: .zero,
            inputs: [(#"errors{team="a", env="prod"}"#, [1, nil, nil, 1, nil, nil, nil, nil, nil, nil, 1, 0, 1, 1])]),
    ]

    /// Our states, evaluating the expression each minute from 0 to `end` with our engine.
    static func ourFiring(_ test: Case, until end: Int) async throws -> [Int: [[String: String]]] {
        let source = MemorySeriesSource(try test.inputs.map { try Input(series: $0.0, values: $0.1).source() })
        let expr = try PromQLParser.parse(test.expr)
        var state = AlertingRuleState()
        var firing: [Int: [[String: String]]] = [:]
        for step in 0...end {
            let time = Date(timeIntervalSince1970: Double(step) * 60)
            guard case .vector(let elements) = try await QueryEngine().instant(expr, at: Timestamp(step) * minute, source: source) else {
                throw TestFailure("not a vector")
            }
            let results = elements.map { element in
                var labels = element.labels.removing([Labels.metricName]).dictionary
                labels["severity"] = "page"
                labels["alertname"] = "Test"
                return Alert(labels: labels, annotations: [:], value: element.sample.v, activeAt: time)
            }
            try state.evaluate(results, at: time, holdFor: test.holdFor, keepFiringFor: test.keepFiringFor, limit: 0)
            firing[step] = state.active.values.filter { $0.state == .firing }.map(\.labels).sorted { Alert.key($0) < Alert.key($1) }
        }
        return firing
    }

    /// A promtool rule test expecting `firing` at each minute.
    static func promtoolFiles(_ test: Case, firing: [Int: [[String: String]]]) -> (rules: String, tests: String) {
        func duration(_ value: Duration) -> String { "\(value.components.seconds)s" }
        let rules = """
            groups:
              - name: test
                rules:
                  - alert: Test
                    expr: \(test.expr)
                    for: \(duration(test.holdFor))
                    keep_firing_for: \(duration(test.keepFiringFor))
                    labels: {severity: page}
            """
        var tests = """
            rule_files: [rules.yml]
            evaluation_interval: 1m
            tests:
              - interval: 1m
                input_series:

            """
        for (series, values) in test.inputs {
            tests += "      - series: '\(series)'\n        values: '\(Input(series: series, values: values).notation)'\n"
        }
        tests += "    alert_rule_test:\n"
        for step in firing.keys.sorted() {
            tests += "      - eval_time: \(step)m\n        alertname: Test\n        exp_alerts:\n"
            for labels in firing[step] ?? [] {
                let pairs = labels.filter { $0.key != "alertname" }.sorted { $0.key < $1.key }.map { "\($0.key): \"\($0.value)\"" }
                tests += "          - exp_labels: {\(pairs.joined(separator: ", "))}\n"
            }
            if firing[step]?.isEmpty ?? true { tests += "          []\n" }
        }
        return (rules, tests)
    }

    static func promtoolTest(rules: String, tests: String) throws -> (status: Int32, output: String) {
        let directory = NSTemporaryDirectory() + "canopy-alert-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try rules.write(toFile: directory + "/rules.yml", atomically: true, encoding: .utf8)
        try tests.write(toFile: directory + "/tests.yml", atomically: true, encoding: .utf8)
        return try promtool(["test", "rules", directory + "/tests.yml"])
    }

    @Test(arguments: cases) func firingAlertsAreThoseOfPrometheus(test: Case) async throws {
        let end = test.inputs[0].1.count - 1
        let firing = try await Self.ourFiring(test, until: end)
        #expect(firing.values.contains { !$0.isEmpty }, "the case fires at some point")
        #expect(firing.values.contains { $0.isEmpty }, "and is quiet at some point")
        let (rules, tests) = Self.promtoolFiles(test, firing: firing)
        let verdict = try Self.promtoolTest(rules: rules, tests: tests)
        #expect(verdict.status == 0, "promtool disagrees:\n\(verdict.output)\n\(tests)")
        // A wrong expectation fails, so the comparison is real.
        var wrong = firing
        let flipped = try #require(firing.keys.sorted().first { !(firing[$0] ?? []).isEmpty })
        wrong[flipped] = []
        let (_, wrongTests) = Self.promtoolFiles(test, firing: wrong)
        #expect(try Self.promtoolTest(rules: rules, tests: wrongTests).status != 0)
    }

    @Test func resolvedAlertsAreSentUntilDroppedAndFiringOnesEveryResendDelay() throws {
        var state = AlertingRuleState()
        let start = Date(timeIntervalSince1970: 1_000_000)
        let alert = Alert(labels: ["alertname": "A"], annotations: [:], value: 1, activeAt: start)
        try state.evaluate([alert], at: start, holdFor: .zero, keepFiringFor: .zero, limit: 0)
        var sent = state.alertsToSend(at: start, resendDelay: .seconds(60), interval: .seconds(15))
        #expect(sent.count == 1 && sent[0].validUntil == start.addingTimeInterval(240), "four resend delays ahead")
        // Within the resend delay nothing goes; after it, again.
        try state.evaluate([alert], at: start.addingTimeInterval(30), holdFor: .zero, keepFiringFor: .zero, limit: 0)
        #expect(state.alertsToSend(at: start.addingTimeInterval(30), resendDelay: .seconds(60), interval: .seconds(15)).isEmpty)
        try state.evaluate([alert], at: start.addingTimeInterval(75), holdFor: .zero, keepFiringFor: .zero, limit: 0)
        #expect(state.alertsToSend(at: start.addingTimeInterval(75), resendDelay: .seconds(60), interval: .seconds(15)).count == 1)
        // Resolved: sent at once, then every resend delay until 15 minutes have passed.
        let resolvedAt = start.addingTimeInterval(90)
        try state.evaluate([], at: resolvedAt, holdFor: .zero, keepFiringFor: .zero, limit: 0)
        sent = state.alertsToSend(at: resolvedAt, resendDelay: .seconds(60), interval: .seconds(15))
        #expect(sent.count == 1 && sent[0].state == .inactive && sent[0].resolvedAt == resolvedAt)
        try state.evaluate([], at: resolvedAt.addingTimeInterval(15 * 60), holdFor: .zero, keepFiringFor: .zero, limit: 0)
        #expect(state.active.count == 1, "kept for the whole retention")
        try state.evaluate([], at: resolvedAt.addingTimeInterval(15 * 60 + 1), holdFor: .zero, keepFiringFor: .zero, limit: 0)
        #expect(state.active.isEmpty)
    }

    @Test func limitsAndDuplicatesFailTheEvaluation() throws {
        var state = AlertingRuleState()
        let now = Date()
        let alerts = (0..<3).map { Alert(labels: ["alertname": "A", "n": "\($0)"], annotations: [:], value: 1, activeAt: now) }
        #expect(throws: AlertingRuleState.LimitExceeded(limit: 2, count: 3)) {
            try state.evaluate(alerts, at: now, holdFor: .zero, keepFiringFor: .zero, limit: 2)
        }
        #expect(state.active.isEmpty)
        #expect(throws: AlertingRuleState.DuplicateLabels.self) {
            try state.evaluate([alerts[0], alerts[0]], at: now, holdFor: .zero, keepFiringFor: .zero, limit: 0)
        }
    }

    @Test func alertSeriesAsPrometheusRecordsThem() throws {
        var state = AlertingRuleState()
        let start = Date(timeIntervalSince1970: 600.5)
        try state.evaluate(
            [Alert(labels: ["alertname": "A", "team": "x"], annotations: [:], value: 3, activeAt: start)], at: start,
            holdFor: .seconds(60), keepFiringFor: .zero, limit: 0)
        let series = state.series(ruleLabels: ["severity": "page"])
        #expect(series.count == 2)
        #expect(series[0].labels == ["__name__": "ALERTS", "alertname": "A", "team": "x", "severity": "page", "alertstate": "pending"])
        #expect(series[1].labels == ["__name__": "ALERTS_FOR_STATE", "alertname": "A", "team": "x", "severity": "page"] && series[1].value == 600)
    }
}
