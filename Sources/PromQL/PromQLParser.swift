/// PromQL, as Prometheus 2.x parses it: the entry point of this library. (Not named after the
/// module, so that `PromQL.Expr` and the like stay usable to disambiguate.)
///
/// ```swift
/// let expr = try PromQLParser.parse(#"sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))"#)
/// print(expr)            // canonical text
/// expr.vectorSelectors   // what to fetch from storage
/// ```
public enum PromQLParser {
    /// Parses and type-checks a query. Rejects what Prometheus rejects, with its message at the
    /// same position, plus anything over `limits`.
    public static func parse(_ query: String, limits: ParseLimits = .default) throws(PromQLError) -> Expr {
        var parser = Parser(query, limits: limits)
        let tree = try parser.parseQuery()
        return try TypeChecker(query: query).check(tree)
    }
}
