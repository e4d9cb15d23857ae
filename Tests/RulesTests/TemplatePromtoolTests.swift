import CanopyTestSupport
import Foundation
import Testing

@testable import Rules

/// Our expansions of `TemplatePromtoolCases` are written as the expected annotations of a
/// `promtool test rules` file: promtool (Prometheus 2.42) passes only if it renders exactly that.
@Suite struct TemplatePromtoolTests {
    /// Answers `query` as promtool's engine does over the test's input series.
    struct CaseQuerier: TemplateQuerier {
        struct UnknownQuery: Error, CustomStringConvertible {
            var description: String
        }

        func query(_ expression: String) async throws -> [TemplateSample] {
            guard let answer = TemplatePromtoolCases.queryAnswers[expression] else {
                throw UnknownQuery(description: "the test has no answer for \(expression)")
            }
            return answer.map { TemplateSample(labels: $0.labels, value: $0.value) }
        }
    }

    /// Every rule's annotations as we expand them, `c000`, `c001`, … in template order.
    static func expansions(_ rule: PromtoolRule) async throws -> [(key: String, template: String, expanded: String)] {
        let data = TemplateData(
            labels: rule.labels.merging(["__name__": "tmpl_value"]) { a, _ in a },
            externalLabels: TemplatePromtoolCases.externalLabels, externalURL: TemplatePromtoolCases.externalURL, value: rule.value)
        var out: [(String, String, String)] = []
        for (index, template) in rule.templates.enumerated() {
            let parsed = try AlertTemplate("[" + template + "]", name: rule.alert)
            let expanded = await parsed.expand(data, querier: CaseQuerier())
            out.append((String(format: "c%03d", index), template, expanded))
        }
        return out
    }

    @Test func promtoolRendersWhatWeRender() async throws {
        var expanded: [String: [(key: String, template: String, expanded: String)]] = [:]
        for rule in TemplatePromtoolCases.rules { expanded[rule.alert] = try await Self.expansions(rule) }
        let directory = try PromtoolFiles(rules: TemplatePromtoolCases.rules, expansions: expanded)
        defer { directory.remove() }

        let result = try promtool(["test", "rules", directory.testFile])
        #expect(result.status == 0, "promtool disagrees:\n\(result.output.prefix(20_000))")
        #expect(result.output.contains("SUCCESS"))

        // The same file with one expectation changed must fail, or the test above proves nothing.
        var changed = expanded
        changed["Language"]![3].expanded += "x"
        let wrong = try PromtoolFiles(rules: TemplatePromtoolCases.rules, expansions: changed)
        defer { wrong.remove() }
        let failing = try promtool(["test", "rules", wrong.testFile])
        #expect(failing.status != 0)
        #expect(failing.output.contains("alertname: Language"))
    }

    @Test func everyCaseIsCounted() {
        let count = TemplatePromtoolCases.rules.map(\.templates.count).reduce(0, +)
        #expect(count > 250)
    }
}

/// A rule file and a promtool test file for the rules, with our expansions as `exp_annotations`.
struct PromtoolFiles {
    let directory: String
    var testFile: String { directory + "/test.yml" }

    init(rules: [PromtoolRule], expansions: [String: [(key: String, template: String, expanded: String)]]) throws {
        directory = NSTemporaryDirectory() + "canopy-templates-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var ruleFile = "groups:\n  - name: templates\n    rules:\n"
        for rule in rules {
            ruleFile += "      - alert: \(rule.alert)\n"
            ruleFile += "        expr: tmpl_value{case=\(yamlQuoted(rule.labels["case"]!))}\n"
            ruleFile += "        annotations:\n"
            for item in expansions[rule.alert]! { ruleFile += "          \(item.key): \(yamlQuoted("[" + item.template + "]"))\n" }
        }
        try ruleFile.write(toFile: directory + "/rules.yml", atomically: true, encoding: .utf8)

        var test = "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n"
        test += "    external_url: \(yamlQuoted(TemplatePromtoolCases.externalURL))\n"
        test += "    external_labels:\n"
        for (name, value) in TemplatePromtoolCases.externalLabels.sorted(by: { $0.key < $1.key }) { test += "      \(name): \(yamlQuoted(value))\n" }
        test += "    input_series:\n"
        for rule in rules {
            test += "      - series: \(yamlQuoted("tmpl_value" + Self.selector(rule.labels)))\n"
            test += "        values: \(yamlQuoted(Array(repeating: rule.seriesValue, count: 11).joined(separator: " ")))\n"
        }
        for series in TemplatePromtoolCases.querySeries {
            var labels = series.labels
            let name = labels.removeValue(forKey: "__name__")!
            test += "      - series: \(yamlQuoted(name + Self.selector(labels)))\n"
            test += "        values: \(yamlQuoted(Array(repeating: String(series.value), count: 11).joined(separator: " ")))\n"
        }
        test += "    alert_rule_test:\n"
        for rule in rules {
            test += "      - eval_time: 5m\n        alertname: \(rule.alert)\n        exp_alerts:\n          - exp_labels:\n"
            for (name, value) in rule.labels.sorted(by: { $0.key < $1.key }) { test += "              \(name): \(yamlQuoted(value))\n" }
            test += "            exp_annotations:\n"
            for item in expansions[rule.alert]! { test += "              \(item.key): \(yamlQuoted(item.expanded))\n" }
        }
        try test.write(toFile: testFile, atomically: true, encoding: .utf8)
    }

    /// `{a="x",b="y"}`, the values escaped as PromQL strings.
    static func selector(_ labels: [String: String]) -> String {
        let pairs = labels.sorted(by: { $0.key < $1.key }).map { name, value in
            name + "=\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return "{" + pairs.joined(separator: ",") + "}"
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

/// A YAML double-quoted scalar.
func yamlQuoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
            out += String(format: "\\x%02X", scalar.value)
        default: out.unicodeScalars.append(scalar)
        }
    }
    return out + "\""
}
