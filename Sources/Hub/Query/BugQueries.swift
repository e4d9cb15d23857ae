import Foundation
import PostgresNIO

/// Reads of the cross-team view: groups that share a `BugFingerprint`.
extension HubQueries {
    /// At most this many bugs in a list, the most recently seen first.
    static let bugLimit = 500
    /// At most this many groups of one bug.
    static let bugGroupLimit = 1000

    /// The fingerprints seen in two or more (team, service) pairs, with all their groups: the
    /// most recently seen bug first, and in each the most recently seen group first.
    func bugs(limit: Int = HubQueries.bugLimit) async throws -> [Bug] {
        let rows = try await client.query(
            """
            WITH shared AS (
                SELECT fingerprint, max(last_seen) AS last_seen FROM groups WHERE fingerprint <> ''
                GROUP BY fingerprint HAVING count(DISTINCT (team, service)) >= 2
                ORDER BY 2 DESC, 1 LIMIT \(limit)
            )
            SELECT g.fingerprint, g.id, g.team, g.service, g.aggregation_key, g.class, g.message, g.total, g.first_seen, g.last_seen,
                   \(unescaped: Self.effectiveStatus)
            FROM shared s JOIN groups g ON g.fingerprint = s.fingerprint
            ORDER BY s.last_seen DESC, s.fingerprint, g.last_seen DESC, g.id
            """, logger: logger)
        var bugs: [Bug] = []
        for try await row in rows.decode((String, Int64, String, String, String, String, String, Int64, Date, Date, String).self) {
            let group = BugGroup(id: row.1, team: row.2, service: row.3, aggregationKey: row.4, total: row.7, lastSeen: row.9, status: row.10)
            if bugs.last?.fingerprint == row.0 {
                bugs[bugs.count - 1].firstSeen = min(bugs[bugs.count - 1].firstSeen, row.8)
                if bugs[bugs.count - 1].groups.count < Self.bugGroupLimit { bugs[bugs.count - 1].groups.append(group) }
            } else {
                bugs.append(Bug(fingerprint: row.0, className: row.5, message: row.6, firstSeen: row.8, groups: [group]))
            }
        }
        return bugs
    }

    /// The groups with `fingerprint`, in any team, the most recently seen first.
    func bugGroups(fingerprint: String) async throws -> [BugGroup] {
        guard !fingerprint.isEmpty else { return [] }
        let rows = try await client.query(
            """
            SELECT g.id, g.team, g.service, g.aggregation_key, g.total, g.last_seen, \(unescaped: Self.effectiveStatus)
            FROM groups g WHERE g.fingerprint = \(fingerprint) ORDER BY g.last_seen DESC, g.id LIMIT \(Self.bugGroupLimit)
            """, logger: logger)
        var groups: [BugGroup] = []
        for try await row in rows.decode((Int64, String, String, String, Int64, Date, String).self) {
            groups.append(BugGroup(id: row.0, team: row.1, service: row.2, aggregationKey: row.3, total: row.4, lastSeen: row.5, status: row.6))
        }
        return groups
    }
}
