/// A set of label names and values, as in Prometheus. Names starting with `__` are internal:
/// `__address__`, `__scheme__`, `__metrics_path__` and the `__meta_*` labels set by discovery.
public struct Labels: Hashable, Sendable, Codable, CustomStringConvertible {
    public private(set) var values: [String: String]

    public init(_ values: [String: String] = [:]) {
        self.values = values.filter { !$0.value.isEmpty }
    }

    public subscript(name: String) -> String? {
        get { values[name] }
        set {
            // As in Prometheus, an empty value is the same as no label.
            if let newValue, !newValue.isEmpty { values[name] = newValue } else { values[name] = nil }
        }
    }

    public var isEmpty: Bool { values.isEmpty }

    /// Sorted by name: the stable order for display, hashing and exposition.
    public var sorted: [(name: String, value: String)] {
        values.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
    }

    /// The labels without the internal `__` ones: what a target shows once discovery is done.
    public var visible: Labels {
        Labels(values.filter { !$0.key.hasPrefix("__") })
    }

    /// Adds `other`'s labels where this set has none of that name.
    public func merging(defaults other: Labels) -> Labels {
        Labels(values.merging(other.values) { mine, _ in mine })
    }

    public var description: String {
        "{" + sorted.map { "\($0.name)=\"\($0.value)\"" }.joined(separator: ", ") + "}"
    }

    public init(from decoder: any Decoder) throws {
        self.init(try decoder.singleValueContainer().decode([String: String].self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(values)
    }
}

extension Labels: ExpressibleByDictionaryLiteral {
    public init(dictionaryLiteral elements: (String, String)...) {
        self.init(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

/// The label names that Canopy itself gives meaning to.
public enum LabelName {
    public static let address = "__address__"
    public static let scheme = "__scheme__"
    public static let metricsPath = "__metrics_path__"
    public static let metaPrefix = "__meta_"
    public static let tmpPrefix = "__tmp_"
    public static let instance = "instance"
    public static let service = "service"
    public static let team = "team"
}
