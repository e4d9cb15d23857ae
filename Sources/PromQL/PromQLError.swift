/// Why a query was rejected, and where.
///
/// `description` reads like Prometheus's own errors, `1:6: parse error: unexpected <op:+>`, so that
/// the messages a user sees match the ones Prometheus and promtool print for the same query.
public struct PromQLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Which stage rejected the query.
    public enum Kind: String, Sendable, Hashable {
        /// Bad characters, strings, numbers or durations.
        case lexical
        /// Tokens in an order the grammar does not allow.
        case syntax
        /// A well-formed query whose parts have the wrong types or modifiers.
        case semantic
        /// Over the length or nesting limits of `ParseLimits`.
        case limit
    }

    public var kind: Kind
    /// What is wrong, without the position: `unexpected <op:+>`.
    public var message: String
    /// Byte offset into the query's UTF-8 of the offending token or node.
    public var offset: Int
    /// The 1-based line and byte column of `offset`.
    public var position: LineColumn

    public init(kind: Kind, message: String, offset: Int, query: String) {
        self.kind = kind
        self.message = message
        self.offset = offset
        self.position = LineColumn(offset: offset, in: query)
    }

    public var description: String { "\(position): parse error: \(message)" }
}
