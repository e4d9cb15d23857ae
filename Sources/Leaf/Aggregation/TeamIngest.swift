import Foundation
import NIOCore
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
        var deploys = DeployRule()
    }
    let state: TeamState
    private let settings = Mutex(Settings())
    private let sightings = Mutex<[TargetKey: Date]>([:])

    init(state: TeamState) {
        self.state = state
    }

    /// Takes a new config's per-service limits and scrub settings.
    func configure(_ config: LeafConfig) {
        settings.withLock { settings in
            settings.services = Dictionary(config.services.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            settings.scrubber = Scrubber(extraHeaders: config.scrub.headers, extraFields: config.scrub.fields)
            settings.series = config.series
            settings.deploys = config.deploys
        }
    }

    /// A scrape as decoded: samples the team keeps already are only checked, not built. The body
    /// stays, to be decoded in full should the team have moved on by the time it is merged.
    struct Scrape: Sendable {
        var payload: SkimmedPayload
        var body: ByteBuffer
        var limits: PayloadLimits
    }

    func decode(_ body: ByteBuffer, from target: ScrapeTarget) throws(ScrapeFailure) -> Scrape {
        let service = settings.withLock { $0.services[target.service] }
        var limits = PayloadLimits()
        limits.maxGroups = service?.aggregateLimit
        let kept = state.keptSamples
        let payload = try Self.decoding { () throws(PayloadError) in
            try Self.read(body) { bytes throws(PayloadError) in
                try PayloadDecoder(limits: limits).decode(bytes) { key in kept.kept(GroupID(service: target.service, key: key)) }
            }
        }
        return Scrape(payload: payload, body: body, limits: limits)
    }

    func consume(_ scrape: Scrape, from target: ScrapeTarget, at time: Date) async throws(ScrapeFailure) {
        let (service, scrubber, series, deploys) = settings.withLock { ($0.services[target.service], $0.scrubber, $0.series, $0.deploys) }
        let sampleLimit = service?.sampleLimit ?? LeafConfig.defaultSampleLimit
        if await state.apply(scrape.payload, from: target, at: time, sampleLimit: sampleLimit, scrubber: scrubber, series: series, deploys: deploys) { return }
        // Another target of the service (or a new sample_limit) changed a group since the decode
        // looked: a skipped sample might now be merged, so this body is read whole. Rare, and exact.
        let payload = try Self.decoding { () throws(PayloadError) in
            try Self.read(scrape.body) { bytes throws(PayloadError) in try PayloadDecoder(limits: scrape.limits).decode(bytes) }
        }
        await state.apply(payload, from: target, at: time, sampleLimit: sampleLimit, scrubber: scrubber, series: series, deploys: deploys)
    }

    /// The body's bytes in place (ByteBuffer's closure rethrows untyped).
    private static func read<Payload>(
        _ body: ByteBuffer, _ decode: (UnsafeRawBufferPointer) throws(PayloadError) -> Payload
    ) throws(PayloadError) -> Payload {
        try body.withUnsafeReadableBytes { bytes in Result { () throws(PayloadError) in try decode(bytes) } }.get()
    }

    /// Runs a decode, with its error as the scrape's failure.
    private static func decoding<Payload>(_ decode: () throws(PayloadError) -> Payload) throws(ScrapeFailure) -> Payload {
        do {
            return try decode()
        } catch {
            if case .tooManyGroups(let limit, let found) = error.kind {
                throw .rejected("target reported \(found) groups, more than aggregate_limit \(limit)")
            }
            throw .invalidPayload(error.description)
        }
    }

    /// Unchanged scrapes only say their processes are alive: they are told to the team state a
    /// second at a time, in one call, rather than each with a call of its own from the scrape's
    /// event loop to the actor and back.
    func unchanged(_ target: ScrapeTarget, at time: Date) {
        let first = sightings.withLock { sightings in
            defer { sightings[target.key] = time }
            return sightings.isEmpty
        }
        guard first else { return }
        Task {
            try? await Task.sleep(for: .seconds(1))
            let batch = self.sightings.withLock { sightings in
                defer { sightings = [:] }
                return sightings
            }
            await self.state.markSeen(batch)
        }
    }

    func removed(_ target: ScrapeTarget) async {
        await state.targetRemoved(target)
    }
}
