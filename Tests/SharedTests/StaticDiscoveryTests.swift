import Testing

@testable import Shared

@Suite struct StaticDiscoveryTests {
    @Test func sendsOneGroupPerEntryOnceAndStopsWhenCancelled() async throws {
        let discoverer = StaticDiscoverer(configs: [
            StaticConfig(targets: ["a:1", "b:2"], labels: ["env": "prod"]),
            StaticConfig(targets: ["c:3"]),
        ])
        let updates = DiscoveryUpdates()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await discoverer.run { updates.record($0) } }
            let groups = try #require(await updates.first())
            #expect(groups.map(\.source) == ["static/0", "static/1"])
            #expect(groups[0].targets == [[LabelName.address: "a:1"], [LabelName.address: "b:2"]])
            #expect(groups[0].labels == ["env": "prod"])
            #expect(groups[1].targets == [[LabelName.address: "c:3"]])
            #expect(groups[1].labels.isEmpty)

            // Nothing changes, so nothing more is sent; and run returns promptly once cancelled.
            try await Task.sleep(for: .milliseconds(200))
            #expect(updates.all.count == 1)
            let cancelled = ContinuousClock.now
            group.cancelAll()
            try await group.waitForAll()
            #expect(ContinuousClock.now - cancelled < .seconds(5))
        }
    }

    @Test func noEntriesSendsAnEmptyList() async throws {
        try await withRunningDiscoverer(StaticDiscoverer(configs: [])) { updates in
            let groups = try #require(await updates.first())
            #expect(groups.isEmpty)
        }
    }
}
