import Foundation
import NIOCore
import NIOPosix
import Logging
import ServiceLifecycle
import Synchronization
import Periskop

/// Runs one scrape loop per target. Targets come from discovery through `sync(_:)`; a target
/// whose URL or settings change gets a new loop, a target that goes away stops at once. A slow,
/// dead, huge or malformed target only ever affects its own loop and health record.
public final class ScrapeManager<Consumer: ScrapeConsumer>: Service, Sendable {
    private struct Running {
        var target: ScrapeTarget
        var stop: StopSignal
    }
    private struct State {
        var running: [TargetKey: Running] = [:]
        var health: [TargetKey: TargetHealth] = [:]
    }

    private let consumer: Consumer
    private let fetcher: HTTPFetcher
    private let limiter: ConcurrencyLimiter
    private let logger: Logger
    private let state = Mutex(State())
    private let updates = Mailbox<[ScrapeTarget]>()
    private let accept: String

    public init(consumer: Consumer, fetcher: HTTPFetcher, maxConcurrentScrapes: Int, logger: Logger, accept: String = "application/json") {
        self.consumer = consumer
        self.fetcher = fetcher
        self.limiter = ConcurrencyLimiter(limit: maxConcurrentScrapes)
        self.logger = logger
        self.accept = accept
    }

    /// Replaces the set of targets. Takes effect at once if the manager runs, or when it starts.
    public func sync(_ targets: [ScrapeTarget]) {
        updates.send(targets)
    }

    public var targets: [ScrapeTarget] { state.withLock { $0.running.values.map(\.target) } }

    public func health(of key: TargetKey) -> TargetHealth { state.withLock { $0.health[key] ?? TargetHealth() } }

    public var allHealth: [TargetKey: TargetHealth] { state.withLock { $0.health } }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                guard let targets = await cancelOnGracefulShutdown({ await self.updates.take() }) ?? nil else { continue }
                for (target, stop) in apply(targets) {
                    group.addTask { await self.loop(target, stop: stop) }
                }
            }
            let running = state.withLock { state in
                defer { state.running = [:] }
                return state.running.values
            }
            for entry in running { entry.stop.stop() }
        }
    }

    /// Diffs the new target list against the running loops; returns the loops to start.
    private func apply(_ targets: [ScrapeTarget]) -> [(ScrapeTarget, StopSignal)] {
        var wanted: [TargetKey: ScrapeTarget] = [:]
        for target in targets { wanted[target.key] = target }
        let (stopped, started) = state.withLock { state -> ([Running], [(ScrapeTarget, StopSignal)]) in
            var stopped: [Running] = []
            var started: [(ScrapeTarget, StopSignal)] = []
            for (key, running) in state.running where wanted[key] != running.target {
                stopped.append(running)
                state.running[key] = nil
                if wanted[key] == nil { state.health[key] = nil }
            }
            for (key, target) in wanted where state.running[key] == nil {
                let stop = StopSignal()
                state.running[key] = Running(target: target, stop: stop)
                started.append((target, stop))
            }
            return (stopped, started)
        }
        for running in stopped { running.stop.stop() }
        if !stopped.isEmpty || !started.isEmpty {
            logger.info("scrape targets updated", metadata: ["scrape.started": "\(started.count)", "scrape.stopped": "\(stopped.count)", "scrape.targets": "\(wanted.count)"])
        }
        return started
    }

    /// A target's loop runs isolated to an event loop of its own choosing, where its connection,
    /// its timer and its bookkeeping are: an unchanged scrape wakes no other thread.
    private func loop(_ target: ScrapeTarget, stop: StopSignal) async {
        await EventLoopIsolation(MultiThreadedEventLoopGroup.singleton.next()).run { isolation in
            let connection = ScrapeConnection(eventLoop: isolation.eventLoop)
            defer { connection.close() }
            let interval = target.settings.interval
            // Spread targets over the interval, each at a stable offset, as Prometheus does.
            var deadline = ContinuousClock.now + Self.offset(of: target.key, interval: interval)
            var last: BodyFingerprint?
            while await stop.sleep(until: deadline, on: isolation.eventLoop) {
                deadline += interval
                guard await limiter.acquire() else { break }
                last = await scrape(target, over: connection, last: last, stop: stop)
                limiter.release()
                // A scrape that overran its interval skips the ticks it missed rather than bunching up.
                let now = ContinuousClock.now
                while deadline < now { deadline += interval }
            }
        }
        let removed = state.withLock { $0.running[target.key] == nil }
        if removed { await consumer.removed(target) }
    }

    /// One scrape; returns the fingerprint of the body consumed, nil when there is none to compare with.
    private nonisolated(nonsending) func scrape(
        _ target: ScrapeTarget, over connection: ScrapeConnection, last: BodyFingerprint?, stop: StopSignal
    ) async -> BodyFingerprint? {
        let started = ContinuousClock.now
        let time = Date()
        var bodyBytes = 0
        var result = last
        var unchanged = false
        let failure: ScrapeFailure?
        do {
            let headers = consumer.requestHeaders(for: target)
            let body = try await fetcher.fetchBuffer(target.url, settings: target.settings, accept: accept, headers: headers, over: connection)
            defer { BodyBuffers.recycle(body) }
            bodyBytes = body.readableBytes
            let fingerprint = body.withUnsafeReadableBytes(BodyFingerprint.init)
            if fingerprint == last {
                unchanged = true
                consumer.unchanged(target, at: time)
            } else {
                let payload = try consumer.decode(body, from: target)
                guard !stop.isStopped else { return last }
                try await consumer.consume(payload, from: target, at: time)
                result = fingerprint
            }
            failure = nil
        } catch {
            failure = error
            result = nil
        }
        let elapsed = ContinuousClock.now - started
        if let failure {
            logger.debug("scrape failed", metadata: ["scrape.target": "\(target.url)", "scrape.service": "\(target.service)", "scrape.error": "\(failure)"])
        }
        let recorded = state.withLock { state -> TargetHealth? in
            guard state.running[target.key]?.stop === stop else { return nil }
            var health = state.health[target.key] ?? TargetHealth()
            health.state = failure == nil ? .up : .down
            health.lastError = failure?.description
            health.lastScrape = time
            health.lastDurationSeconds = elapsed.seconds
            health.lastBodyBytes = bodyBytes
            health.scrapes += 1
            if failure != nil { health.failures += 1 }
            state.health[target.key] = health
            return health
        }
        if let recorded { await consumer.scraped(target, health: recorded, unchanged: unchanged) }
        return result
    }

    /// A stable offset in [0, interval) derived from the target, so restarts keep the spread.
    static func offset(of key: TargetKey, interval: Duration) -> Duration {
        let hash = FNV1a64(key.service + "\u{0}" + key.url).value
        let nanos = UInt64(interval.components.seconds) * 1_000_000_000 + UInt64(interval.components.attoseconds / 1_000_000_000)
        guard nanos > 0 else { return .zero }
        return .nanoseconds(Int64(hash % nanos))
    }
}
