import Foundation
import Logging
import PostgresNIO
import Shared
import Synchronization

/// Takes leaves' federation payloads into the database: decodes them (in the leaf's own scrape
/// loop), applies each in one transaction, and logs every scrape in the snapshot log.
final class HubIngest: ScrapeConsumer {
    let client: PostgresClient
    let apply: FederationApply
    let metrics: HubMetrics
    let logger: Logger
    /// What the last applied scrape of each leaf changed, for its snapshot log row.
    private let lastApplied = Mutex<[TargetKey: ApplyResult]>([:])

    init(client: PostgresClient, samplesPerGroup: Int, metrics: HubMetrics, logger: Logger) {
        self.client = client
        self.apply = FederationApply(samplesPerGroup: samplesPerGroup)
        self.metrics = metrics
        self.logger = logger
    }

    func decode(_ body: [UInt8], from target: ScrapeTarget) throws(ScrapeFailure) -> FederationPayload {
        let payload: FederationPayload
        do {
            payload = try CanopyJSON.decoder().decode(FederationPayload.self, from: Data(body))
        } catch let error as DecodingError {
            throw .invalidPayload(Self.describe(error))
        } catch {
            throw .invalidPayload("\(error)")
        }
        guard payload.version == FederationPayload.currentVersion else {
            throw .rejected("federation format version \(payload.version); this hub reads version \(FederationPayload.currentVersion)")
        }
        guard let team = payload.leaf.team, !team.isEmpty else {
            throw .rejected("the leaf federates no team (external_labels.team)")
        }
        return payload
    }

    func consume(_ payload: FederationPayload, from target: ScrapeTarget, at time: Date) async throws(ScrapeFailure) {
        let started = ContinuousClock.now
        do {
            let result = try await client.withTransaction(logger: logger) { connection in
                try await apply.apply(payload, leafURL: target.url, job: target.service, at: time, on: connection, logger: logger)
            }
            metrics.recordTransaction(seconds: (ContinuousClock.now - started).seconds, rows: result.rowsWritten)
            lastApplied.withLock { $0[target.key] = result }
            if result.epochChanged {
                logger.warning(
                    "leaf started a new epoch (it lost its data dir): its first report is taken as a baseline",
                    metadata: ["hub.leaf": "\(target.url)", "hub.epoch": "\(payload.leaf.epoch)"])
            }
        } catch {
            metrics.recordDatabaseError()
            throw .rejected("could not store the scrape: \(String(reflecting: error))")
        }
    }

    func scraped(_ target: ScrapeTarget, health: TargetHealth, unchanged: Bool) async {
        let outcome = health.state != .up ? "failed" : unchanged ? "unchanged" : "applied"
        let result = outcome == "applied" ? lastApplied.withLock { $0.removeValue(forKey: target.key) } ?? ApplyResult() : ApplyResult()
        do {
            try await client.query(
                """
                INSERT INTO scrapes (leaf_id, url, time, duration_seconds, outcome, error, epoch, groups_changed, occurrences_added)
                SELECT (SELECT id FROM leaves WHERE url = \(target.url)), \(target.url), \(health.lastScrape ?? Date()), \(health.lastDurationSeconds),
                       \(outcome), \(health.lastError), (SELECT epoch FROM leaves WHERE url = \(target.url)), \(result.groupsChanged), \(result.occurrencesAdded)
                """, logger: logger)
        } catch {
            logger.warning("could not log a scrape", metadata: ["hub.leaf": "\(target.url)", "store.error": "\(String(reflecting: error))"])
        }
    }

    /// A decoding error as a path and a reason: `services[0].groups[3].total: expected Int`.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue { text += "[\(index)]" } else { text += text.isEmpty ? key.stringValue : ".\(key.stringValue)" }
            }
            return text.isEmpty ? "top level" : text
        }
        switch error {
        case .typeMismatch(let type, let context): return "\(path(context.codingPath)): expected \(type)"
        case .valueNotFound(let type, let context): return "\(path(context.codingPath)): missing \(type)"
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])): missing"
        case .dataCorrupted(let context): return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
