import CanopyTestSupport
import Foundation
@testable import PromQL

/// The tree with every binary and unary node in parentheses and `paren(…)` for parentheses kept
/// from the source, so tests can state precedence and associativity exactly.
func structure(_ expr: Expr) -> String {
    switch expr {
    case .number, .string, .vectorSelector, .matrixSelector:
        return expr.description
    case .paren(let node):
        return "paren(\(structure(node.expr)))"
    case .unary(let node):
        return "(\(node.op.rawValue)\(structure(node.expr)))"
    case .binary(let node):
        var copy = node
        copy.lhs = .vectorSelector(VectorSelector(name: "L", matchers: []))
        copy.rhs = .vectorSelector(VectorSelector(name: "R", matchers: []))
        // The operator with its modifiers, as the printer writes them between the operands.
        let op = copy.description.dropFirst(2).dropLast(2)
        return "(\(structure(node.lhs)) \(op) \(structure(node.rhs)))"
    case .call(let node):
        return "\(node.function.name)(\(node.args.map(structure).joined(separator: ", ")))"
    case .aggregate(let node):
        var copy = node
        copy.expr = .vectorSelector(VectorSelector(name: "E", matchers: []))
        copy.param = nil
        let head = copy.description.dropLast(2)
        return head + (node.param.map { structure($0) + ", " } ?? "") + structure(node.expr) + ")"
    case .subquery(let node):
        var copy = node
        copy.expr = .vectorSelector(VectorSelector(name: "E", matchers: []))
        return structure(node.expr) + copy.description.dropFirst(1)
    }
}

/// Parses or returns the error's description, for compact expectations.
func outcome(_ query: String, limits: ParseLimits = .default) -> String {
    do {
        return "OK " + (try PromQLParser.parse(query, limits: limits)).description
    } catch {
        return error.description
    }
}

/// One entry of parser-corpus.txt: a query and what Prometheus 2.42 says of it.
struct CorpusEntry: Sendable, CustomStringConvertible {
    var query: String
    /// nil when Prometheus accepts the query, else its error message.
    var expectedError: String?
    var line: Int

    var description: String { "line \(line): \(query)" }

    static func load() throws -> [CorpusEntry] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("parser-corpus.txt")
        let text = try String(contentsOf: url, encoding: .utf8)
        var entries: [CorpusEntry] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
            guard fields.count == 2 else { throw CorpusError(message: "line \(index + 1): no tab between query and outcome") }
            let query = try decode(fields[0], line: index + 1)
            let expected = try decode(fields[1], line: index + 1)
            entries.append(CorpusEntry(query: query, expectedError: expected == "OK" ? nil : expected, line: index + 1))
        }
        return entries
    }

    private static func decode(_ field: Substring, line: Int) throws -> String {
        guard field.hasPrefix("json:") else { return String(field) }
        let data = Data(field.dropFirst(5).utf8)
        guard let value = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? String else {
            throw CorpusError(message: "line \(line): bad json: field")
        }
        return value
    }
}

struct CorpusError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Prometheus 2.42 names the `@` token `"<Item 57385>" <op:@>` in messages (its item type has no
/// name); we write `<op:@>`. The only wording we change on purpose.
func normalizedPrometheusMessage(_ message: String) -> String {
    message.replacingOccurrences(of: "\"<Item 57385>\" <op:@>", with: "<op:@>")
}

/// promtool's `subcommand` (`check rules`, `test rules`) on a file holding `yaml`: its exit
/// status and output. promtool comes from Debian's prometheus package, which CI installs.
func runPromtool(_ subcommand: [String], onFile yaml: String) throws -> (status: Int32, output: String) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("promql-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent("rules.yml")
    try yaml.write(to: file, atomically: true, encoding: .utf8)
    return try promtool(subcommand + [file.path])
}

/// A YAML double-quoted scalar holding `text` exactly.
func yamlQuoted(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        default:
            let v = scalar.value
            if v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029 || v == 0xFEFF || v == 0xFFFE || v == 0xFFFF {
                let hex = String(v, radix: 16)
                out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
