import Foundation
import Yams

/// Why a target-group document was rejected, naming the entry that is wrong
/// (`entry 2: targets must be a list of strings`).
public struct TargetGroupParseError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Prometheus's target-group document, shared by file SD and HTTP SD:
/// `[{"targets": ["host:port", ...], "labels": {"name": "value", ...}}, ...]`, as JSON or YAML.
public enum TargetGroupParser {
    public enum Format: String, Sendable, Equatable { case json, yaml }

    /// A YAML alias repeats a node without repeating its bytes, so the size of the file alone
    /// does not bound the work: cap the values we are willing to look at.
    public static let maxValues = 4_000_000

    /// Parses `data`; group `i` gets the source `"<source>:<i>"`. An empty YAML document (or JSON
    /// `null`) is an empty list, as in Prometheus.
    public static func parse(_ data: Data, format: Format, source: String) throws(TargetGroupParseError) -> [TargetGroup] {
        let root: DocumentValue
        switch format {
        case .json: root = try decodeJSON(data)
        case .yaml: root = try decodeYAML(data)
        }
        return try groups(from: root, source: source)
    }

    static func groups(from root: DocumentValue, source: String) throws(TargetGroupParseError) -> [TargetGroup] {
        let entries: [DocumentValue]
        switch root {
        case .null: return []
        case .list(let list): entries = list
        default: throw TargetGroupParseError("the document must be a list of target groups, not \(root.kind)")
        }
        var groups: [TargetGroup] = []
        groups.reserveCapacity(entries.count)
        for (index, entry) in entries.enumerated() {
            groups.append(try group(from: entry, index: index, source: source))
        }
        return groups
    }

    private static func group(from entry: DocumentValue, index: Int, source: String) throws(TargetGroupParseError) -> TargetGroup {
        func fail(_ reason: String) -> TargetGroupParseError { TargetGroupParseError("entry \(index): \(reason)") }
        guard case .map(let fields) = entry else {
            throw fail("must be a map with \"targets\" and \"labels\", not \(entry.kind)")
        }
        // Prometheus reads these files strictly: a misspelt key is an error, not an empty group.
        for key in fields.keys.sorted() where key != "targets" && key != "labels" {
            throw fail("unknown key \"\(key)\" (expected \"targets\" and \"labels\")")
        }

        var targets: [Labels] = []
        switch fields["targets"] {
        case nil, .null?: break
        case .list(let items)?:
            targets.reserveCapacity(items.count)
            for (position, item) in items.enumerated() {
                guard case .string(let address) = item else { throw fail("targets must be a list of strings") }
                guard !address.isEmpty else { throw fail("target \(position) is empty") }
                targets.append(Labels([LabelName.address: address]))
            }
        default: throw fail("targets must be a list of strings")
        }

        var labels: [String: String] = [:]
        switch fields["labels"] {
        case nil, .null?: break
        case .map(let values)?:
            for name in values.keys.sorted() {
                guard !name.isEmpty else { throw fail("label names must not be empty") }
                guard case .string(let value)? = values[name] else { throw fail("label value for \"\(name)\" must be a string") }
                labels[name] = value
            }
        default: throw fail("labels must be a map of strings")
        }
        return TargetGroup(source: "\(source):\(index)", targets: targets, labels: Labels(labels))
    }

    // MARK: Decoding into one shape for both formats

    private static func decodeJSON(_ data: Data) throws(TargetGroupParseError) -> DocumentValue {
        do {
            return try JSONDecoder().decode(DocumentValue.self, from: data)
        } catch let error as DecodingError {
            throw TargetGroupParseError("invalid JSON: \(describe(error))")
        } catch {
            throw TargetGroupParseError("invalid JSON: \(error)")
        }
    }

    private static func decodeYAML(_ data: Data) throws(TargetGroupParseError) -> DocumentValue {
        guard let text = String(data: data, encoding: .utf8) else { throw TargetGroupParseError("invalid YAML: not UTF-8") }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw TargetGroupParseError("invalid YAML: \(error)")
        }
        guard let node else { return .null }
        var budget = maxValues
        return try DocumentValue(yaml: node, budget: &budget)
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .dataCorrupted(let context), .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context):
            let underlying = (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? context.debugDescription
        @unknown default:
            return "\(error)"
        }
    }
}

/// A JSON or YAML value, reduced to what a target-group document can hold.
enum DocumentValue: Sendable, Equatable, Decodable {
    case null
    case string(String)
    /// A JSON number or boolean: never a valid target or label value.
    case scalar(String)
    case list([DocumentValue])
    case map([String: DocumentValue])

    var kind: String {
        switch self {
        case .null: "null"
        case .string: "a string"
        case .scalar: "a number or boolean"
        case .list: "a list"
        case .map: "a map"
        }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let bool = try? container.decode(Bool.self) {
            self = .scalar(String(bool))
        } else if let number = try? container.decode(Double.self) {
            self = .scalar(String(number))
        } else if let list = try? container.decode([DocumentValue].self) {
            self = .list(list)
        } else {
            self = .map(try container.decode([String: DocumentValue].self))
        }
    }

    /// YAML scalars are strings (`port: 8080` is the label value "8080", as with Prometheus's
    /// YAML reader); only a plain `~`, `null` or empty scalar is null.
    init(yaml node: Node, budget: inout Int) throws(TargetGroupParseError) {
        budget -= 1
        guard budget >= 0 else {
            throw TargetGroupParseError("the document has more than \(TargetGroupParser.maxValues) values")
        }
        switch node {
        case .scalar(let scalar):
            self = node.null != nil ? .null : .string(scalar.string)
        case .sequence(let sequence):
            var items: [DocumentValue] = []
            for item in sequence { items.append(try DocumentValue(yaml: item, budget: &budget)) }
            self = .list(items)
        case .mapping(let mapping):
            var fields: [String: DocumentValue] = [:]
            for (key, value) in mapping {
                guard case .scalar(let keyScalar) = key else {
                    throw TargetGroupParseError("invalid YAML: a map key must be a plain value\(Self.line(key))")
                }
                guard fields[keyScalar.string] == nil else {
                    throw TargetGroupParseError("invalid YAML: duplicate key \"\(keyScalar.string)\"\(Self.line(key))")
                }
                fields[keyScalar.string] = try DocumentValue(yaml: value, budget: &budget)
            }
            self = .map(fields)
        case .alias:
            throw TargetGroupParseError("invalid YAML: unresolved alias\(Self.line(node))")
        }
    }

    private static func line(_ node: Node) -> String {
        node.mark.map { " at line \($0.line)" } ?? ""
    }
}
