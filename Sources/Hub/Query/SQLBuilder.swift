import PostgresNIO

/// SQL put together from parts, with every value bound as a parameter (`$1`, `$2`, ...): the
/// hub's lists have optional filters, so their text varies while values never enter it.
struct SQLBuilder {
    private(set) var bindings = PostgresBindings()

    /// Binds `value` and returns its placeholder.
    mutating func bind(_ value: some PostgresEncodable & Sendable) throws -> String {
        try bindings.append(value)
        return "$\(bindings.count)"
    }

    func query(_ sql: String) -> PostgresQuery {
        PostgresQuery(unsafeSQL: sql, binds: bindings)
    }

    /// Rows `(group_id, at, count)` of the occurrence history in `split`, for the groups that
    /// `groups` (a condition on `group_id`) selects. The bounds are bound values, so PostgreSQL
    /// prunes the day partitions when it plans.
    mutating func historyRows(_ split: HistorySplit, groups: String) throws -> String {
        let from = try bind(split.from)
        let hoursFrom = try bind(split.hoursFrom)
        let hoursTo = try bind(split.hoursTo)
        let to = try bind(split.to)
        return """
            SELECT group_id, minute AS at, count FROM group_counts WHERE \(groups) AND minute >= \(from) AND minute < \(hoursFrom)
            UNION ALL
            SELECT group_id, hour, count FROM group_counts_hourly WHERE \(groups) AND hour >= \(hoursFrom) AND hour < \(hoursTo)
            UNION ALL
            SELECT group_id, minute, count FROM group_counts WHERE \(groups) AND minute >= \(hoursTo) AND minute < \(to)
            """
    }
}
