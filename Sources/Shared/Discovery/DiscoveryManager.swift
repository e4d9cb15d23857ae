import AsyncHTTPClient
import Logging
import ServiceLifecycle
import Synchronization

/// Runs every job's discovery mechanisms and hands the resulting targets to the scrape engine.
/// A new config (`apply(_:)`) stops the old mechanisms and starts the new ones.
public final class DiscoveryManager: Service, Sendable {
    public typealias TargetsHandler = @Sendable (_ targets: [ScrapeTarget], _ dropped: [DroppedTarget]) -> Void

    private struct Generation: Sendable {
        var number: Int
        var builders: [TargetBuilder]
    }
    private struct State {
        var generation = 0
        /// Groups per (job index, mechanism index) of the running generation.
        var groups: [[[TargetGroup]]] = []
        /// The jobs the groups belong to, to carry them over to a config that keeps a job as it was.
        var jobs: [ScrapeJobConfig] = []
        var dropped: [DroppedTarget] = []
    }

    private let state = Mutex(State())
    /// Held from reading the groups to handing the targets on: two mechanisms reporting at once
    /// would otherwise race, and the list built from the older groups could be handed on last,
    /// dropping the other's targets until it reports again (a static config never does).
    private let publishing = Mutex(())
    private let generations = Mailbox<Generation>()
    private let httpClient: HTTPClient
    private let logger: Logger
    private let onTargets: TargetsHandler

    public init(httpClient: HTTPClient, logger: Logger, onTargets: @escaping TargetsHandler) {
        self.httpClient = httpClient
        self.logger = logger
        self.onTargets = onTargets
    }

    /// Replaces the jobs; the builders were made (and their relabelling checked) by the caller.
    public func apply(_ builders: [TargetBuilder]) {
        let number = state.withLock { state in
            state.generation += 1
            return state.generation
        }
        generations.send(Generation(number: number, builders: builders))
    }

    public var dropped: [DroppedTarget] { state.withLock { $0.dropped } }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            guard let generation = await cancelOnGracefulShutdown({ await self.generations.take() }) ?? nil else { continue }
            await withTaskGroup(of: Void.self) { group in
                state.withLock { state in
                    // A job the new config keeps unchanged keeps its targets (and their loops run on)
                    // while its discovery starts again; a changed job starts from nothing.
                    let previous = Dictionary(zip(state.jobs, state.groups).map { ($0.0.name, ($0.0, $0.1)) }, uniquingKeysWith: { first, _ in first })
                    state.groups = generation.builders.map { builder in
                        if let (job, groups) = previous[builder.job.name], job == builder.job { return groups }
                        return Array(repeating: [], count: Self.mechanisms(of: builder.job).count)
                    }
                    state.jobs = generation.builders.map(\.job)
                }
                publish(generation)
                for (jobIndex, builder) in generation.builders.enumerated() {
                    for (index, discoverer) in makeDiscoverers(builder.job).enumerated() {
                        group.addTask {
                            do {
                                try await discoverer.run { groups in
                                    self.update(generation, job: jobIndex, mechanism: index, groups: groups)
                                }
                            } catch is CancellationError {
                            } catch {
                                self.logger.error("discovery failed", metadata: ["discovery.service": "\(builder.job.name)", "discovery.error": "\(error)"])
                            }
                        }
                    }
                }
                // Run until a new config arrives or the server shuts down.
                group.addTask {
                    await cancelOnGracefulShutdown { await self.generations.waitForValue() }
                }
                await group.next()
                group.cancelAll()
            }
        }
    }

    private func update(_ generation: Generation, job: Int, mechanism: Int, groups: [TargetGroup]) {
        let current = state.withLock { state -> Bool in
            guard state.generation == generation.number, job < state.groups.count, mechanism < state.groups[job].count else { return false }
            state.groups[job][mechanism] = groups
            return true
        }
        if current { publish(generation) }
    }

    private func publish(_ generation: Generation) {
        publishing.withLock { _ in
            let groups = state.withLock { $0.groups }
            var targets: [ScrapeTarget] = []
            var dropped: [DroppedTarget] = []
            for (index, builder) in generation.builders.enumerated() where index < groups.count {
                let built = builder.build(groups[index].flatMap { $0 })
                targets += built.targets
                dropped += built.dropped
            }
            let isCurrent = state.withLock { state in
                guard state.generation == generation.number else { return false }
                state.dropped = dropped
                return true
            }
            if isCurrent { onTargets(targets, dropped) }
        }
    }

    private func makeDiscoverers(_ job: ScrapeJobConfig) -> [any Discoverer] {
        Self.mechanisms(of: job).map { mechanism in
            switch mechanism {
            case .staticTargets(let configs): StaticDiscoverer(configs: configs)
            case .dns(let config): DNSDiscoverer(config: config, logger: logger)
            case .file(let config): FileDiscoverer(config: config, logger: logger)
            case .http(let config): HTTPDiscoverer(config: config, httpClient: httpClient, logger: logger)
            }
        }
    }

    private enum Mechanism {
        case staticTargets([StaticConfig])
        case dns(DNSDiscoveryConfig)
        case file(FileDiscoveryConfig)
        case http(HTTPDiscoveryConfig)
    }

    private static func mechanisms(of job: ScrapeJobConfig) -> [Mechanism] {
        (job.staticConfigs.isEmpty ? [] : [.staticTargets(job.staticConfigs)])
            + job.dnsConfigs.map(Mechanism.dns) + job.fileConfigs.map(Mechanism.file) + job.httpConfigs.map(Mechanism.http)
    }
}
