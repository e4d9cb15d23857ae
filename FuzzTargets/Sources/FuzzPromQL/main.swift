import FuzzSupport
import PromQL

/// Any text either parses or throws a `PromQLError` whose position lies inside the query; what
/// parses prints as text that parses to the same tree and prints the same again.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let query = text(data, size)
    let tree: Expr
    do {
        tree = try PromQLParser.parse(query)
    } catch {
        require(!error.message.isEmpty, "an error without a message for \(query.debugDescription)")
        require(error.offset >= 0 && error.offset <= query.utf8.count, "error offset \(error.offset) outside the query: \(query.debugDescription)")
        return 0
    }
    let printed = tree.description
    let reparsed: Expr
    do {
        reparsed = try PromQLParser.parse(printed)
    } catch {
        require(false, "printed query does not parse: \(error)\n  query: \(query.debugDescription)\n  printed: \(printed.debugDescription)")
        return 0
    }
    require(reparsed == tree, "print → parse changed the tree\n  query: \(query.debugDescription)\n  printed: \(printed.debugDescription)")
    require(reparsed.description == printed, "printing is not stable: \(printed.debugDescription) then \(reparsed.description.debugDescription)")
    return 0
}
