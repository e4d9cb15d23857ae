/// A `relabel_configs` entry that Prometheus would refuse, with where and why, so that a config
/// loader can point at the entry (and the key) in its file.
public struct RelabelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Position of the entry in the list given to `Relabeler.init`.
    public var index: Int
    /// The YAML key at fault (`regex`, `target_label`, `modulus`, ...), where one key is.
    public var key: String?
    /// What is wrong, without the position: `action hashmod requires modulus`.
    public var reason: String

    public init(index: Int, key: String?, reason: String) {
        self.index = index
        self.key = key
        self.reason = reason
    }

    public var description: String { "relabel_configs[\(index)]: \(reason)" }
}
