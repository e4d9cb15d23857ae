import Foundation
import Testing

@testable import Rules

/// The public surface others call: parse once, render many times, what an expansion puts in the
/// annotation, and what promtool cannot show (its rules have no external URL to use).
@Suite struct TemplateAPITests {
    static let data = TemplateData(
        labels: ["job": "api", "instance": "web-1:8080"], externalLabels: ["team": "checkout"],
        externalURL: "https://hub.example.com/canopy/", value: 0.5)

    struct Recorder: TemplateQuerier {
        struct Failed: Error, CustomStringConvertible { var description: String }
        let fail: Bool

        func query(_ expression: String) async throws -> [TemplateSample] {
            if fail { throw Failed(description: "1:5: parse error: unexpected <EOF>") }
            return [TemplateSample(labels: ["expr": expression], value: 2)]
        }
    }

    @Test func parseOnceRenderMany() async throws {
        let template = try AlertTemplate("{{ $labels.job }} at {{ humanizePercentage $value }}", name: "HighErrors")
        #expect(template.templateName == "__alert_HighErrors")
        #expect(template.text == "{{ $labels.job }} at {{ humanizePercentage $value }}")
        var data = Self.data
        let first = try await template.render(data, querier: nil)
        data.value = 0.25
        data.labels["job"] = "db"
        let second = try await template.render(data, querier: nil)
        #expect(first == "api at 50%")
        #expect(second == "db at 25%")
    }

    @Test func expandWritesPrometheusErrorText() async throws {
        let template = try AlertTemplate("{{ humanize \"x\" }}", name: "A")
        let text = await template.expand(Self.data, querier: nil)
        let prefix = "<error expanding template: error executing template __alert_A: template: __alert_A:1:"
        #expect(text.hasPrefix(prefix), "\(text)")
        #expect(text.hasSuffix("error calling humanize: strconv.ParseFloat: parsing \"x\": invalid syntax>"))
        do {
            _ = try await template.render(Self.data, querier: nil)
            Issue.record("rendered")
        } catch {
            #expect(error.stage == .execute)
            #expect(error.prometheusText(templateName: template.templateName) == String(text.dropFirst("<error expanding template: ".count).dropLast()))
        }
    }

    @Test func parseErrorsAreTyped() {
        #expect(throws: TemplateError(stage: .parse, message: "template: __alert_A:1: function \"nope\" not defined")) {
            try AlertTemplate("{{ nope }}", name: "A")
        }
        let error = TemplateError(stage: .parse, message: "template: x:1: boom")
        #expect(error.description == "template: x:1: boom")
        #expect(error.prometheusText(templateName: "x") == "error parsing template x: template: x:1: boom")
    }

    @Test func queriesGoToTheQuerier() async throws {
        let template = try AlertTemplate("{{ with query \"up{job='api'}\" }}{{ (first .).Labels.expr }}={{ (first .).Value }}{{ end }}", name: "Q")
        let rendered = try await template.render(Self.data, querier: Recorder(fail: false))
        #expect(rendered == "up{job='api'}=2")
        let failed = await template.expand(Self.data, querier: Recorder(fail: true))
        #expect(failed.hasSuffix("error calling query: 1:5: parse error: unexpected <EOF>>"), "\(failed)")
        let none = await template.expand(Self.data, querier: nil)
        #expect(none.hasSuffix("error calling query: no querier to run queries with>"), "\(none)")
    }

    @Test func externalURLFunctions() async throws {
        let template = try AlertTemplate("{{ externalURL }} {{ pathPrefix }} {{ $externalURL }}", name: "U")
        let rendered = try await template.render(Self.data, querier: nil)
        #expect(rendered == "https://hub.example.com/canopy/ /canopy/ https://hub.example.com/canopy/")
    }

    @Test func dataEquality() {
        var nan = Self.data
        nan.value = .nan
        #expect(nan == nan)
        #expect(nan != Self.data)
        #expect(TemplateSample(labels: ["a": "b"], value: .nan) == TemplateSample(labels: ["a": "b"], value: .nan))
    }

    @Test func concurrentRenders() async throws {
        let template = try AlertTemplate("{{ range $k, $v := $labels }}{{ $k }}={{ $v }} {{ end }}{{ $value }}", name: "C")
        let outputs = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<32 {
                group.addTask {
                    let data = TemplateData(labels: ["i": String(index)], externalLabels: [:], externalURL: "", value: Double(index))
                    return try await template.render(data, querier: nil)
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(outputs.count == 32)
        #expect(outputs.contains("i=7 7"))
    }
}
