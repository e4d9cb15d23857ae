import CanopyTestSupport
import Foundation
import Shared
import Testing

@testable import Rules

/// Rule files are read as Prometheus reads them: a file `promtool check rules` accepts loads, and
/// one it refuses is refused with the problem's line, rule and reason.
@Suite struct RuleFileTests {
    static let valid = """
        groups:
          - name: exceptions
            interval: 30s
            limit: 100
            rules:
              - record: team:canopy_exceptions:rate5m
                expr: sum by (team) (rate(canopy_exceptions_total[5m]))
                labels:
                  source: canopy
              - alert: ExceptionBurst
                expr: team:canopy_exceptions:rate5m > 10
                for: 5m
                keep_firing_for: 10m
                labels:
                  severity: page
                annotations:
                  summary: "{{ $labels.team }} throws {{ $value | humanize }} exceptions a second"
          - name: leaves
            rules:
              - alert: LeafDown
                expr: canopy_leaf_up == 0
        """

    /// promtool's verdict on a rule file's text: its exit status and what it said.
    static func promtoolCheck(_ text: String) throws -> (status: Int32, output: String) {
        let file = NSTemporaryDirectory() + "canopy-rules-\(UUID().uuidString).yml"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try promtool(["check", "rules", file])
    }

    @Test func aValidFileLoadsWithEveryField() throws {
        #expect(try Self.promtoolCheck(Self.valid).status == 0)
        let file = try RuleFile.parse(Self.valid, file: "canopy.rules.yml")
        #expect(file.groups.map(\.name) == ["exceptions", "leaves"])
        let group = file.groups[0]
        #expect(group.interval == .seconds(30) && group.limit == 100 && file.groups[1].interval == nil)
        #expect(group.rules.map(\.name) == ["team:canopy_exceptions:rate5m", "ExceptionBurst"])
        #expect(group.rules[0].kind == .recording(name: "team:canopy_exceptions:rate5m"))
        #expect(group.rules[0].labels == ["source": "canopy"])
        #expect(group.rules[1].kind == .alerting(name: "ExceptionBurst", for: .seconds(300), keepFiringFor: .seconds(600)))
        #expect(group.rules[1].annotations["summary"]?.contains("humanize") == true)
        #expect(group.rules[1].line == 10)
    }

    /// Each broken file, the problem we report, and promtool refusing it too.
    static let broken: [(text: String, problem: String)] = [
        ("groups:\n  - name: a\n    rules:\n      - record: x\n        alert: y\n        expr: up\n", "only one of 'record' and 'alert' must be set"),
        ("groups:\n  - name: a\n    rules:\n      - expr: up\n", "one of 'record' or 'alert' must be set"),
        ("groups:\n  - name: a\n    rules:\n      - alert: A\n", "field 'expr' must be set in rule"),
        ("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: sum(up\n", "could not parse expression"),
        ("groups:\n  - name: a\n    rules:\n      - record: 'not a name'\n        expr: up\n", "invalid recording rule name: not a name"),
        ("groups:\n  - name: a\n    rules:\n      - record: r\n        expr: up\n        for: 5m\n", "invalid field 'for' in recording rule"),
        ("groups:\n  - name: a\n    rules:\n      - record: r\n        expr: up\n        annotations: {a: b}\n", "invalid field 'annotations' in recording rule"),
        ("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n        labels: {__name__: x}\n", "invalid label name: __name__"),
        ("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n        annotations: {'bad key': x}\n", "invalid annotation name: bad key"),
        ("groups:\n  - name: a\n    rules: []\n  - name: a\n    rules: []\n", "groupname: \"a\" is repeated in the same file"),
        ("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n        severity: page\n", "unknown key severity"),
        ("groups:\n  - name: a\n    interval: soon\n    rules: []\n", "interval"),
        ("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n        annotations: {s: '{{ $labels.x | nope }}'}\n",
         #"annotation "s": error parsing template __alert_A: template: __alert_A:1: function "nope" not defined"#),
        ("groups:\n  - name: a\n    rules:\n      - alert: A\n        expr: up\n        labels: {s: '{{ if }}'}\n", #"label "s": error parsing template __alert_A"#),
    ]

    @Test(arguments: 0..<broken.count) func aBrokenFileIsRefusedWithItsProblem(index: Int) throws {
        let (text, problem) = Self.broken[index]
        #expect(try Self.promtoolCheck(text).status != 0, "promtool accepts \(text)")
        do {
            _ = try RuleFile.parse(text, file: "bad.rules.yml")
            Issue.record("accepted: \(text)")
        } catch {
            let message = error.description
            #expect(message.contains(problem), "\(message)")
            #expect(message.hasPrefix("bad.rules.yml:"), "the file and line: \(message)")
        }
    }

    @Test func problemsNameTheRuleAndItsLine() throws {
        let text = "groups:\n  - name: exceptions\n    rules:\n      - alert: Fine\n        expr: up\n      - alert: Broken\n        expr: rate(up)\n"
        do {
            _ = try RuleFile.parse(text, file: "canopy.rules.yml")
            Issue.record("accepted")
        } catch {
            #expect(error.issues.count == 1)
            let issue = try #require(error.issues.first)
            #expect(issue.line == 7, "the expression's line")
            #expect(issue.message.hasPrefix(#"group "exceptions", rule 2, "Broken": could not parse expression"#), "\(issue.message)")
        }
    }
}
