#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PromQL
import Shared

/// One rule file in Prometheus's format (`groups: [{name, interval, limit, rules: [...]}]`),
/// read and checked as `promtool check rules` checks it: every problem reported with its line,
/// key and rule, unknown keys refused, expressions parsed.
public struct RuleFile: Sendable {
    public var path: String
    public var groups: [RuleGroup]

    /// A rule file past this is refused before it is parsed.
    public static let maxBytes = 16 << 20

    public static func load(_ path: String) throws(ConfigError) -> RuleFile {
        let text = try ConfigReader.text(of: path)
        guard text.utf8.count <= maxBytes else {
            throw ConfigError(issues: [ConfigIssue(file: path, line: nil, column: nil, path: "", message: "larger than \(maxBytes >> 20) MiB")])
        }
        return try parse(text, file: path)
    }

    /// The files a `rule_files` entry names: a glob (`rules/*.yml`), or a path.
    public static func paths(matching pattern: String) -> [String] {
        var found = glob_t()
        defer { globfree(&found) }
        guard glob(pattern, 0, nil, &found) == 0 else { return [] }
        return (0..<Int(found.gl_pathc)).compactMap { found.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }

    public static func isPattern(_ text: String) -> Bool { text.contains { "*?[".contains($0) } }

    public static func parse(_ text: String, file: String) throws(ConfigError) -> RuleFile {
        let reader = ConfigReader(file: file)
        var groups: [RuleGroup] = []
        if let root = reader.root(of: text), let top = root.mapping() {
            var names: Set<String> = []
            for entry in top.optional("groups")?.sequence() ?? [] {
                guard let mapping = entry.mapping() else { continue }
                let group = RuleGroup.read(mapping, file: file, reader: reader)
                mapping.finish()
                guard let group else { continue }
                if !names.insert(group.name).inserted {
                    reader.issue("groupname: \"\(group.name)\" is repeated in the same file", at: mapping.optional("name") ?? entry)
                }
                groups.append(group)
            }
            top.finish()
        }
        try reader.finish()
        return RuleFile(path: file, groups: groups)
    }
}

/// Rules evaluated one after another at the same time, every `interval`.
public struct RuleGroup: Sendable, Equatable {
    public var name: String
    public var file: String
    /// Nil: the configured `evaluation_interval`.
    public var interval: Duration?
    /// At most this many series (recording) or alerts (alerting) per rule; 0 means no limit.
    public var limit: Int
    public var rules: [Rule]

    static func read(_ mapping: ConfigMapping, file: String, reader: ConfigReader) -> RuleGroup? {
        let name = mapping.required("name")?.string()
        if name == "" { reader.issue("Groupname must not be empty", at: mapping.value) }
        var interval: Duration?
        if let value = mapping.optional("interval"), let duration = value.duration(positive: false), duration > .zero {
            interval = duration
        }
        let limit = mapping.optional("limit")?.int(in: 0...Int(Int32.max)) ?? 0
        var rules: [Rule] = []
        for (index, entry) in (mapping.optional("rules")?.sequence() ?? []).enumerated() {
            guard let rule = entry.mapping() else { continue }
            if let parsed = Rule.read(rule, number: index + 1, group: name ?? "", reader: reader) { rules.append(parsed) }
            rule.finish()
        }
        guard let name, !name.isEmpty else { return nil }
        return RuleGroup(name: name, file: file, interval: interval, limit: limit, rules: rules)
    }
}

/// An alerting or a recording rule.
public struct Rule: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// `alert: name`, with `for` and `keep_firing_for`.
        case alerting(name: String, for: Duration, keepFiringFor: Duration)
        /// `record: metric_name`.
        case recording(name: String)
    }

    public var kind: Kind
    /// The expression as written, and parsed.
    public var expression: String
    public var expr: Expr
    public var labels: [String: String]
    public var annotations: [String: String]
    /// An alerting rule's labels and annotations as parsed templates, by name.
    public var labelTemplates: [String: AlertTemplate] = [:]
    public var annotationTemplates: [String: AlertTemplate] = [:]
    /// Where the rule starts in its file.
    public var line: Int?

    public var name: String {
        switch kind {
        case .alerting(let name, _, _), .recording(let name): return name
        }
    }

    public static func == (a: Rule, b: Rule) -> Bool {
        a.kind == b.kind && a.expression == b.expression && a.labels == b.labels && a.annotations == b.annotations
    }

    /// Reads rule `number` (1-based) of `group`; nil (with issues reported) when it is unusable.
    static func read(_ mapping: ConfigMapping, number: Int, group: String, reader: ConfigReader) -> Rule? {
        let record = mapping.optional("record")?.string() ?? ""
        let alert = mapping.optional("alert")?.string() ?? ""
        let named = alert.isEmpty ? record : alert
        // Each problem names its group and rule, as promtool's do.
        let which = "group \"\(group)\", rule \(number)" + (named.isEmpty ? "" : ", \"\(named)\"")
        func issue(_ message: String, at value: ConfigValue? = nil) {
            reader.issue("\(which): \(message)", at: value ?? mapping.value)
        }
        if !record.isEmpty && !alert.isEmpty { issue("only one of 'record' and 'alert' must be set") }
        if record.isEmpty && alert.isEmpty { issue("one of 'record' or 'alert' must be set") }

        var expr: Expr?
        let expressionValue = mapping.optional("expr")
        let expression = expressionValue?.string() ?? ""
        if expression.isEmpty {
            issue("field 'expr' must be set in rule", at: expressionValue)
        } else {
            do {
                expr = try PromQLParser.parse(expression)
            } catch {
                issue("could not parse expression: \(error)", at: expressionValue)
            }
        }
        let forValue = mapping.optional("for")
        let keepValue = mapping.optional("keep_firing_for")
        let holdFor = forValue?.duration(positive: false) ?? .zero
        let keepFiringFor = keepValue?.duration(positive: false) ?? .zero
        var labels: [String: String] = [:]
        for entry in mapping.optional("labels")?.mapping()?.allEntries() ?? [] {
            if !LabelNameRules.isValid(entry.key) || entry.key == Labels.metricName {
                issue("invalid label name: \(entry.key)", at: entry.value)
            }
            if let value = entry.value.string() { labels[entry.key] = value }
        }
        var annotations: [String: String] = [:]
        let annotationsValue = mapping.optional("annotations")
        for entry in annotationsValue?.mapping()?.allEntries() ?? [] {
            if !LabelNameRules.isValid(entry.key) { issue("invalid annotation name: \(entry.key)", at: entry.value) }
            if let value = entry.value.string() { annotations[entry.key] = value }
        }
        if !record.isEmpty {
            if !annotations.isEmpty { issue("invalid field 'annotations' in recording rule", at: annotationsValue) }
            if holdFor != .zero { issue("invalid field 'for' in recording rule", at: forValue) }
            if keepFiringFor != .zero { issue("invalid field 'keep_firing_for' in recording rule", at: keepValue) }
            if !MetricNameRules.isValid(record) { issue("invalid recording rule name: \(record)", at: mapping.optional("record")) }
        }
        // An alerting rule's labels and annotations are templates: parsed now, so that a broken
        // one is refused with the file rather than at its first alert.
        var labelTemplates: [String: AlertTemplate] = [:]
        var annotationTemplates: [String: AlertTemplate] = [:]
        if !alert.isEmpty {
            for (kind, texts, value) in [("label", labels, mapping.optional("labels")), ("annotation", annotations, annotationsValue)] {
                for (name, text) in texts.sorted(by: { $0.key < $1.key }) {
                    do {
                        let template = try AlertTemplate(text, name: alert)
                        if kind == "label" { labelTemplates[name] = template } else { annotationTemplates[name] = template }
                    } catch {
                        issue("\(kind) \"\(name)\": \(error.prometheusText(templateName: "__alert_" + alert))", at: value)
                    }
                }
            }
        }
        guard let expr, record.isEmpty != alert.isEmpty else { return nil }
        let kind: Kind = alert.isEmpty ? .recording(name: record) : .alerting(name: alert, for: holdFor, keepFiringFor: keepFiringFor)
        return Rule(
            kind: kind, expression: expression, expr: expr, labels: labels, annotations: annotations, labelTemplates: labelTemplates,
            annotationTemplates: annotationTemplates, line: mapping.value.node.mark?.line)
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, as in Prometheus.
public enum MetricNameRules {
    public static func isValid(_ name: String) -> Bool {
        guard let first = name.utf8.first else { return false }
        func isStart(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 58 }
        return isStart(first) && name.utf8.allSatisfy { isStart($0) || ($0 >= 48 && $0 <= 57) }
    }
}
