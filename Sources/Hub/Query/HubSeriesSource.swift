import Foundation
import Logging
import PostgresNIO
import PromQL
import Shared

/// Every series the hub serves for querying, for the evaluator and the series API: the
/// exception counters, the group gauges, and the current health of leaves and services.
struct HubSeriesSource: SeriesSource {
    static let leafUp = "canopy_leaf_up"
    static let serviceTargets = "canopy_service_targets"
    static let serviceTargetsUp = "canopy_service_targets_up"
    static let newInDeploy = "canopy_group_new_in_deploy"

    /// Every metric, with its type and help, as `/api/v1/metadata` lists them.
    static let metadata: [(name: String, type: String, help: String)] = [
        (ExceptionCounters.metric, "counter", "Occurrences of an exception group from targets with one set of labels, counted exactly across instances, restarts and leaves."),
        (GroupGauges.firstSeen, "gauge", "When the group first occurred, in seconds since the Unix epoch."),
        (GroupGauges.lastSeen, "gauge", "When the group last occurred, in seconds since the Unix epoch."),
        (GroupGauges.status, "gauge", "1 for the group's current status (unresolved, regressed, resolved, ignored), with its bug fingerprint."),
        (newInDeploy, "gauge", "1 for a group first seen in its service's newest deploy (labelled with its version), from its first occurrence on."),
        (leafUp, "gauge", "1 if the hub's last scrape of the leaf succeeded, 0 if not."),
        (serviceTargets, "gauge", "Targets of the service its team's leaves discover."),
        (serviceTargetsUp, "gauge", "Targets of the service whose last scrape succeeded."),
    ]

    let counters: ExceptionCounters
    let gauges: GroupGauges
    /// What rules record, and the alerts' series.
    let ruleSeries: RuleSeriesStore
    let client: any DatabaseClient
    let logger: Logger
    /// The leaves as the hub sees them now.
    let leaves: @Sendable () async throws -> [LeafReport]

    let maxSeries: Int

    init(client: any DatabaseClient, logger: Logger, maxSeries: Int = 200_000, leaves: @escaping @Sendable () async throws -> [LeafReport]) {
        self.client = client
        self.logger = logger
        self.maxSeries = maxSeries
        self.leaves = leaves
        counters = ExceptionCounters(client: client, logger: logger, maxSeries: maxSeries)
        gauges = GroupGauges(client: client, logger: logger, maxSeries: maxSeries)
        ruleSeries = RuleSeriesStore(client: client, logger: logger)
    }

    /// A database error as the query's answer says it: the server's message, never the SQL.
    struct DatabaseFailure: Error, CustomStringConvertible {
        let description: String
    }

    func select(_ request: SelectRequest) async throws -> [SourceSeries] {
        do { return try await selectAll(request) } catch let error as PSQLError { throw DatabaseFailure(description: "the database failed: " + DatabaseErrorText.describe(error)) }
    }

    private func selectAll(_ request: SelectRequest) async throws -> [SourceSeries] {
        var found: [SourceSeries] = []
        for metric in Self.metrics(passing: request.matchers) { found += try await select(metric, request) }
        return found + (try await ruleSeries.select(request))
    }

    /// The series of one metric that pass the request's matchers.
    private func select(_ metric: String, _ request: SelectRequest) async throws -> [SourceSeries] {
        switch metric {
        case ExceptionCounters.metric: return try await counters.select(request)
        case _ where GroupGauges.metrics.contains(metric): return try await gauges.select(metric, request)
        case Self.newInDeploy: return try await newInDeploy().filter { series in request.matchers.allSatisfy { $0.matches(series.labels[$0.name] ?? "") } }
        default: return try await health(metric).filter { series in request.matchers.allSatisfy { $0.matches(series.labels[$0.name] ?? "") } }
        }
    }

    func selectSummed(_ request: SelectRequest, by labels: [String]) async throws -> [SourceSeries]? {
        // Only the counters are worth summing in SQL; a selector that reaches others is summed by the evaluator.
        guard Self.metrics(passing: request.matchers) == [ExceptionCounters.metric] else { return nil }
        do { return try await counters.selectSummed(request, by: labels) } catch let error as PSQLError { throw DatabaseFailure(description: "the database failed: " + DatabaseErrorText.describe(error)) }
    }

    /// The label sets of the series matching any of `selectors`, for the series and label APIs.
    func labels(matching selectors: [[LabelMatcher]], start: Date?, end: Date?) async throws -> [PromQL.Labels] {
        var found: Set<PromQL.Labels> = []
        let now = QueryTime.timestamp(Date())
        for matchers in selectors {
            for metric in Self.metrics(passing: matchers) {
                if metric == ExceptionCounters.metric {
                    found.formUnion(try await counters.labels(matching: matchers, start: start, end: end))
                } else {
                    let request = SelectRequest(
                        matchers: matchers, start: start.map(QueryTime.timestamp) ?? now, end: end.map(QueryTime.timestamp) ?? now)
                    found.formUnion(try await select(metric, request).map(\.labels))
                }
            }
            let request = SelectRequest(matchers: matchers, start: start.map(QueryTime.timestamp) ?? 0, end: end.map(QueryTime.timestamp) ?? now)
            found.formUnion(try await ruleSeries.select(request).map(\.labels))
        }
        return found.sorted()
    }

    /// The metrics whose name passes the selector's `__name__` matchers.
    static func metrics(passing matchers: [LabelMatcher]) -> [String] {
        let names = matchers.filter { $0.name == PromQL.Labels.metricName }
        return metadata.map(\.name).filter { name in names.allSatisfy { $0.matches(name) } }
    }

    /// The groups new in their service's newest deploy, labelled as the group gauges are and
    /// with the deploy's `version` (none for a deploy seen as restarts).
    private func newInDeploy() async throws -> [SourceSeries] {
        try await DeployQueries(client: client, logger: logger).newInNewestDeploy(limit: maxSeries).map { group in
            var labels = PromQL.Labels([
                (PromQL.Labels.metricName, Self.newInDeploy), ("team", group.team), ("service", group.service), ("aggregation_key", group.key),
                ("class", group.className), ("severity", SeverityRank.severity(Int(group.severity)).rawValue),
            ])
            if let version = group.version { labels["version"] = version }
            return SourceSeries(labels: labels, data: .steps([Sample(t: QueryTime.timestamp(group.firstSeen), v: 1)]))
        }
    }

    /// The leaves' and services' health now, as series that hold at every time.
    private func health(_ metric: String) async throws -> [SourceSeries] {
        func constant(_ labels: [(String, String)], _ value: Double) -> SourceSeries {
            SourceSeries(labels: PromQL.Labels([(PromQL.Labels.metricName, metric)] + labels), data: .steps([Sample(t: 0, v: value)]))
        }
        if metric == Self.leafUp {
            return try await leaves().map { constant([("leaf", $0.leaf), ("team", $0.team)], $0.health == .up ? 1 : 0) }
        }
        let rows = try await client.query(
            """
            SELECT l.team, ls.service, sum(ls.targets_total)::int8, sum(ls.targets_up)::int8
            FROM leaf_services ls JOIN leaves l ON l.id = ls.leaf_id GROUP BY 1, 2
            """, logger: logger)
        var found: [SourceSeries] = []
        for try await (team, service, total, up) in rows.decode((String, String, Int64, Int64).self) {
            found.append(constant([("team", team), ("service", service)], Double(metric == Self.serviceTargets ? total : up)))
        }
        return found
    }
}
