import Foundation
import Testing

@testable import Rules

/// Every way a template could run away ends in an error within the limits.
@Suite struct TemplateLimitsTests {
    static let data = TemplateData(labels: ["job": "api"], externalLabels: [:], externalURL: "", value: 1)
    static let small = TemplateLimits(maximumTextBytes: 4096, maximumOutputBytes: 1000, maximumTemplateDepth: 10, maximumSteps: 5000, maximumQueries: 3)

    /// The execution error of `text` under `limits`.
    static func failure(_ text: String, limits: TemplateLimits = small, querier: (any TemplateQuerier)? = nil) async throws -> String {
        let template = try AlertTemplate(text, name: "L", limits: limits)
        do {
            let output = try await template.render(data, querier: querier)
            return "rendered \(output.utf8.count) bytes"
        } catch {
            #expect(error.stage == .execute)
            return error.message
        }
    }

    @Test func textLength() {
        let long = String(repeating: "x", count: 4097)
        #expect(throws: TemplateError(stage: .parse, message: "template: __alert_L: the template is 4097 bytes, more than the limit of 4096")) {
            try AlertTemplate(long, name: "L", limits: Self.small)
        }
        #expect(throws: Never.self) { try AlertTemplate(String(repeating: "x", count: 4096), name: "L", limits: Self.small) }
    }

    @Test func outputLength() async throws {
        let message = try await Self.failure("{{ range $k, $v := args 1 2 3 4 5 6 7 8 9 10 }}" + String(repeating: "0123456789", count: 11) + "{{ end }}")
        #expect(message.hasSuffix("output exceeds 1000 bytes"), "\(message)")
        let exact = try AlertTemplate(String(repeating: "x", count: 1000), name: "L", limits: Self.small)
        let rendered = try await exact.render(Self.data, querier: nil)
        #expect(rendered.utf8.count == 1000)
    }

    @Test func valuesCannotOutgrowTheOutput() async throws {
        let doubling = "{{ $x := \"0123456789\" }}" + String(repeating: "{{ $x = printf \"%s%s\" $x $x }}", count: 40) + "{{ len $x }}"
        let message = try await Self.failure(doubling)
        #expect(message.hasSuffix("error calling printf: the result is longer than 1000 bytes"), "\(message)")
        let wide = try await Self.failure("{{ printf \"%9999999d\" 1 | len }}")
        #expect(wide.hasSuffix("the result is longer than 1000 bytes"), "\(wide)")
        let replaced = try await Self.failure("{{ reReplaceAll \"\" \"0123456789\" \"0123456789012345678901234567890123456789\" | reReplaceAll \"\" \"0123456789\" }}")
        #expect(replaced.hasSuffix("error calling reReplaceAll: the result is longer than 1000 bytes"), "\(replaced)")
        let printed = try await Self.failure("{{ $x := printf \"%900d\" 1 }}{{ print $x $x $x $x | len }}")
        #expect(printed.hasSuffix("error calling print: the result is longer than 1000 bytes"), "\(printed)")
    }

    @Test func recursionDepth() async throws {
        let message = try await Self.failure("{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" . }}")
        #expect(message.hasSuffix("exceeded maximum template depth (10)"), "\(message)")
        #expect(message.contains("executing \"r\" at <{{template \"r\" .}}>"))
    }

    @Test func exponentialRecursionRunsOutOfSteps() async throws {
        let fanOut = """
            {{ define "f" }}{{ if lt (len .) 30 }}{{ template "f" (printf "%sx" .) }}{{ template "f" (printf "%sx" .) }}{{ end }}{{ end }}\
            {{ template "f" "" }}
            """
        let limits = TemplateLimits(maximumTextBytes: 4096, maximumOutputBytes: 1000, maximumTemplateDepth: 60, maximumSteps: 5000, maximumQueries: 3)
        let message = try await Self.failure(fanOut, limits: limits)
        #expect(message.hasSuffix("template takes more than 5000 steps"), "\(message)")
    }

    @Test func rangeIterationsCountAsSteps() async throws {
        struct ManySeries: TemplateQuerier {
            func query(_ expression: String) async throws -> [TemplateSample] {
                (0..<10_000).map { TemplateSample(labels: ["i": String($0)], value: Double($0)) }
            }
        }
        let message = try await Self.failure("{{ range query \"x\" }}{{ end }}", querier: ManySeries())
        #expect(message.hasSuffix("template takes more than 5000 steps"), "\(message)")
    }

    @Test func queries() async throws {
        struct One: TemplateQuerier {
            func query(_ expression: String) async throws -> [TemplateSample] { [TemplateSample(labels: [:], value: 1)] }
        }
        let message = try await Self.failure("{{ range args 1 2 3 4 }}{{ query \"x\" | first | value }}{{ end }}", querier: One())
        #expect(message.hasSuffix("error calling query: more than 3 queries in one expansion"), "\(message)")
        let fine = try await Self.failure("{{ range args 1 2 3 }}{{ query \"x\" | first | value }}{{ end }}", querier: One())
        #expect(fine == "rendered 3 bytes")
    }

    @Test func standardLimitsAllowRealTemplates() async throws {
        let text = """
            {{ $labels.job }} has {{ printf "%.2f" $value }} errors per second{{ range $k, $v := $labels }} {{ $k }}={{ $v }}{{ end }}
            """
        let rendered = try await AlertTemplate(text, name: "L").render(Self.data, querier: nil)
        #expect(rendered == "api has 1.00 errors per second job=api")
    }
}
