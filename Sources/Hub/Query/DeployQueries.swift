import Foundation
import Logging
import PostgresNIO
import Shared

/// A service's deploys and what each changed (`DeployAnalysis`), for the deploys API and page,
/// the versions a group occurs in, and the groups new in their service's newest deploy.
struct DeployQueries: Sendable {
    let client: any DatabaseClient
    let logger: Logger

    /// Deploys shown per service, the newest.
    static let shown = 20
    /// Groups listed as new per deploy, the earliest first.
    static let groupsShown = 200

    /// The newest deploys of a service with what each changed, newest first.
    func report(team: String, service: String, now: Date = Date()) async throws -> ServiceDeploys {
        var deploys: [(id: String, at: Date, version: String?, label: String?, instances: Int)] = []
        let rows = try await client.query(
            """
            SELECT deploy_id, at, version, label, instances FROM deploys WHERE team = \(team) AND service = \(service)
            ORDER BY at DESC, deploy_id LIMIT \(Self.shown)
            """, logger: logger)
        for try await (id, at, version, label, instances) in rows.decode((String, Date, String?, String?, Int32).self) {
            deploys.append((id, at, version, label, Int(instances)))
        }
        deploys.reverse()
        let starts = deploys.map(\.at)
        let windows = DeployAnalysis.windows(starts: starts, now: now)
        var reports = deploys.enumerated().map { index, deploy in
            DeployReport(
                id: deploy.id, at: deploy.at, version: deploy.version, label: deploy.label, instances: deploy.instances,
                windowSeconds: windows[index].map { $0.after.duration }, newGroups: [], rateChanges: [])
        }
        guard let oldest = starts.first else { return ServiceDeploys(team: team, service: service, deploys: []) }

        let groups = try await client.query(
            """
            SELECT id, aggregation_key, class, message, first_seen FROM groups
            WHERE team = \(team) AND service = \(service) AND first_seen >= \(oldest) ORDER BY first_seen, id
            """, logger: logger)
        for try await (id, key, className, message, firstSeen) in groups.decode((Int64, String, String, String, Date).self) {
            guard let index = DeployAnalysis.deploy(newIn: starts, firstSeen: firstSeen), reports[index].newGroups.count < Self.groupsShown else { continue }
            reports[index].newGroups.append(DeployGroup(id: id, aggregationKey: key, className: className, message: message, firstSeen: firstSeen))
        }

        let measured = windows.indices.filter { windows[$0] != nil }
        if !measured.isEmpty {
            var sql = SQLBuilder()
            let indexes = try sql.bind(measured.map { Int64($0) })
            let from = try sql.bind(measured.map { windows[$0]!.before.start.timeIntervalSince1970 })
            let at = try sql.bind(measured.map { starts[$0].timeIntervalSince1970 })
            let to = try sql.bind(measured.map { windows[$0]!.after.end.timeIntervalSince1970 })
            let teamBind = try sql.bind(team)
            let serviceBind = try sql.bind(service)
            // A minute counts in the window its start is in.
            let counts = try await client.query(
                sql.query(
                    """
                    SELECT w.i, g.id, g.aggregation_key, g.class,
                           coalesce(sum(c.count) FILTER (WHERE c.minute < to_timestamp(w.at)), 0)::int8,
                           coalesce(sum(c.count) FILTER (WHERE c.minute >= to_timestamp(w.at)), 0)::int8
                    FROM UNNEST(\(indexes)::int8[], \(from)::float8[], \(at)::float8[], \(to)::float8[]) AS w(i, start, at, stop)
                    JOIN group_counts c ON c.minute >= to_timestamp(w.start) AND c.minute < to_timestamp(w.stop)
                    JOIN groups g ON g.id = c.group_id AND g.team = \(teamBind) AND g.service = \(serviceBind)
                    GROUP BY w.i, g.id, g.aggregation_key, g.class
                    """), logger: logger)
            for try await (index, id, key, className, before, after) in counts.decode((Int64, Int64, String, String, Int64, Int64).self) {
                guard let change = DeployAnalysis.change(before: before, after: after) else { continue }
                reports[Int(index)].rateChanges.append(
                    RateChange(id: id, aggregationKey: key, className: className, change: change, before: before, after: after))
            }
            for index in reports.indices {
                reports[index].rateChanges.sort { (max($0.before, $0.after), $0.aggregationKey) > (max($1.before, $1.after), $1.aggregationKey) }
            }
        }
        return ServiceDeploys(team: team, service: service, deploys: reports.reversed())
    }

    /// The values of the deploy label among a group's series, sorted: the versions it occurred in.
    /// The label is the one its service's deploys were read from, else the default ones in order.
    func versions(ofGroup id: Int64, team: String, service: String) async throws -> [String] {
        var names: [String] = []
        let labels = try await client.query(
            "SELECT label FROM deploys WHERE team = \(team) AND service = \(service) AND label IS NOT NULL GROUP BY label ORDER BY max(at) DESC",
            logger: logger)
        for try await label in labels.decode(String.self) { names.append(label) }
        for name in names.isEmpty ? FederatedDeploy.defaultLabels : names {
            let rows = try await client.query(
                "SELECT DISTINCT labels->>\(name) FROM series WHERE group_id = \(id) AND labels ? \(name) ORDER BY 1", logger: logger)
            let values = try await rows.collect().compactMap { try $0.decode(String?.self) }
            if !values.isEmpty { return values }
        }
        return []
    }

    /// The groups first seen in (or after) their service's newest deploy, with that deploy's version.
    /// A service's only version deploy is where its leaf first saw it running, not a deploy seen
    /// happening: what came after it is not new in a deploy (a restart deploy always replaced something).
    func newInNewestDeploy(limit: Int) async throws -> [NewInDeploy] {
        let rows = try await client.query(
            """
            WITH newest AS (SELECT DISTINCT ON (team, service) team, service, at, version FROM deploys ORDER BY team, service, at DESC)
            SELECT g.team, g.service, g.aggregation_key, g.class, g.severity, n.version, g.first_seen
            FROM newest n JOIN groups g ON g.team = n.team AND g.service = n.service AND g.first_seen >= n.at
            WHERE n.version IS NULL OR EXISTS (SELECT 1 FROM deploys d WHERE d.team = n.team AND d.service = n.service AND d.at < n.at)
            LIMIT \(limit + 1)
            """, logger: logger)
        var found: [NewInDeploy] = []
        for try await (team, service, key, className, severity, version, firstSeen) in rows.decode(
            (String, String, String, String, Int16, String?, Date).self)
        {
            guard found.count < limit else { throw ExceptionCounters.TooManySeries(limit: limit) }
            found.append(NewInDeploy(team: team, service: service, key: key, className: className, severity: severity, version: version, firstSeen: firstSeen))
        }
        return found
    }
}

/// A group new in its service's newest deploy.
struct NewInDeploy: Sendable {
    var team: String
    var service: String
    var key: String
    var className: String
    var severity: Int16
    /// The deploy's; nil for a restart deploy.
    var version: String?
    var firstSeen: Date
}

/// `GET /api/v1/teams/{team}/services/{service}/deploys`.
struct ServiceDeploys: Encodable, Sendable {
    var team: String
    var service: String
    /// Newest first.
    var deploys: [DeployReport]
}

struct DeployReport: Encodable, Sendable {
    var id: String
    var at: Date
    var version: String?
    var label: String?
    var instances: Int
    /// The length of the windows before and after compared for rate changes; nil while too short.
    var windowSeconds: Double?
    var newGroups: [DeployGroup]
    var rateChanges: [RateChange]

    enum CodingKeys: String, CodingKey {
        case id, at, version, label, instances
        case windowSeconds = "window_seconds"
        case newGroups = "new_groups"
        case rateChanges = "rate_changes"
    }
}

struct DeployGroup: Encodable, Sendable {
    var id: Int64
    var aggregationKey: String
    var className: String
    var message: String
    var firstSeen: Date

    enum CodingKeys: String, CodingKey {
        case id, message
        case aggregationKey = "aggregation_key"
        case className = "class"
        case firstSeen = "first_seen"
    }
}

struct RateChange: Encodable, Sendable {
    var id: Int64
    var aggregationKey: String
    var className: String
    var change: DeployAnalysis.Change
    /// Occurrences in the window before the deploy and in the one after.
    var before: Int64
    var after: Int64

    enum CodingKeys: String, CodingKey {
        case id, change, before, after
        case aggregationKey = "aggregation_key"
        case className = "class"
    }
}
