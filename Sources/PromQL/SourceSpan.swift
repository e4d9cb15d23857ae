/// Where a node or token sits in the query text: byte offsets into its UTF-8, `start` inclusive,
/// `end` exclusive, as Prometheus counts them.
public struct SourceSpan: Sendable, Hashable, CustomStringConvertible {
    public var start: Int
    public var end: Int

    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }

    /// For nodes built by hand rather than parsed.
    public static let unknown = SourceSpan(start: 0, end: 0)

    public var description: String { "\(start)..<\(end)" }
}

/// Wraps a value that `==` and `hash(into:)` ignore. AST nodes keep their source spans in it, so two
/// trees of the same query compare equal wherever their text came from: `parse(print(ast)) == ast`.
@propertyWrapper
public struct IgnoredInComparison<Value: Sendable>: Sendable, Hashable {
    public var wrappedValue: Value

    public init(wrappedValue: Value) {
        self.wrappedValue = wrappedValue
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { true }
    public func hash(into hasher: inout Hasher) {}
}

/// A line and a column, both 1-based, the column counted in bytes as Prometheus does.
public struct LineColumn: Sendable, Hashable, CustomStringConvertible {
    public var line: Int
    public var column: Int

    public init(line: Int, column: Int) {
        self.line = line
        self.column = column
    }

    /// Computes the line and column of a byte offset into `query`'s UTF-8.
    public init(offset: Int, in query: String) {
        var line = 1
        var lastLineBreak = -1
        for (index, byte) in query.utf8.prefix(offset).enumerated() where byte == UInt8(ascii: "\n") {
            line += 1
            lastLineBreak = index
        }
        self.line = line
        self.column = offset - lastLineBreak
    }

    public var description: String { "\(line):\(column)" }
}
