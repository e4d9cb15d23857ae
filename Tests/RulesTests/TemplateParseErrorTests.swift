import CanopyTestSupport
import Foundation
import Testing

@testable import Rules

/// Parse errors: Go's messages at Go's lines, checked two ways. Each case's message is written
/// out as Go gives it, and `promtool check rules` (Prometheus 2.42) must report the same for a
/// rule file of all the cases.
@Suite struct TemplateParseErrorTests {
    /// A template and the error Prometheus reports for it when the alert is called `P`.
    static let cases: [(template: String, message: String)] = [
        ("{{ nope }}", #"template: __alert_P:1: function "nope" not defined"#),
        ("{{ now }}", #"template: __alert_P:1: function "now" not defined"#),
        ("{{ $x }}", #"template: __alert_P:1: undefined variable "$x""#),
        ("{{ if }}x{{ end }}", "template: __alert_P:1: missing value for if"),
        ("{{ with }}x{{ end }}", "template: __alert_P:1: missing value for with"),
        ("{{ end }}", "template: __alert_P:1: unexpected {{end}}"),
        ("{{ else }}", "template: __alert_P:1: unexpected {{else}}"),
        ("{{ if 1 }}", "template: __alert_P:1: unexpected EOF"),
        ("a\nb\n{{ if 1 }}\nc", "template: __alert_P:4: unexpected EOF"),
        ("{{ range $a, $b, $c := . }}{{ end }}", "template: __alert_P:1: too many declarations in range"),
        ("{{ range $a, 1 }}{{ end }}", "template: __alert_P:1: range can only initialize variables"),
        ("{{ $a, $b := 1 }}", "template: __alert_P:1: too many declarations in command"),
        ("{{ \"unterminated }}", "template: __alert_P:1: unterminated quoted string"),
        ("{{ 'ab' }}", "template: __alert_P:1: malformed character constant: 'ab'"),
        ("{{ 1 | 2 }}", "template: __alert_P:1: non executable command in pipeline stage 2"),
        ("{{ .x | \"a\" }}", "template: __alert_P:1: non executable command in pipeline stage 2"),
        ("{{ ( }}", "template: __alert_P:1: unclosed left paren"),
        ("{{ ) }}", #"template: __alert_P:1: unexpected ")" in command"#),
        ("{{ (1)) }}", #"template: __alert_P:1: unexpected ")" in command"#),
        ("{{ 3x }}", #"template: __alert_P:1: bad number syntax: "3x""#),
        ("{{ .a% }}", "template: __alert_P:1: bad character U+0025 '%'"),
        ("{{ ^ }}", #"template: __alert_P:1: unexpected "^" in command"#),
        ("{{ € }}", "template: __alert_P:1: unrecognized character in action: U+20AC '€'"),
        ("{{/* unclosed", "template: __alert_P:1: unclosed comment"),
        ("{{/* c */ x }}", "template: __alert_P:1: comment ends before closing delimiter"),
        ("{{ .x", "template: __alert_P:1: unclosed action"),
        ("{{ .x\n\n", "template: __alert_P:3: unclosed action started at __alert_P:1"),
        ("{{ \"a\n\" }}", "template: __alert_P:1: unterminated quoted string"),
        ("{{ if 1 }}\n{{ \"a\n\" }}{{ end }}", "template: __alert_P:2: unterminated quoted string"),
        ("{{ (1\n) | 2 }}", "template: __alert_P:2: non executable command in pipeline stage 2"),
        ("{{ define \"a\" }}x{{ end }}{{ define \"a\" }}y{{ end }}", #"template: __alert_P:1: template: multiple definition of template "a""#),
        ("{{ break }}", "template: __alert_P:1: {{break}} outside {{range}}"),
        ("{{ continue }}", "template: __alert_P:1: {{continue}} outside {{range}}"),
        ("{{ range . }}{{ break 1 }}{{ end }}", #"template: __alert_P:1: unexpected "1" in {{break}}"#),
        ("{{ template 1 }}", #"template: __alert_P:1: unexpected "1" in template clause"#),
        ("{{ define 1 }}{{ end }}", #"template: __alert_P:1: unexpected "1" in define clause"#),
        ("{{ 1.x }}", #"template: __alert_P:1: bad number syntax: "1.x""#),
        ("{{ \"a\".x }}", #"template: __alert_P:1: unexpected . after term "\"a\"""#),
        ("{{ 99999999999999999999 }}", #"template: __alert_P:1: integer overflow: "99999999999999999999""#),
        ("{{ 0x1.8 }}", #"template: __alert_P:1: illegal number syntax: "0x1.8""#),
        ("{{ \"\\q\" }}", "template: __alert_P:1: invalid syntax"),
        ("{{ $x := 1 }}{{ $x := }}", "template: __alert_P:1: missing value for command"),
        ("{{ if 1 }}{{ else }}{{ else }}{{ end }}", "template: __alert_P:1: expected end; found {{else}}"),
        ("{{ range . }}{{ else if 1 }}{{ end }}", "template: __alert_P:1: unexpected <if> in input"),
        ("{{ block \"x\" }}{{ end }}", "template: __alert_P:1: missing value for block clause"),
        ("{{ | 1 }}", #"template: __alert_P:1: unexpected "|" in command"#),
        ("{{ define \"a\" }}{{ else }}{{ end }}", "template: __alert_P:1: unexpected {{else}} in define clause"),
        ("{{ define \"a\" }}", "template: __alert_P:1: unexpected EOF"),
        ("{{ range $x := . }}{{ end }}{{ $x }}", #"template: __alert_P:1: undefined variable "$x""#),
        ("{{ .x.y. }}", "template: __alert_P:1: unexpected <.> in operand"),
        ("{{ \"\\xzz\" }}", "template: __alert_P:1: invalid syntax"),
        ("{{ `a` | `b` }}", "template: __alert_P:1: non executable command in pipeline stage 2"),
        ("{{ nil.x }}", #"template: __alert_P:1: unexpected . after term "nil""#),
        ("{{ .x := 1 }}", #"template: __alert_P:1: unexpected ":=" in operand"#),
        ("{{ 1 := 2 }}", #"template: __alert_P:1: unexpected ":=" in operand"#),
        ("{{ $x : 2 }}", #"template: __alert_P:1: undefined variable "$x""#),
        ("{{ $x := 1 }}{{ $x : 2 }}", "template: __alert_P:1: expected :="),
        ("{{ if 1 }}{{ else if }}{{ end }}", "template: __alert_P:1: missing value for if"),
        ("text {{- 1 -}}}} more {{ 2 }", #"template: __alert_P:1: unexpected "}" in operand"#),
    ]

    @Test func messagesAreGos() {
        var mismatches: [String] = []
        for (template, message) in Self.cases {
            do {
                _ = try AlertTemplate(template, name: "P")
                mismatches.append("\(template): parsed")
            } catch {
                if error.message != message || error.stage != .parse { mismatches.append("\(template):\n  got  \(error.message)\n  want \(message)") }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.joined(separator: "\n"))")
    }

    @Test func promtoolCheckRulesReportsTheSame() throws {
        let directory = NSTemporaryDirectory() + "canopy-template-errors-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var rules = "groups:\n  - name: errors\n    rules:\n"
        for (index, item) in Self.cases.enumerated() {
            rules += "      - alert: P\n        expr: up\n        annotations:\n          c\(String(format: "%03d", index)): \(yamlQuoted(item.template))\n"
        }
        try rules.write(toFile: directory + "/rules.yml", atomically: true, encoding: .utf8)
        let result = try promtool(["check", "rules", directory + "/rules.yml"])
        #expect(result.status != 0)
        for (index, item) in Self.cases.enumerated() {
            let line = "annotation \"c\(String(format: "%03d", index))\": \(item.message)"
            #expect(result.output.contains(line), "promtool does not say: \(line)")
        }
    }

    @Test func positionsCountTheDefinitionsOnTheFirstLineOnly() async throws {
        let data = TemplateData(labels: [:], externalLabels: [:], externalURL: "", value: 0)
        let first = try AlertTemplate("{{ .Nope }}", name: "X")
        let second = try AlertTemplate("a\n  {{ .Nope }}", name: "X")
        await #expect(throws: TemplateError.self) { try await first.render(data, querier: nil) }
        let column = AlertTemplate.definitions.utf8.count + 3
        let firstText = await first.expand(data, querier: nil)
        let secondText = await second.expand(data, querier: nil)
        #expect(firstText.contains("template: __alert_X:1:\(column): executing \"__alert_X\" at <.Nope>"))
        #expect(secondText.contains("template: __alert_X:2:5: executing"))
        #expect(secondText.hasPrefix("<error expanding template: error executing template __alert_X: template: __alert_X:2:5:"))
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "(", count: 150) + "1" + String(repeating: ")", count: 150)
        #expect(throws: TemplateError.self) { try AlertTemplate("{{ \(deep) }}", name: "X") }
        let fine = String(repeating: "(", count: 50) + "1" + String(repeating: ")", count: 50)
        #expect(throws: Never.self) { try AlertTemplate("{{ \(fine) }}", name: "X") }
    }
}
