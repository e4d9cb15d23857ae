/// `static_configs`: one group per entry (`source` = `static/<index>`), sent once.
public struct StaticDiscoverer: Discoverer {
    public let configs: [StaticConfig]

    public init(configs: [StaticConfig]) {
        self.configs = configs
    }

    public var groups: [TargetGroup] {
        configs.enumerated().map { index, config in
            TargetGroup(
                source: "static/\(index)",
                targets: config.targets.map { Labels([LabelName.address: $0]) },
                labels: config.labels
            )
        }
    }

    public func run(update: @escaping @Sendable ([TargetGroup]) async -> Void) async throws {
        await update(groups)
        // Nothing ever changes: stay alive until cancelled, as a Discoverer must.
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
    }
}
