import Foundation
import Periskop
import Shared
import Testing

@testable import Leaf

/// How the leaf finds deploys: a new value of the deploy label, or restarts with new
/// target_uuids close together where there is none (`DeployLog`, and `TeamState` feeding it).
@Suite struct DeployLogTests {
    static func at(_ seconds: TimeInterval) -> Date { Date(timeIntervalSince1970: seconds) }

    static func sighting(_ instance: String, version: String? = nil, new: Bool = true, restart: Bool = false, at seconds: TimeInterval) -> DeployLog.Sighting {
        DeployLog.Sighting(instance: instance, version: version.map { ("version", $0) }, newProcess: new, restart: restart, at: at(seconds))
    }

    /// A log and its rule, recording from inside `#expect` (which cannot call a mutating method).
    final class Recorder {
        var log = DeployLog()
        let rule: DeployRule
        init(_ rule: DeployRule = DeployRule()) { self.rule = rule }
        func record(_ sighting: DeployLog.Sighting) -> Bool { log.record(sighting, rule: rule) }
        var deploys: [DeployRecord] { log.deploys }
    }

    @Test func aNewVersionIsADeployAndItsLaterInstancesJoinIt() {
        let log = Recorder()
        #expect(log.record(Self.sighting("a", version: "1.0", at: 100)))
        #expect(log.record(Self.sighting("b", version: "1.0", at: 110)))
        #expect(!log.record(Self.sighting("b", version: "1.0", new: false, at: 120)), "a process seen again changes nothing")
        #expect(log.record(Self.sighting("a", version: "1.1", at: 5000)))
        #expect(log.record(Self.sighting("b", version: "1.1", at: 5010)))
        #expect(!log.record(Self.sighting("b", version: "1.1", at: 5020)), "the same instance again is not one more")
        #expect(log.deploys.map(\.version) == ["1.0", "1.1"])
        #expect(log.deploys.map(\.at) == [Self.at(100), Self.at(5000)])
        #expect(log.deploys.map(\.instances.count) == [2, 2])
        #expect(log.deploys.map(\.federated.id) == ["version:1.0", "version:1.1"])
        // A rollback to 1.0 is not a new deploy: 1.0's deploy gains nothing but its instance.
        #expect(!log.record(Self.sighting("a", version: "1.0", at: 9000)))
        #expect(log.deploys.count == 2)
    }

    @Test func withoutAVersionRestartsCloseTogetherAreOneDeploy() {
        let log = Recorder(DeployRule(label: nil, restartWindow: .seconds(300)))
        #expect(!log.record(Self.sighting("a", at: 100)), "a process seen first, replacing none, is no deploy")
        #expect(log.record(Self.sighting("a", restart: true, at: 1000)))
        #expect(log.record(Self.sighting("b", restart: true, at: 1200)))
        #expect(log.record(Self.sighting("a", restart: true, at: 1400)), "past the window from the first: a deploy of its own")
        #expect(log.deploys.map(\.instances) == [["a", "b"], ["a"]])
        #expect(log.deploys.allSatisfy { $0.version == nil })
        #expect(log.deploys.first?.federated.id == "restart:" + RFC3339.string(from: Self.at(1000)))
    }

    @Test func theConfiguredLabelOrVersionThenReleaseNamesTheVersion() {
        let labels: Labels = ["release": "r7", "build": "b1"]
        #expect(DeployRule().version(in: labels)?.value == "r7")
        #expect(DeployRule().version(in: ["version": "1.0", "release": "r7"])?.label == "version")
        #expect(DeployRule(label: "build").version(in: labels).map { [$0.label, $0.value] } == ["build", "b1"])
        #expect(DeployRule(label: "build").version(in: ["version": "1.0"]) == nil, "a configured label is the only one read")
    }

    @Test func onlyTheNewestDeploysAreKept() {
        var log = DeployLog()
        for index in 0..<(DeployRule.limit + 5) { _ = log.record(Self.sighting("a", version: "v\(index)", at: Double(index) * 100), rule: DeployRule()) }
        #expect(log.deploys.count == DeployRule.limit)
        #expect(log.deploys.first?.version == "v5" && log.deploys.last?.version == "v\(DeployRule.limit + 4)")
    }

    // MARK: Through the team state

    static func target(_ url: String, labels: Labels = [:]) -> ScrapeTarget {
        var all = labels
        all["instance"] = url
        return ScrapeTarget(service: "api", url: url, labels: all, discoveredLabels: [:], settings: TeamStateTests.settings)
    }

    static func apply(_ state: TeamState, _ payload: ExceptionsPayload, _ target: ScrapeTarget, at seconds: TimeInterval) async {
        await state.apply(payload, from: target, at: at(seconds), sampleLimit: 10, scrubber: Scrubber())
    }

    @Test func theTeamStateSeesAVersionDeployDatedByItsFirstProcessesOldestOccurrence() async throws {
        let state = TeamState(snapshot: TeamSnapshot(epoch: "e"))
        await Self.apply(state, TeamStateTests.payload("p1", [("k", 1, [])]), Self.target("a", labels: ["version": "1.0"]), at: 100)
        // The 1.1 process reported an occurrence at 150, before its first scrape at 200.
        let early = TeamStateTests.sample("s1", at: 150)
        await Self.apply(state, TeamStateTests.payload("p2", [("new", 1, [early])]), Self.target("a", labels: ["version": "1.1"]), at: 200)
        let deploys = await state.deploys(of: "api")
        #expect(deploys.map(\.version) == ["1.0", "1.1"])
        #expect(deploys.last?.at == Self.at(150))
        // The deploys survive a save and restore.
        let (snapshot, _) = await state.snapshotForSaving()
        let restored = try CanopyJSON.decoder().decode(TeamSnapshot.self, from: try CanopyJSON.encoder().encode(snapshot))
        #expect(restored.deploys == snapshot.deploys)
    }

    @Test func theTeamStateSeesANewTargetUUIDAtAKnownURLAsARestartDeploy() async {
        let state = TeamState(snapshot: TeamSnapshot(epoch: "e"))
        await Self.apply(state, TeamStateTests.payload("p1", [("k", 1, [])]), Self.target("a"), at: 100)
        await Self.apply(state, TeamStateTests.payload("p1", [("k", 2, [])]), Self.target("a"), at: 115)
        await Self.apply(state, TeamStateTests.payload("q1", [("k", 1, [])]), Self.target("b"), at: 115)
        #expect(await state.deploys(of: "api").isEmpty, "first sightings and a count that grew are no deploy")
        await Self.apply(state, TeamStateTests.payload("p2", [("k", 1, [])]), Self.target("a"), at: 1000)
        await Self.apply(state, TeamStateTests.payload("q2", [("k", 1, [])]), Self.target("b"), at: 1010)
        let deploys = await state.deploys(of: "api")
        #expect(deploys.count == 1)
        #expect(deploys.first?.instances == ["a", "b"] && deploys.first?.version == nil && deploys.first?.at == Self.at(1000))
    }

    @Test func aStateSavedBeforeDeploysLoads() throws {
        let old = #"{"version": 1, "epoch": "e", "groups": [], "processes": {}}"#
        let snapshot = try CanopyJSON.decoder().decode(TeamSnapshot.self, from: Data(old.utf8))
        #expect(snapshot.deploys.isEmpty)
    }
}
