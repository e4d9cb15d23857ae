import Crypto

/// Prometheus's relabelling (model/relabel/relabel.go): the configs are validated and their
/// regular expressions compiled once, then applied in order to each label set.
public struct Relabeler: Sendable {
    public let configs: [RelabelConfig]
    private let steps: [Step]

    private struct Step: Sendable {
        let config: RelabelConfig
        let regex: RelabelRegex
    }

    /// Validates every entry as Prometheus does on load; the error names the first bad entry.
    public init(_ configs: [RelabelConfig]) throws(RelabelError) {
        var steps: [Step] = []
        steps.reserveCapacity(configs.count)
        for (index, config) in configs.enumerated() {
            steps.append(try Self.compile(config, index: index))
        }
        self.configs = configs
        self.steps = steps
    }

    public var isEmpty: Bool { steps.isEmpty }

    /// The relabelled labels, or nil when an entry drops the target.
    public func process(_ labels: Labels) -> Labels? {
        guard !steps.isEmpty else { return labels }
        var values = labels.values
        for step in steps {
            guard Self.apply(step, to: &values) else { return nil }
        }
        return Labels(values)
    }

    // MARK: - Applying

    /// One entry; false when it drops the target.
    private static func apply(_ step: Step, to values: inout [String: String]) -> Bool {
        let config = step.config
        let value = config.sourceLabels.map { values[$0] ?? "" }.joined(separator: config.separator)
        let target = config.targetLabel ?? ""
        switch config.action {
        case .drop:
            if step.regex.matches(value) { return false }
        case .keep:
            if !step.regex.matches(value) { return false }
        case .dropequal:
            if (values[target] ?? "") == value { return false }
        case .keepequal:
            if (values[target] ?? "") != value { return false }
        case .replace:
            // No match: nothing is replaced.
            guard let match = step.regex.match(value) else { break }
            let name = step.regex.expand(target, match)
            // A name made from the value that is not a label name is skipped, not an error.
            guard isValidLabelName(name) else { break }
            set(name, step.regex.expand(config.replacement, match), in: &values)
        case .lowercase:
            set(target, value.lowercased(), in: &values)
        case .uppercase:
            set(target, value.uppercased(), in: &values)
        case .hashmod:
            let digest = Array(Insecure.MD5.hash(data: Array(value.utf8)))
            // The last 8 bytes, big-endian: Prometheus's `binary.BigEndian.Uint64(md5sum[8:])`.
            let hash = digest[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            set(target, String(hash % (config.modulus ?? 1)), in: &values)
        case .labelmap:
            // Over the labels as they were before this entry, so that a new name is not mapped again.
            for (name, labelValue) in values.sorted(by: { $0.key < $1.key }) {
                guard let match = step.regex.match(name) else { continue }
                let newName = step.regex.expand(config.replacement, match)
                // Prometheus would refuse the whole target later for such a name; skipping the
                // one label keeps the target and Labels free of names nothing else accepts.
                if isValidLabelName(newName) { set(newName, labelValue, in: &values) }
            }
        case .labeldrop:
            for name in values.keys where step.regex.matches(name) { values[name] = nil }
        case .labelkeep:
            for name in values.keys where !step.regex.matches(name) { values[name] = nil }
        }
        return true
    }

    /// As in Prometheus, an empty value deletes the label.
    private static func set(_ name: String, _ value: String, in values: inout [String: String]) {
        values[name] = value.isEmpty ? nil : value
    }

    // MARK: - Validation

    private static let defaults = RelabelConfig()

    private static func compile(_ config: RelabelConfig, index: Int) throws(RelabelError) -> Step {
        func fail(_ key: String?, _ reason: String) -> RelabelError {
            RelabelError(index: index, key: key, reason: reason)
        }
        let action = config.action.rawValue
        let regex: RelabelRegex
        do {
            regex = try RelabelRegex(config.regex)
        } catch {
            throw fail("regex", "invalid regex \(quoted(config.regex)): \(error.message)")
        }
        for name in config.sourceLabels where !isValidLabelName(name) {
            throw fail("source_labels", "\(quoted(name)) is not a valid label name in source_labels")
        }
        let target = config.targetLabel ?? ""
        let needsTarget: Set<RelabelConfig.Action> = [.replace, .hashmod, .lowercase, .uppercase, .keepequal, .dropequal]
        let takesNoReplacement: Set<RelabelConfig.Action> = [.lowercase, .uppercase, .keepequal, .dropequal]

        if config.action == .hashmod {
            guard let modulus = config.modulus else { throw fail("modulus", "action hashmod requires modulus") }
            guard modulus > 0 else { throw fail("modulus", "action hashmod requires a modulus greater than 0") }
        }
        if needsTarget.contains(config.action), target.isEmpty {
            throw fail("target_label", "action \(action) requires target_label")
        }
        if config.action == .replace {
            // `$` references are expanded per target; the name is checked again once expanded.
            let valid = target.contains("$") ? isValidTemplate(target) : isValidLabelName(target)
            guard valid else { throw fail("target_label", "\(quoted(target)) is not a valid target_label for action \(action)") }
        }
        if takesNoReplacement.contains(config.action) || config.action == .hashmod, !isValidLabelName(target) {
            throw fail("target_label", "\(quoted(target)) is not a valid target_label for action \(action)")
        }
        if takesNoReplacement.contains(config.action), config.replacement != defaults.replacement {
            throw fail("replacement", "action \(action) does not take replacement")
        }
        if config.action == .labelmap, !isValidTemplate(config.replacement) {
            throw fail("replacement", "\(quoted(config.replacement)) is not a valid replacement for action \(action)")
        }
        if config.action == .keepequal || config.action == .dropequal {
            let extras = [
                ("regex", config.regex != defaults.regex),
                ("modulus", (config.modulus ?? 0) != 0),
                ("separator", config.separator != defaults.separator),
            ]
            if let (extra, _) = extras.first(where: { $0.1 }) {
                throw fail(extra, "action \(action) takes only source_labels and target_label, not \(extra)")
            }
        }
        if config.action == .labeldrop || config.action == .labelkeep {
            let extras = [
                ("source_labels", !config.sourceLabels.isEmpty),
                ("target_label", !target.isEmpty),
                ("modulus", (config.modulus ?? 0) != 0),
                ("separator", config.separator != defaults.separator),
                ("replacement", config.replacement != defaults.replacement),
            ]
            if let (extra, _) = extras.first(where: { $0.1 }) { throw fail(extra, "action \(action) takes only regex, not \(extra)") }
        }
        return Step(config: config, regex: regex)
    }

    private static func quoted(_ text: String) -> String {
        // Swift's literal form, close to Go's %q: quotes and escapes made visible.
        String(reflecting: text)
    }
}

extension Relabeler {
    /// `[a-zA-Z_][a-zA-Z0-9_]*`: Prometheus's (legacy) label name.
    static func isValidLabelName(_ name: String) -> Bool {
        var first = true
        for byte in name.utf8 {
            let isLetter = (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || byte == 0x5F
            let isDigit = byte >= 0x30 && byte <= 0x39
            guard isLetter || (isDigit && !first) else { return false }
            first = false
        }
        return !first
    }

    /// Prometheus's `relabelTarget`, `^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$`: word characters
    /// and `$name` / `${name}` references, not starting with a digit.
    private static func isValidTemplate(_ template: String) -> Bool {
        let bytes = Array(template.utf8)
        func isWord(_ byte: UInt8) -> Bool {
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x5F
        }
        guard let first = bytes.first, first == UInt8(ascii: "$") || (isWord(first) && !(first >= 0x30 && first <= 0x39)) else { return false }
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "$") {
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "{") {
                    let start = i + 1
                    var j = start
                    while j < bytes.count, isWord(bytes[j]) { j += 1 }
                    guard j > start, j < bytes.count, bytes[j] == UInt8(ascii: "}") else { return false }
                    i = j + 1
                } else {
                    guard i < bytes.count, isWord(bytes[i]) else { return false }
                    while i < bytes.count, isWord(bytes[i]) { i += 1 }
                }
            } else {
                guard isWord(bytes[i]) else { return false }
                i += 1
            }
        }
        return true
    }
}
