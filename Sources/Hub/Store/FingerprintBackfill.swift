import Logging
import PostgresNIO

/// Gives the groups stored before migration 8 their `BugFingerprint`, at start, after the
/// migrations: the normaliser is Swift, so a migration's SQL cannot. It reads what ingest
/// hashes (class, message and the stored newest stack trace) in batches by id, and after the
/// first start finds nothing (ingest writes a fingerprint for every group, never '').
enum FingerprintBackfill {
    static let batch = 1000

    /// The number of groups given a fingerprint.
    @discardableResult
    static func run(_ client: any DatabaseClient, logger: Logger) async throws -> Int {
        var after: Int64 = 0
        var done = 0
        while true {
            let rows = try await client.query(
                """
                SELECT id, class, message, stacktrace FROM groups WHERE fingerprint = '' AND id > \(after) ORDER BY id LIMIT \(batch)
                """, logger: logger)
            var ids: [Int64] = []
            var fingerprints: [String] = []
            for try await (id, className, message, stacktrace) in rows.decode((Int64, String, String, String).self) {
                ids.append(id)
                fingerprints.append(BugFingerprint.make(className: className, message: message, storedStacktrace: stacktrace))
            }
            guard let last = ids.last else { return done }
            try await client.query(
                """
                UPDATE groups g SET fingerprint = u.fingerprint FROM UNNEST(\(ids)::int8[], \(fingerprints)::text[]) AS u(id, fingerprint)
                WHERE g.id = u.id AND g.fingerprint = ''
                """, logger: logger)
            done += ids.count
            after = last
        }
    }
}
