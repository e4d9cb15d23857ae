import Foundation
import Logging
import Periskop
import PostgresNIO
import PromQL
import Shared

/// The series of `canopy_exceptions_total` that selectors match, read from PostgreSQL: a series'
/// labels are its group's (`team`, `service`, `aggregation_key`, `class`, `severity`) and its own
/// (target labels and the leaf's external labels). Equality matchers are pushed down to SQL;
/// regex matchers are applied here (Prometheus's RE2 meaning, which PostgreSQL's regexes do not
/// share) to the rows the rest selects, of which at most `maxSeries` are read.
struct SeriesCatalog: Sendable {
    let client: PostgresClient
    let logger: Logger
    /// Rows read for one selector; past this the query is refused rather than left to run.
    var maxSeries = 200_000

    static let metric = "canopy_exceptions_total"
    /// Labels every series has from its group, and the column each is in.
    static let groupColumns = ["team": "g.team", "service": "g.service", "aggregation_key": "g.aggregation_key", "class": "g.class"]

    struct TooManySeries: Error, CustomStringConvertible {
        let limit: Int
        var description: String { "the selector matches more than \(limit) series: add label matchers" }
    }

    /// The label sets of the series matching any of `selectors` whose group was seen by `end`
    /// and last seen from `start` on (a counter exists from its first occurrence).
    func series(matching selectors: [[LabelMatcher]], start: Date?, end: Date?) async throws -> [Shared.Labels] {
        var found: Set<Shared.Labels> = []
        for matchers in selectors {
            for labels in try await series(matching: matchers, start: start, end: end) { found.insert(labels) }
        }
        return found.sorted { $0.description < $1.description }
    }

    /// Every label name of the matching series (or of all), sorted.
    func labelNames(matching selectors: [[LabelMatcher]], start: Date?, end: Date?) async throws -> [String] {
        let series = try await self.series(matching: selectors.isEmpty ? [[]] : selectors, start: start, end: end)
        return Set(series.flatMap(\.values.keys)).sorted()
    }

    /// Every value of `name` among the matching series (or all), sorted.
    func labelValues(_ name: String, matching selectors: [[LabelMatcher]], start: Date?, end: Date?) async throws -> [String] {
        let series = try await self.series(matching: selectors.isEmpty ? [[]] : selectors, start: start, end: end)
        return Set(series.compactMap { $0[name] }).sorted()
    }

    private func series(matching matchers: [LabelMatcher], start: Date?, end: Date?) async throws -> [Shared.Labels] {
        // Only one metric has series here: a name matcher that refuses it selects nothing.
        for matcher in matchers where matcher.name == "__name__" && !matcher.matches(Self.metric) { return [] }
        var sql = SQLBuilder()
        var conditions: [String] = []
        if let end { conditions.append("g.first_seen <= \(try sql.bind(end))") }
        if let start { conditions.append("g.last_seen >= \(try sql.bind(start))") }
        var inSwift: [LabelMatcher] = []
        for matcher in matchers where matcher.name != "__name__" {
            if let condition = try Self.condition(matcher, &sql) { conditions.append(condition) } else { inSwift.append(matcher) }
        }
        let rows = try await client.query(
            sql.query(
                """
                SELECT g.team, g.service, g.aggregation_key, g.class, g.severity, s.labels::text
                FROM series s JOIN groups g ON g.id = s.group_id
                WHERE \((["true"] + conditions).joined(separator: " AND "))
                LIMIT \(maxSeries + 1)
                """), logger: logger)
        let decoder = JSONDecoder()
        var result: [Shared.Labels] = []
        var read = 0
        for try await (team, service, key, className, severity, text) in rows.decode((String, String, String, String, Int16, String).self) {
            read += 1
            guard read <= maxSeries else { throw TooManySeries(limit: maxSeries) }
            let own = (try? decoder.decode(Shared.Labels.self, from: Data(text.utf8))) ?? Shared.Labels()
            var labels = own
            labels["__name__"] = Self.metric
            labels["team"] = team
            labels["service"] = service
            labels["aggregation_key"] = key
            labels["class"] = className
            labels["severity"] = SeverityRank.severity(Int(severity)).rawValue
            if inSwift.allSatisfy({ $0.matches(labels[$0.name] ?? "") }) { result.append(labels) }
        }
        return result
    }

    /// `matcher` as SQL, or nil when it must be applied in Swift (regexes). A missing label has
    /// the value "", as in Prometheus.
    private static func condition(_ matcher: LabelMatcher, _ sql: inout SQLBuilder) throws -> String? {
        switch (matcher.type, matcher.name) {
        case (.regexMatch, _), (.regexNoMatch, _):
            return nil
        case (let type, "severity"):
            guard let severity = Severity(rawValue: matcher.value) else { return type == .equal ? "false" : "true" }
            let rank = try sql.bind(Int16(SeverityRank.rank(severity)))
            return type == .equal ? "g.severity = \(rank)" : "g.severity <> \(rank)"
        case (let type, let name) where groupColumns[name] != nil:
            let value = try sql.bind(matcher.value)
            return "\(groupColumns[name]!) \(type == .equal ? "=" : "<>") \(value)"
        case (let type, let name):
            let key = try sql.bind(name)
            if matcher.value.isEmpty { return type == .equal ? "NOT (s.labels ? \(key))" : "s.labels ? \(key)" }
            let value = try sql.bind(matcher.value)
            return type == .equal ? "s.labels ->> \(key) = \(value)" : "(s.labels ->> \(key)) IS DISTINCT FROM \(value)"
        }
    }
}
