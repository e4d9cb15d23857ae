/// A series' label set: names sorted and unique, empty values left out (in PromQL a label with
/// the empty value is a label that is not there). `__name__` is the metric name.
public struct Labels: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let metricName = "__name__"

    /// Sorted by name, no empty values.
    public private(set) var pairs: [(name: String, value: String)]

    public init() { pairs = [] }

    /// Later duplicates win; empty values are dropped.
    public init(_ pairs: [(String, String)]) {
        var byName: [String: String] = [:]
        for (name, value) in pairs { byName[name] = value }
        self.pairs = byName.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) }
    }

    public init(_ dictionary: [String: String]) { self.init(dictionary.map { ($0.key, $0.value) }) }

    public subscript(name: String) -> String? {
        get { pairs.first { $0.name == name }?.value }
        set {
            pairs.removeAll { $0.name == name }
            guard let newValue, !newValue.isEmpty else { return }
            let index = pairs.firstIndex { $0.name > name } ?? pairs.endIndex
            pairs.insert((name: name, value: newValue), at: index)
        }
    }

    public var isEmpty: Bool { pairs.isEmpty }
    public var names: [String] { pairs.map(\.name) }
    public var dictionary: [String: String] { Dictionary(uniqueKeysWithValues: pairs.map { ($0.name, $0.value) }) }

    /// Without `__name__`, as most functions and operators return their results.
    public var droppingMetricName: Labels { var copy = self; copy[Labels.metricName] = nil; return copy }

    /// Only the named labels (`by`, `on`).
    public func keeping(_ names: some Sequence<String>) -> Labels {
        let kept = Set(names)
        var copy = self
        copy.pairs.removeAll { !kept.contains($0.name) }
        return copy
    }

    /// All but the named labels (`without`, `ignoring`).
    public func removing(_ names: some Sequence<String>) -> Labels {
        let removed = Set(names)
        var copy = self
        copy.pairs.removeAll { removed.contains($0.name) }
        return copy
    }

    public static func == (lhs: Labels, rhs: Labels) -> Bool {
        lhs.pairs.count == rhs.pairs.count && zip(lhs.pairs, rhs.pairs).allSatisfy { $0 == $1 }
    }

    public func hash(into hasher: inout Hasher) {
        for pair in pairs {
            hasher.combine(pair.name)
            hasher.combine(pair.value)
        }
    }

    /// Prometheus's order of label sets: pair by pair, name then value; a prefix first.
    public static func < (lhs: Labels, rhs: Labels) -> Bool {
        for (left, right) in zip(lhs.pairs, rhs.pairs) where left != right {
            return left.name != right.name ? left.name < right.name : left.value < right.value
        }
        return lhs.pairs.count < rhs.pairs.count
    }

    /// `name{a="1", b="2"}` as Prometheus prints a series.
    public var description: String {
        let name = self[Labels.metricName] ?? ""
        let rest = pairs.filter { $0.name != Labels.metricName }
        if rest.isEmpty && !name.isEmpty { return name }
        return name + "{" + rest.map { "\($0.name)=\(GoText.queryLiteral($0.value))" }.joined(separator: ", ") + "}"
    }
}
