import Foundation
import Logging
import PostgresNIO
import Shared
import Synchronization

/// Takes leaves' federation payloads into the database: decodes them (in the leaf's own scrape
/// loop), applies those that arrive within `batchWait` of each other in one transaction, and logs
/// every scrape in the snapshot log.
final class HubIngest: ScrapeConsumer {
    let client: any DatabaseClient
    let metrics: HubMetrics
    let logger: Logger
    /// Scrapes waiting to be applied together. A transaction's fixed cost (its round trips, each
    /// statement's start-up, the commit) was most of what PostgreSQL spent on a leaf's scrape that
    /// changed a few groups; a scrape waits up to `batchWait` for others to share it.
    private let batches: BatchQueue<FederationApply.Scrape, ApplyResult>
    /// The deploys of each leaf's last applied scrape: written again only when they changed.
    private let appliedDeploys = Mutex<[TargetKey: [[FederatedDeploy]]]>([:])
    /// Each leaf's groups of its last body, to decode the next without them.
    private let reuse = GroupReuse()
    /// Where each leaf's last applied body stood in its change log: the next scrape asks for
    /// only what changed since (`FederationChanges`). Set only once a body's transaction
    /// committed, so a failed apply is asked for again.
    private let applied = Mutex<[TargetKey: FederationChanges]>([:])

    /// How long a scrape waits for others to be applied with: a small part of any scrape interval.
    static let batchWait = Duration.milliseconds(200)
    /// The most scrapes applied in one transaction.
    static let batchLimit = 100

    init(client: any DatabaseClient, samplesPerGroup: Int, metrics: HubMetrics, logger: Logger) {
        self.client = client
        self.metrics = metrics
        self.logger = logger
        let apply = FederationApply(samplesPerGroup: samplesPerGroup)
        // Two leaves of one team report the same groups: they are applied in separate batches.
        batches = BatchQueue(wait: Self.batchWait, limit: Self.batchLimit, conflict: { $0.payload.leaf.team }) { scrapes in
            await Self.apply(scrapes, with: apply, client: client, metrics: metrics, logger: logger)
        }
    }

    /// The scrapes applied in one transaction; when that fails for anything but an outage, each in
    /// a transaction of its own, so that one leaf's bad value never fails the scrapes beside it.
    static func apply(
        _ scrapes: [FederationApply.Scrape], with apply: FederationApply, client: any DatabaseClient, metrics: HubMetrics, logger: Logger
    ) async -> [Result<ApplyResult, any Error>] {
        metrics.recordBatch(scrapes: scrapes.count)
        func transaction(_ scrapes: [FederationApply.Scrape]) async throws -> [ApplyResult] {
            try await client.transaction(logger: logger) { connection in try await apply.apply(scrapes, on: connection, logger: logger) }
        }
        do {
            return try await transaction(scrapes).map { .success($0) }
        } catch {
            guard scrapes.count > 1, DatabaseUnavailable(classifying: error) == nil else { return scrapes.map { _ in .failure(error) } }
            metrics.recordBatchApart()
            logger.debug(
                "a batch of leaf scrapes could not be applied together; applying each alone",
                metadata: ["hub.scrapes": "\(scrapes.count)", "store.error": "\(DatabaseErrorText.describe(error))"])
            var results: [Result<ApplyResult, any Error>] = []
            for scrape in scrapes {
                do {
                    results.append(.success(try await transaction([scrape])[0]))
                } catch {
                    results.append(.failure(error))
                }
            }
            return results
        }
    }

    /// A leaf's payload made storable, and what had to be left out of it.
    struct Prepared: Sendable {
        var payload: FederationPayload
        var skipped: [FederationRejection]
        /// Set when groups were taken from the leaf's last body, without their samples.
        var reused: GroupReuse.Decoded?

        func complete(_ key: FederationApply.GroupKey, _ group: FederatedGroup) throws -> FederatedGroup {
            try reused?.complete(key, group) ?? group
        }
    }

    func requestHeaders(for target: ScrapeTarget) -> [(name: String, value: String)] {
        guard let changes = applied.withLock({ $0[target.key] }) else { return [] }
        return [(FederationChanges.requestHeader, changes.headerValue)]
    }

    func decode(_ buffer: ByteBuffer, from target: ScrapeTarget) throws(ScrapeFailure) -> Prepared {
        let prepared = try decodeBody(buffer, from: target)
        try checkDelta(prepared.payload.changes, from: target)
        return prepared
    }

    /// A delta is applied only on top of the body it was made against, which must be the one this
    /// hub applied last; anything else forgets the leaf's place, so that it is sent whole next.
    private func checkDelta(_ changes: FederationChanges?, from target: ScrapeTarget) throws(ScrapeFailure) {
        guard let changes, let since = changes.since else { return }
        let last = applied.withLock { $0[target.key] }
        guard let last, last.log == changes.log, last.sequence == since, changes.sequence >= since else {
            _ = applied.withLock { $0.removeValue(forKey: target.key) }
            throw .rejected(
                "the leaf sent the groups changed since \(changes.log) \(since), but this hub applied "
                    + (last.map { "\($0.log) \($0.sequence)" } ?? "no body of that log") + "; it is asked for every group next")
        }
    }

    private func decodeBody(_ buffer: ByteBuffer, from target: ScrapeTarget) throws(ScrapeFailure) -> Prepared {
        // Kept as bytes of its own: the groups reused next time are found in this body.
        let body = Array(buffer.readableBytesView)
        // Most of a body is the groups of the last one: those are not decoded again. Anything
        // unusual about the body decodes it whole, below, which says what was wrong with it.
        if let decoded = reuse.decode(body, from: target.key, storable: StorablePayload()) {
            return Prepared(payload: decoded.payload, skipped: [], reused: decoded)
        }
        let payload: FederationPayload
        do {
            payload = try CanopyJSON.decoder().decode(FederationPayload.self, from: Data(body))
        } catch let error as DecodingError {
            throw .invalidPayload(DecodingErrorText.describe(error))
        } catch {
            throw .invalidPayload("\(error)")
        }
        guard payload.version == FederationPayload.currentVersion else {
            throw .rejected("federation format version \(payload.version); this hub reads version \(FederationPayload.currentVersion)")
        }
        guard let team = payload.leaf.team, !team.isEmpty else {
            throw .rejected("the leaf federates no team (external_labels.team)")
        }
        let (storable, skipped) = try StorablePayload().prepare(payload)
        return Prepared(payload: storable, skipped: skipped, reused: nil)
    }

    func removed(_ target: ScrapeTarget) async {
        reuse.forget(target.key)
        _ = applied.withLock { $0.removeValue(forKey: target.key) }
        _ = appliedDeploys.withLock { $0.removeValue(forKey: target.key) }
    }

    func consume(_ prepared: Prepared, from target: ScrapeTarget, at time: Date) async throws(ScrapeFailure) {
        let payload = prepared.payload
        let started = ContinuousClock.now
        let deploys = payload.services.map(\.deploys)
        let scrape = FederationApply.Scrape(
            payload: payload, leafURL: target.url, job: target.service, time: time, writeDeploys: appliedDeploys.withLock { $0[target.key] } != deploys,
            complete: { try prepared.complete($0, $1) }, skipped: prepared.skipped)
        let result: ApplyResult
        do {
            result = try await batches.submit(scrape)
        } catch {
            // The transaction rolled back (or, when the connection broke at COMMIT, perhaps committed: the cursors
            // were written with it, so the next scrape adds exactly what this one did not).
            metrics.recordDatabaseError()
            throw .rejected("could not store the scrape: \(DatabaseErrorText.describe(error))")
        }
        appliedDeploys.withLock { $0[target.key] = deploys }
        applied.withLock { $0[target.key] = payload.changes.flatMap { $0.isReturnable ? $0 : nil } }
        metrics.recordBody(delta: payload.changes?.since != nil)
        metrics.recordTransaction(seconds: (ContinuousClock.now - started).seconds, rows: result.rowsWritten)
        if !prepared.skipped.isEmpty {
            metrics.recordSkipped(prepared.skipped.count, leaf: target.service)
            logger.warning(
                "left out what could not be stored of a leaf's scrape; the rest is applied",
                metadata: [
                    "hub.leaf": "\(target.url)", "hub.skipped": "\(prepared.skipped.count)",
                    "hub.skipped_first": "\(prepared.skipped.prefix(5).map(\.description).joined(separator: "; "))",
                ])
        }
        if result.epochChanged {
            logger.warning(
                "leaf started a new epoch (it lost its data dir): its first report is taken as a baseline",
                metadata: ["hub.leaf": "\(target.url)", "hub.epoch": "\(payload.leaf.epoch)"])
        }
    }

    func scraped(_ target: ScrapeTarget, health: TargetHealth, unchanged: Bool) async {
        // An applied scrape was logged with its apply, in its transaction.
        guard health.state != .up || unchanged else { return }
        do {
            try await client.run(
                IngestStatements.LogScrape(
                    url: target.url, time: health.lastScrape ?? Date(), duration: health.lastDurationSeconds, outcome: health.state != .up ? "failed" : "unchanged",
                    error: health.lastError),
                logger: logger)
        } catch {
            // While the database is unreachable every scrape fails to store and to log: `Database` says so once.
            logger.log(
                level: error is DatabaseUnavailable ? .debug : .warning, "could not log a scrape",
                metadata: ["hub.leaf": "\(target.url)", "store.error": "\(DatabaseErrorText.describe(error))"])
        }
    }
}
