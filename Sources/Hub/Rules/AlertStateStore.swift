import Foundation
import Logging
import PostgresNIO
import Rules

/// Each alerting rule's alerts in `rule_alerts`, written after every evaluation and read at
/// start, so that a restart keeps a pending alert's `for` progress and the time each alert was
/// last sent (nothing is sent again as new).
struct AlertStateStore: Sendable {
    let client: any DatabaseClient
    let logger: Logger

    func save(_ state: AlertingRuleState, for key: RuleKey, at time: Date) async throws {
        let json = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        try await client.query(
            """
            INSERT INTO rule_alerts (rule_group, rule, state, updated_at) VALUES (\(key.group), \(key.rule), \(json)::jsonb, \(time))
            ON CONFLICT (rule_group, rule) DO UPDATE SET state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
            """, logger: logger)
    }

    /// Every stored state; one that no longer decodes is left out (and logged), not fatal.
    func load() async throws -> [RuleKey: AlertingRuleState] {
        var states: [RuleKey: AlertingRuleState] = [:]
        let rows = try await client.query("SELECT rule_group, rule, state::text FROM rule_alerts", logger: logger)
        for try await (group, rule, text) in rows.decode((String, String, String).self) {
            do {
                states[RuleKey(group: group, rule: rule)] = try JSONDecoder().decode(AlertingRuleState.self, from: Data(text.utf8))
            } catch {
                logger.warning("an alert state could not be read", metadata: ["rules.group": "\(group)", "rules.rule": "\(rule)", "error": "\(error)"])
            }
        }
        return states
    }

    /// Forgets the states of rules no longer configured.
    func delete(_ keys: [RuleKey]) async throws {
        guard !keys.isEmpty else { return }
        try await client.query(
            "DELETE FROM rule_alerts WHERE (rule_group, rule) IN (SELECT * FROM unnest(\(keys.map(\.group))::text[], \(keys.map(\.rule))::text[]))",
            logger: logger)
    }
}
