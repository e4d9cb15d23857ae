import Foundation
import Yams

/// Reads typed values out of a YAML document and collects every problem with its line and key,
/// instead of stopping at the first one (like `promtool check config`, a person fixes them all
/// in one go). Unknown keys are problems too: a misspelt option must never be silently ignored.
public final class ConfigReader {
    public let file: String
    public private(set) var issues: [ConfigIssue] = []

    public init(file: String) { self.file = file }

    /// A config file's text, or an error that names the file.
    public static func text(of file: String) throws(ConfigError) -> String {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ConfigError(issues: [ConfigIssue(file: file, line: nil, column: nil, path: "", message: "cannot read the file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(issues: [ConfigIssue(file: file, line: nil, column: nil, path: "", message: "not UTF-8 text")])
        }
        return text
    }

    /// Relative paths in a config (file_sd files, TLS files, password files) are relative to the
    /// config file's directory, as in Prometheus, so a config works from any working directory.
    public func resolvePath(_ path: String) -> String {
        guard !path.hasPrefix("/") else { return path }
        let directory = (file as NSString).deletingLastPathComponent
        return directory.isEmpty ? path : (directory as NSString).appendingPathComponent(path)
    }

    /// Parses `text` and returns its root, or nil (with an issue) if the YAML itself is broken.
    public func root(of text: String) -> ConfigValue? {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                return ConfigValue(node: Node.mapping(Node.Mapping([])), path: "", reader: self)
            }
            return ConfigValue(node: node, path: "", reader: self)
        } catch let error as YamlError {
            report(yaml: error)
            return nil
        } catch {
            issues.append(ConfigIssue(file: file, line: nil, column: nil, path: "", message: "\(error)"))
            return nil
        }
    }

    public func issue(_ message: String, at value: ConfigValue) {
        issues.append(ConfigIssue(file: file, line: value.node.mark?.line, column: value.node.mark?.column, path: value.path, message: message))
    }

    public func issue(_ message: String, path: String, mark: Mark?) {
        issues.append(ConfigIssue(file: file, line: mark?.line, column: mark?.column, path: path, message: message))
    }

    /// Throws a `ConfigError` if anything was reported.
    public func finish() throws(ConfigError) {
        if !issues.isEmpty { throw ConfigError(issues: issues) }
    }

    private func report(yaml error: YamlError) {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let text = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
            issues.append(ConfigIssue(file: file, line: mark.line, column: mark.column, path: "", message: "invalid YAML: \(text)"))
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams lists the keys, and places the error at the first, in an order that is not
            // stable when a key is not a scalar (a mapping used as a key): the same file would
            // give a different message each time. Names sorted here; no place for such keys.
            let unstable = duplicates.contains("<uncovertable>")
            let names = duplicates.filter { $0 != "<uncovertable>" }.sorted() + (unstable ? ["a key that is not a scalar"] : [])
            issues.append(
                ConfigIssue(
                    file: file, line: unstable ? nil : context.mark.line, column: unstable ? nil : context.mark.column, path: "",
                    message: "duplicated keys: \(names.joined(separator: ", "))"))
        default:
            issues.append(ConfigIssue(file: file, line: nil, column: nil, path: "", message: "invalid YAML: \(error)"))
        }
    }
}

/// A node of the config document with the key path that leads to it.
public struct ConfigValue {
    public let node: Node
    public let path: String
    let reader: ConfigReader

    func child(_ node: Node, key: String) -> ConfigValue {
        ConfigValue(node: node, path: path.isEmpty ? key : "\(path).\(key)", reader: reader)
    }

    func element(_ node: Node, index: Int) -> ConfigValue {
        ConfigValue(node: node, path: "\(path)[\(index)]", reader: reader)
    }

    public var isNull: Bool {
        if case .scalar(let scalar) = node { return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string) }
        return false
    }

    /// Reads a mapping, checking its keys. `nil` (with an issue) when it is something else.
    /// A null value counts as an empty mapping, as YAML writers often leave `global:` empty.
    public func mapping() -> ConfigMapping? {
        if isNull { return ConfigMapping(value: self, pairs: []) }
        guard case .mapping(let mapping) = node else {
            reader.issue("expected a mapping of keys to values, found \(kind)", at: self)
            return nil
        }
        var pairs: [(key: String, keyNode: Node, value: Node)] = []
        for (key, value) in mapping {
            guard let name = key.scalar?.string else {
                reader.issue("keys must be strings", path: path, mark: key.mark)
                continue
            }
            pairs.append((name, key, value))
        }
        return ConfigMapping(value: self, pairs: pairs)
    }

    public func sequence() -> [ConfigValue]? {
        if isNull { return [] }
        guard case .sequence(let sequence) = node else {
            reader.issue("expected a list, found \(kind)", at: self)
            return nil
        }
        return sequence.enumerated().map { element($0.element, index: $0.offset) }
    }

    public func string() -> String? {
        guard case .scalar(let scalar) = node, !isNull else {
            reader.issue("expected a string, found \(kind)", at: self)
            return nil
        }
        return scalar.string
    }

    public func nonEmptyString() -> String? {
        guard let value = string() else { return nil }
        if value.isEmpty { reader.issue("must not be empty", at: self) }
        return value.isEmpty ? nil : value
    }

    public func int(in range: ClosedRange<Int> = Int.min...Int.max) -> Int? {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string) else {
            reader.issue("expected an integer, found \(describe)", at: self)
            return nil
        }
        guard range.contains(value) else {
            reader.issue("\(value) is out of range \(range.lowerBound)...\(range.upperBound)", at: self)
            return nil
        }
        return value
    }

    public func bool() -> Bool? {
        guard case .scalar(let scalar) = node else {
            reader.issue("expected true or false, found \(kind)", at: self)
            return nil
        }
        switch scalar.string {
        case "true", "True", "TRUE", "yes", "on": return true
        case "false", "False", "FALSE", "no", "off": return false
        default:
            reader.issue("expected true or false, found \(describe)", at: self)
            return nil
        }
    }

    /// A Prometheus duration (`30s`, `1m30s`, `500ms`, `1d`), also Go's (`1.5s`, `100us`).
    public func duration(positive: Bool = true) -> Duration? {
        guard let text = string() else { return nil }
        do {
            let value = try DurationParser.parse(text)
            if positive && value <= .zero {
                reader.issue("duration must be greater than zero", at: self)
                return nil
            }
            return value
        } catch {
            reader.issue("\(error)", at: self)
            return nil
        }
    }

    /// A byte size (`10MB`, `512KiB`, `1048576`); units are powers of 1024 as in Prometheus.
    public func byteSize() -> Int? {
        guard let text = string() else { return nil }
        do {
            return try ByteSizeParser.parse(text)
        } catch {
            reader.issue("\(error)", at: self)
            return nil
        }
    }

    public func stringList() -> [String]? {
        guard let items = sequence() else { return nil }
        let strings = items.compactMap { $0.nonEmptyString() }
        return strings.count == items.count ? strings : nil
    }

    /// A label set: names must be valid label names.
    public func labels() -> Labels? {
        guard let mapping = mapping() else { return nil }
        var values: [String: String] = [:]
        for entry in mapping.allEntries() {
            guard LabelNameRules.isValid(entry.key) else {
                reader.issue("\"\(entry.key)\" is not a valid label name", at: entry.value)
                continue
            }
            if let value = entry.value.string() { values[entry.key] = value }
        }
        return Labels(values)
    }

    var kind: String {
        switch node {
        case .mapping: "a mapping"
        case .sequence: "a list"
        case .scalar: isNull ? "nothing" : "\"\(node.scalar?.string ?? "")\""
        case .alias: "an alias"
        }
    }

    var describe: String { kind }
}

/// A mapping whose keys are checked off as they are read; `finish()` reports the rest as unknown.
public final class ConfigMapping {
    public let value: ConfigValue
    private let pairs: [(key: String, keyNode: Node, value: Node)]
    private var read: Set<String> = []

    init(value: ConfigValue, pairs: [(key: String, keyNode: Node, value: Node)]) {
        self.value = value
        self.pairs = pairs
    }

    public var keys: [String] { pairs.map(\.key) }

    public func has(_ key: String) -> Bool { pairs.contains { $0.key == key } }

    /// The value for `key`, or nil when absent (or null: a key left empty means "the default").
    public func optional(_ key: String) -> ConfigValue? {
        read.insert(key)
        guard let pair = pairs.first(where: { $0.key == key }) else { return nil }
        let child = value.child(pair.value, key: key)
        return child.isNull ? nil : child
    }

    public func required(_ key: String) -> ConfigValue? {
        guard let child = optional(key) else {
            value.reader.issue("missing required key \(key)", at: value)
            return nil
        }
        return child
    }

    /// Every entry, for free-form mappings such as labels; all keys count as read.
    public func allEntries() -> [(key: String, value: ConfigValue)] {
        pairs.map { pair in
            read.insert(pair.key)
            return (pair.key, value.child(pair.value, key: pair.key))
        }
    }

    /// Where `key` itself is written, to point at a key that is wrong in itself.
    public func keyMark(_ key: String) -> Mark? { pairs.first { $0.key == key }?.keyNode.mark }

    public func path(of key: String) -> String { value.path.isEmpty ? key : "\(value.path).\(key)" }

    /// Marks a key as known but not acted upon (accepted for compatibility).
    public func ignore(_ key: String) { read.insert(key) }

    public func finish() {
        for pair in pairs where !read.contains(pair.key) {
            let path = value.path.isEmpty ? pair.key : "\(value.path).\(pair.key)"
            value.reader.issue("unknown key \(pair.key)", path: path, mark: pair.keyNode.mark)
        }
    }
}

public enum LabelNameRules {
    /// `[a-zA-Z_][a-zA-Z0-9_]*`, as in Prometheus.
    public static func isValid(_ name: String) -> Bool {
        guard let first = name.utf8.first else { return false }
        func isLetter(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 }
        return isLetter(first) && name.utf8.allSatisfy { isLetter($0) || ($0 >= 48 && $0 <= 57) }
    }
}
