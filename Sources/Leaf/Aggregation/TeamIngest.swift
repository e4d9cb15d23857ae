import Foundation
import Periskop
import Shared
import Synchronization

/// Takes scraped Periskop payloads into the team state: decodes them with the service's limits,
/// scrubs their samples and merges them.
final class TeamIngest: ScrapeConsumer {
    private struct Settings {
        var services: [String: ServiceConfig] = [:]
        var scrubber = Scrubber()
        var series = SeriesRule()
    }
    let state: TeamState
    private let settings = Mutex(Settings())

    init(state: TeamState) {
        self.state = state
    }

    /// Takes a new config's per-service limits and scrub settings.
    func configure(_ config: LeafConfig) {
        settings.withLock { settings in
            settings.services = Dictionary(config.services.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            settings.scrubber = Scrubber(extraHeaders: config.scrub.headers, extraFields: config.scrub.fields)
            settings.series = config.series
        }
    }

    func decode(_ body: [UInt8], from target: ScrapeTarget) throws(ScrapeFailure) -> ExceptionsPayload {
        let service = settings.withLock { $0.services[target.service] }
        var limits = PayloadLimits()
        limits.maxGroups = service?.aggregateLimit
        do {
            return try PayloadDecoder(limits: limits).decode(body)
        } catch {
            if case .tooManyGroups(let limit, let found) = error.kind {
                throw .rejected("target reported \(found) groups, more than aggregate_limit \(limit)")
            }
            throw .invalidPayload(error.description)
        }
    }

    func consume(_ payload: ExceptionsPayload, from target: ScrapeTarget, at time: Date) async throws(ScrapeFailure) {
        let (service, scrubber, series) = settings.withLock { ($0.services[target.service], $0.scrubber, $0.series) }
        await state.apply(
            payload, from: target, at: time, sampleLimit: service?.sampleLimit ?? LeafConfig.defaultSampleLimit, scrubber: scrubber, series: series)
    }

    func unchanged(_ target: ScrapeTarget, at time: Date) async {
        await state.markSeen(target, at: time)
    }

    func removed(_ target: ScrapeTarget) async {
        await state.targetRemoved(target)
    }
}
