import CanopyTestSupport
import Foundation
import Testing

@testable import Rules

/// Random templates, the same on every run, against promtool: expressions of every function and
/// constant, `printf` with random flags, widths and verbs, nested structure with trim markers,
/// comments, variables and definitions, and the same structures with random edits, whose parse
/// errors (or lack of them) must be promtool's. Writing the hand-picked cases found little that
/// these did not; these found what the hand-picked ones missed.
@Suite struct TemplateRandomTests {
    @Test(arguments: [1, 2] as [UInt64]) func expressions(seed: UInt64) async throws {
        var random = TemplateGenerator(seed: seed)
        try await Self.expectPromtoolAgrees(random.validTemplates(400) { $0.statement() })
    }

    @Test(arguments: [3, 4] as [UInt64]) func structures(seed: UInt64) async throws {
        var random = TemplateGenerator(seed: seed)
        try await Self.expectPromtoolAgrees(random.validTemplates(300) { $0.structure(depth: 0, vars: ["$labels", "$value"]) })
    }

    @Test(arguments: [5, 6] as [UInt64]) func parseErrorsOfEditedTemplates(seed: UInt64) throws {
        var random = TemplateGenerator(seed: seed)
        let templates = (0..<300).map { _ in random.edited(random.structure(depth: 0, vars: ["$labels", "$value"])) }
        let directory = NSTemporaryDirectory() + "canopy-template-edits-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var rules = "groups:\n  - name: edits\n    rules:\n"
        for (index, template) in templates.enumerated() {
            rules += "      - alert: P\n        expr: up\n        annotations:\n          c\(String(format: "%03d", index)): \(yamlQuoted(template))\n"
        }
        try rules.write(toFile: directory + "/rules.yml", atomically: true, encoding: .utf8)
        let result = try promtool(["check", "rules", directory + "/rules.yml"])
        let lines = result.output.split(separator: "\n")
        var errors = 0
        for (index, template) in templates.enumerated() {
            let key = "annotation \"c\(String(format: "%03d", index))\": "
            let promtoolSays = lines.first { $0.contains(key) }.map { String($0[$0.range(of: key)!.upperBound...]) }
            var ours: String?
            do { _ = try AlertTemplate(template, name: "P") } catch { ours = error.message }
            if ours != nil { errors += 1 }
            #expect(ours == promtoolSays, "\(template.debugDescription)")
        }
        // Most edits break the template; some leave it valid, and both must agree.
        #expect(errors > 150 && errors < 300)
    }

    /// Renders every template as one alert's annotations and requires promtool to render the same.
    /// Outputs that print a pointer (a query result's addresses) differ on every run, and are left out.
    static func expectPromtoolAgrees(_ templates: [String]) async throws {
        let rule = PromtoolRule(
            alert: "Random", labels: ["case": "random", "job": "api", "instance": "a.b:1"], seriesValue: "2.5", value: 2.5, templates: templates)
        let expansions = try await TemplatePromtoolTests.expansions(rule).filter { !$0.expanded.contains("c00001") && !$0.expanded.contains("82463378") }
        #expect(expansions.count > templates.count * 9 / 10)
        let files = try PromtoolFiles(rules: [rule], expansions: ["Random": expansions])
        defer { files.remove() }
        let result = try promtool(["test", "rules", files.testFile])
        #expect(result.status == 0, "promtool disagrees:\n\(result.output.prefix(20_000))")
    }
}

/// Random templates from a small grammar of what alert templates use.
struct TemplateGenerator {
    private var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    private mutating func pick<T>(_ items: [T]) -> T { items[random.next(below: items.count)] }
    private mutating func chance(_ n: Int) -> Bool { random.next(below: n) == 0 }

    /// `count` templates that parse (the grammar can make ones that do not, as `{{ 1 | 2 }}`).
    mutating func validTemplates(_ count: Int, _ make: (inout TemplateGenerator) -> String) -> [String] {
        var out: [String] = []
        while out.count < count {
            let text = make(&self)
            if (try? AlertTemplate("[" + text + "]", name: "Random")) != nil { out.append(text) }
        }
        return out
    }

    static let atoms = [
        "1", "0", "-2", "3.5", "1e6", "0.001", "1e-9", "'x'", "\"a\"", "\"\"", "\"1.5\"", "\"abc def\"", "true", "false", "nil", ".", "$",
        ".Labels", ".Labels.job", ".Labels.missing", "$labels.instance", "$value", ".Value", "$externalLabels", "$externalURL",
        "(args 1 \"b\")", "(query \"sort(q_metric)\")", "(first (query \"sort(q_metric)\"))", "(toTime 1.5)", "(safeHtml \"<i>\")",
        "\"-12.75\"", "\"NaN\"", "\"Inf\"", "12345678", "0x10", "2.5e3", "\"%d\"", "\"%v\"",
    ]
    static let functions = [
        "print", "println", "printf \"%v-%s\"", "printf \"%d|%5.2f\"", "printf \"%q %x\"", "printf \"%T\"", "len", "not", "and", "or",
        "eq", "ne", "lt", "le", "gt", "ge", "index", "slice", "html", "js", "urlquery", "humanize", "humanize1024", "humanizeDuration",
        "humanizePercentage", "humanizeTimestamp", "toUpper", "toLower", "title", "stripPort", "stripDomain", "match \"a\"",
        "reReplaceAll \"[aeiou]\" \"_\"", "safeHtml", "args", "first", "label \"job\"", "value", "strvalue", "sortByLabel \"zone\"",
        "toTime", "parseDuration", "graphLink", "tableLink",
    ]
    static let printfValues = [
        "1", "-1", "0", "42", "255", "-255", "65", "1.5", "-0.5", "0.0", "1e21", "1e-7", "123456.789", "\"a\"", "\"héllo\"", "\"\"", "true",
        "nil", ".Labels", "$value", "(args 1)", "(safeHtml \"x\")", "'\\n'", "\"NaN\"", "(humanize \"NaN\")", "(parseDuration \"1h\")", "(1i)",
        "(toTime 2)",
    ]
    static let verbs = ["v", "d", "s", "q", "x", "X", "f", "F", "e", "E", "g", "G", "t", "c", "U", "b", "o", "O", "T", "%", "z"]
    static let texts = ["", " ", "\n", "  \n\t", "x", "a b", "\n\nline\n", "-", "}", "{", "é"]

    mutating func expression(depth: Int) -> String {
        let choice = random.next(below: 10)
        if depth > 2 || choice < 4 { return pick(Self.atoms) }
        if choice < 8 {
            let args = (0..<random.next(below: 3)).map { _ in expression(depth: depth + 1) }
            return "(" + ([pick(Self.functions)] + args).joined(separator: " ") + ")"
        }
        return "(" + expression(depth: depth + 1) + " | " + pick(Self.functions) + ")"
    }

    /// A `printf` format of one to three verbs with random flags, width and precision.
    mutating func format() -> String {
        var out = ""
        for _ in 0...random.next(below: 3) {
            out += pick(["", "x", " ", "|"]) + "%"
            for _ in 0..<random.next(below: 3) { out += pick(["#", "0", "+", "-", " "]) }
            if chance(2) { out += String(random.next(below: 13)) }
            if chance(3) { out += "." + (chance(2) ? String(random.next(below: 9)) : "") }
            let verb = pick(Self.verbs)
            // `%#v` is Go syntax, not done beyond strings, maps, the alert data and times.
            out += verb == "v" && out.hasSuffix("#") ? "d" : verb
        }
        return out
    }

    mutating func statement() -> String {
        if chance(3) {
            let args = (0..<random.next(below: 5)).map { _ in pick(Self.printfValues) }
            return "{{ printf \"\(format())\" \(args.joined(separator: " ")) }}"
        }
        switch random.next(below: 6) {
        case 0: return "{{ if \(expression(depth: 1)) }}T{{ else }}F{{ end }}"
        case 1: return "{{ range $k, $v := \(expression(depth: 1)) }}{{ $k }}={{ $v }};{{ else }}E{{ end }}"
        case 2: return "{{ with \(expression(depth: 1)) }}{{ . }}{{ end }}"
        default: return "{{ \(expression(depth: 0)) }}"
        }
    }

    /// Text and nested actions, with trim markers, comments, variables and a definition.
    mutating func structure(depth: Int, vars: [String]) -> String {
        var out = ""
        var vars = vars
        for _ in 0...random.next(below: 4) {
            out += pick(Self.texts)
            let open = chance(2) ? "{{- " : "{{ "
            let close = chance(2) ? " -}}" : " }}"
            let value = vars.isEmpty || chance(2) ? expression(depth: 2) : pick(vars)
            switch random.next(below: 10) {
            case 0 where depth < 3:
                out += open + "if " + value + close + structure(depth: depth + 1, vars: vars)
                if chance(2) { out += open + "else" + close + structure(depth: depth + 1, vars: vars) }
                out += open + "end" + close
            case 1 where depth < 3:
                out += open + "range $i, $e := " + value + close + structure(depth: depth + 1, vars: vars + ["$i", "$e"]) + open + "end" + close
            case 2 where depth < 3:
                out += open + "with " + value + close + structure(depth: depth + 1, vars: vars + ["."]) + open + "end" + close
            case 3:
                let name = "$v\(vars.count)"
                out += open + name + " := " + value + close
                vars.append(name)
            case 4 where vars.contains(where: { $0.hasPrefix("$v") }):
                out += open + vars.first(where: { $0.hasPrefix("$v") })! + " = " + value + close
            case 5:
                out += open.dropLast() + "/* c\n */" + close.dropFirst()
            case 6 where depth == 0:
                out += "{{ define \"d\" }}" + structure(depth: 2, vars: []) + "{{ end }}{{ template \"d\" " + value + " }}"
            default:
                out += open + value + close
            }
        }
        return out + pick(Self.texts)
    }

    /// `text` with one or two characters deleted or tokens inserted.
    mutating func edited(_ text: String) -> String {
        var scalars = Array(text.unicodeScalars)
        let inserts = ["{", "}", "{{", "}}", "(", ")", "$", ".", "|", "\"", "'", "`", "-", ":", "=", " ", "\n", ",", "end", "else", "if", "/*", "*/", "1", "x"]
        for _ in 0...random.next(below: 2) where !scalars.isEmpty {
            let at = random.next(below: scalars.count)
            if chance(2) {
                scalars.remove(at: at)
            } else {
                scalars.insert(contentsOf: pick(inserts).unicodeScalars, at: at)
            }
        }
        return String(String.UnicodeScalarView(scalars))
    }
}
