import Foundation
import Periskop
import Shared
import CanopyTestSupport
import Testing

@testable import Leaf

/// The counting and merge rules of ARCHITECTURE.md, applied to the team state directly.
@Suite struct TeamStateTests {
    static let settings = ScrapeSettings(interval: .seconds(15), timeout: .seconds(10), bodySizeLimit: 1 << 20)

    static func target(_ url: String, service: String = "api") -> ScrapeTarget {
        ScrapeTarget(service: service, url: url, labels: ["instance": url], discoveredLabels: [:], settings: settings)
    }

    static func sample(_ uuid: String, at seconds: TimeInterval, severity: Severity = .error, headers: [String: String] = [:]) -> ErrorWithContext {
        ErrorWithContext(
            error: ErrorInstance(className: "E", message: "m\(uuid)", stacktrace: ["a"], cause: nil), uuid: uuid,
            timestamp: Date(timeIntervalSince1970: seconds), severity: severity,
            httpContext: headers.isEmpty ? nil : HTTPContext(requestMethod: "GET", requestURL: "http://x/?token=abc", requestHeaders: headers, requestBody: nil))
    }

    static func payload(_ uuid: String?, _ groups: [(String, Int, [ErrorWithContext])], severity: Severity = .error, createdAt: Date? = nil) -> ExceptionsPayload {
        ExceptionsPayload(
            targetUUID: uuid,
            aggregatedErrors: groups.map { AggregatedError(aggregationKey: $0.0, totalCount: $0.1, severity: severity, createdAt: createdAt, latestErrors: $0.2) })
    }

    func apply(_ state: TeamState, _ payload: ExceptionsPayload, _ target: ScrapeTarget, at seconds: TimeInterval = 1000, sampleLimit: Int = 10) async {
        await state.apply(payload, from: target, at: Date(timeIntervalSince1970: seconds), sampleLimit: sampleLimit, scrubber: Scrubber())
    }

    func total(_ state: TeamState, _ key: String, service: String = "api") async -> Int? {
        await state.group(GroupID(service: service, key: key))?.total
    }

    @Test func sameBodyTwiceAddsNothing() async {
        let state = TeamState(snapshot: TeamSnapshot(epoch: "e"))
        let body = Self.payload("p1", [("k", 5, [])])
        await apply(state, body, Self.target("a"))
        await apply(state, body, Self.target("a"))
        #expect(await total(state, "k") == 5)
    }

    @Test func newTargetUUIDAddsWholeCountAndOldProcessKeepsItsShare() async {
        let state = TeamState(snapshot: TeamSnapshot(epoch: "e"))
        await apply(state, Self.payload("p1", [("k", 5, [])]), Self.target("a"))
        await apply(state, Self.payload("p1", [("k", 7, [])]), Self.target("a"))
        await apply(state, Self.payload("p2", [("k", 1, [])]), Self.target("a"))
        #expect(await total(state, "k") == 8)
        // A restart whose count already passed the old one is still a restart: 8 + 9.
        await apply(state, Self.payload("p3", [("k", 9, [])]), Self.target("a"))
        #expect(await total(state, "k") == 17)
    }

    @Test func fallingCountWithoutUUIDIsARestartForTheWholeTarget() async {
        let state = TeamState(snapshot: TeamSnapshot(epoch: "e"))
        await apply(state, Self.payload(nil, [("k", 10, []), ("j", 2, [])]), Self.target("a"))
        // k fell, so the process restarted: j's 3 is all new too.
        await apply(state, Self.payload(nil, [("k", 4, []), ("j", 3, [])]), Self.target("a"))
        #expect(await total(state, "k") == 14)
        #expect(await total(state, "j") == 5)
    }

    @Test func sameProcessSeenThroughTwoAddressesIsCountedOnce() async {
        let state = TeamState(snapshot: TeamSnapshot(epoch: "e"))
        await apply(state, Self.payload("p1", [("k", 5, [])]), Self.target("a"))
        await apply(state, Self.payload("p1", [("k", 5, [])]), Self.target("a-alias"))
        #expect(await total(state, "k") == 5)
    }

    @Test func sameProcessScrapedByTwoServicesCountsInEach() async {
        let state = TeamState(snapshot: TeamSnapshot(epoch: "e"))
        await apply(state, Self.payload("p1", [("k", 5, [])]), Self.target("a", service: "api"))
        await apply(state, Self.payload("p1", [("k", 5, [])]), Self.target("a", service: "worker"))
        #expect(await total(state, "k", service: "api") == 5)
        #expect(await total(state, "k", service: "worker") == 5)
    }

    @Test func samplesMergeByUUIDNewestFirstCapped() async {
        let state = TeamState(snapshot: TeamSnapshot(epoch: "e"))
        let first = (0..<4).map { Self.sample("s\($0)", at: Double($0)) }
        await apply(state, Self.payload("p1", [("k", 4, first)]), Self.target("a"), sampleLimit: 3)
        // The same samples again plus a newer one from another instance.
        await apply(state, Self.payload("p2", [("k", 1, [Self.sample("s9", at: 9)])]), Self.target("b"), sampleLimit: 3)
        await apply(state, Self.payload("p1", [("k", 4, first)]), Self.target("a"), sampleLimit: 3)
        let group = await state.group(GroupID(service: "api", key: "k"))
        #expect(group?.samples.map(\.uuid) == ["s9", "s3", "s2"])
        #expect(group?.total == 5)
        #expect(group?.message == "ms9")
    }

    @Test func severityIsTheMostSevereAndTimesAreFirstAndLast() async {
        let state = TeamState(snapshot: TeamSnapshot(epoch: "e"))
        await apply(state, Self.payload("p1", [("k", 1, [Self.sample("a", at: 500)])], severity: .info, createdAt: Date(timeIntervalSince1970: 400)), Self.target("a"))
        await apply(state, Self.payload("p2", [("k", 1, [Self.sample("b", at: 700)])], severity: .warning), Self.target("b"))
        await apply(state, Self.payload("p1", [("k", 1, [Self.sample("a", at: 500)])], severity: .info), Self.target("a"))
        let group = await state.group(GroupID(service: "api", key: "k"))
        #expect(group?.severity == .warning)
        #expect(group?.firstSeen == Date(timeIntervalSince1970: 400))
        #expect(group?.lastSeen == Date(timeIntervalSince1970: 700))
        // A count that grows without a newer sample is last seen at the scrape.
        await apply(state, Self.payload("p1", [("k", 2, [Self.sample("a", at: 500)])], severity: .info), Self.target("a"), at: 2000)
        #expect(await state.group(GroupID(service: "api", key: "k"))?.lastSeen == Date(timeIntervalSince1970: 2000))
    }

    @Test func resolvedGroupIsHiddenUntilItGrows() async {
        let state = TeamState(snapshot: TeamSnapshot(epoch: "e"))
        await apply(state, Self.payload("p1", [("k", 2, [])]), Self.target("a"))
        #expect(await state.resolve(GroupID(service: "api", key: "k")))
        #expect(await state.group(GroupID(service: "api", key: "k"))?.isResolved == true)
        await apply(state, Self.payload("p1", [("k", 2, [])]), Self.target("a"))
        #expect(await state.group(GroupID(service: "api", key: "k"))?.isResolved == true)
        await apply(state, Self.payload("p1", [("k", 3, [])]), Self.target("a"))
        #expect(await state.group(GroupID(service: "api", key: "k"))?.isResolved == false)
        #expect(await state.resolve(GroupID(service: "api", key: "nope")) == false)
    }

    @Test func samplesAreScrubbedBeforeTheyAreKept() async {
        let state = TeamState(snapshot: TeamSnapshot(epoch: "e"))
        let sample = Self.sample("s", at: 1, headers: ["Authorization": "Bearer hunter2", "Accept": "json"])
        await apply(state, Self.payload("p1", [("k", 1, [sample])]), Self.target("a"))
        let kept = await state.group(GroupID(service: "api", key: "k"))?.samples.first?.httpContext
        #expect(kept?.requestHeaders["Authorization"] == Scrubber.redacted)
        #expect(kept?.requestHeaders["Accept"] == "json")
        #expect(kept?.requestURL.contains("abc") == false)
    }

    @Test func savedStateRestoresExactly() async throws {
        let directory = URL(fileURLWithPath: LeafHarness.temporaryDirectory())
        let file = StateFile(directory: directory)
        let (fresh, isNew) = try file.load()
        #expect(isNew)
        let state = TeamState(snapshot: fresh)
        await apply(state, Self.payload("p1", [("k/with slash", 5, [Self.sample("s", at: 3)])]), Self.target("a"))
        try file.save(await state.snapshot)
        let (restored, isNewAgain) = try file.load()
        #expect(!isNewAgain)
        #expect(restored == (await state.snapshot))
        #expect(restored.epoch == fresh.epoch)
        // Counting on from the restored state adds only the growth.
        let again = TeamState(snapshot: restored)
        await apply(again, Self.payload("p1", [("k/with slash", 6, [])]), Self.target("a"))
        #expect(await total(again, "k/with slash") == 6)
    }

    @Test func corruptStateFileIsRefusedNotReplaced() throws {
        let directory = LeafHarness.temporaryDirectory()
        _ = FileManager.default.createFile(atPath: directory + "/state.json", contents: Data("{\"version\": 1, \"epo".utf8))
        let error = try #require(throws: StateFile.Failure.self) { try StateFile(directory: URL(fileURLWithPath: directory)).load() }
        #expect(error.description.contains("move it away to start a new epoch"))
    }

    @Test func counterRuleAddsGrowthOrTheWholeCountAfterARestart() {
        #expect(CounterRule.increase(previous: nil, current: 5) == 5)
        #expect(CounterRule.increase(previous: 5, current: 8) == 3)
        #expect(CounterRule.increase(previous: 8, current: 8) == 0)
        #expect(CounterRule.increase(previous: 8, current: 2) == 2)
        var cursor = SourceCursor(identity: "a")
        #expect(cursor.advance(identity: "a", counts: ["x": 3, "y": 1]) == ["x": 3, "y": 1])
        #expect(cursor.advance(identity: "a", counts: ["x": 5, "y": 1]) == ["x": 2])
        #expect(cursor.advance(identity: "b", counts: ["x": 1]) == ["x": 1])
        #expect(cursor.counts == ["x": 1])
    }

    // MARK: - Series

    static func labelled(_ url: String, _ labels: Labels) -> ScrapeTarget {
        ScrapeTarget(
            service: "api", url: url, labels: labels.merging(defaults: ["instance": url, "service": "api", "__scheme__": "http"]), discoveredLabels: [:],
            settings: settings)
    }

    func series(_ state: TeamState, _ key: String) async -> [Labels: Int] {
        Dictionary(uniqueKeysWithValues: (await state.group(GroupID(service: "api", key: key))?.series ?? []).map { ($0.labels, $0.total) })
    }

    /// One group reported by prod and staging targets is two series; they sum to the group's total
    /// through restarts, and `instance`, `service` and `__` labels are not series labels.
    @Test func targetsWithOtherLabelsCountInOtherSeries() async {
        let state = TeamState(snapshot: TeamSnapshot(epoch: "e"))
        let prod1 = Self.labelled("a", ["env": "prod", "region": "eu"])
        let prod2 = Self.labelled("b", ["env": "prod", "region": "eu"])
        let staging = Self.labelled("c", ["env": "staging", "region": "eu"])
        await apply(state, Self.payload("p1", [("k", 5, [])]), prod1)
        await apply(state, Self.payload("p2", [("k", 2, [])]), prod2)
        await apply(state, Self.payload("s1", [("k", 3, []), ("j", 1, [])]), staging)
        await apply(state, Self.payload("p1", [("k", 6, [])]), prod1)
        await apply(state, Self.payload("p1b", [("k", 4, [])]), prod1)  // a restart: all 4 are new: prod 5 + 2 + 1 + 4
        #expect(await series(state, "k") == [["env": "prod", "region": "eu"]: 12, ["env": "staging", "region": "eu"]: 3])
        #expect(await series(state, "j") == [["env": "staging", "region": "eu"]: 1])
        #expect(await total(state, "k") == 15)
    }

    @Test func seriesPastTheLimitCountInTheOverflowSeries() async {
        let state = TeamState(snapshot: TeamSnapshot(epoch: "e"))
        let rule = SeriesRule(dropLabels: ["pod"], maxSeriesPerGroup: 2)
        for (index, version) in ["1", "2", "3", "4"].enumerated() {
            let target = Self.labelled("t\(index)", ["version": version, "pod": "pod-\(index)", "class": "web"])
            await state.apply(Self.payload("p\(index)", [("k", 10, [])]), from: target, at: Date(), sampleLimit: 10, scrubber: Scrubber(), series: rule)
        }
        // `pod` is dropped; `class` clashes with the series' own label and is kept as exported_class.
        #expect(
            await series(state, "k") == [
                ["version": "1", "exported_class": "web"]: 10, ["version": "2", "exported_class": "web"]: 10, SeriesRule.overflow: 20,
            ])
        #expect(await total(state, "k") == 40)
    }

    /// A state with every field the file holds, and strings that need escaping.
    func richState() async -> TeamState {
        let state = TeamState(snapshot: TeamSnapshot(epoch: "e\"1"))
        let rule = SeriesRule(dropLabels: [])
        let labelled = ScrapeTarget(
            service: "api", url: "a", labels: ["instance": "a", "region": "eu \u{1F30D}\n", "version": "1.0"], discoveredLabels: [:], settings: Self.settings)
        await state.apply(
            Self.payload("p1", [("k/with \"quote\"", 5, [Self.sample("s1", at: 3, headers: ["Cookie": "x", "Accept": "json"]), Self.sample("s2", at: 4.5)])]),
            from: labelled, at: Date(timeIntervalSince1970: 1000), sampleLimit: 10, scrubber: Scrubber(), series: rule)
        // A process without a target uuid, a group without samples or dates, a resolved group.
        await apply(state, Self.payload(nil, [("bare", 2, [])]), Self.target("b", service: "web"))
        // A deploy with a version (api's), and one seen only as a restart (web's new target uuid).
        await apply(state, Self.payload("p9", [("bare", 3, [])]), Self.target("b", service: "web"), at: 1100)
        _ = await state.resolve(GroupID(service: "web", key: "bare"))
        return state
    }

    @Test func theStateFileIsWhatCodableReads() async throws {
        let state = await richState()
        var encoder = StateEncoder()
        let snapshot = await state.snapshot
        #expect(snapshot.groups[GroupID(service: "web", key: "bare")]?.resolvedAtTotal == 5)
        #expect(snapshot.deploys["api"]?.deploys.map(\.version) == ["1.0"])
        #expect(snapshot.deploys["web"]?.deploys.contains { $0.version == nil && $0.label == nil } == true)
        let decoded = try CanopyJSON.decoder().decode(TeamSnapshot.self, from: Data(encoder.encode(snapshot)))
        #expect(decoded == snapshot)
        // And the same value as JSONEncoder's form of it.
        let coded = try CanopyJSON.decoder().decode(TeamSnapshot.self, from: CanopyJSON.encoder().encode(snapshot))
        #expect(decoded == coded)
    }

    @Test func aSaveReusesTheSamplesOfGroupsWhoseSamplesAreAsTheyWere() async throws {
        let state = await richState()
        var encoder = StateEncoder()
        _ = encoder.encode(await state.snapshot)
        #expect(encoder.samplesEncoded == 2)
        // Counts grow without new samples: nothing is encoded again, yet the file has the new totals.
        await apply(state, Self.payload("p9", [("bare", 9, [])]), Self.target("b", service: "web"), at: 1200)
        let grown = try CanopyJSON.decoder().decode(TeamSnapshot.self, from: Data(encoder.encode(await state.snapshot)))
        #expect(encoder.samplesEncoded == 0)
        #expect(grown == (await state.snapshot))
        #expect(grown.groups[GroupID(service: "web", key: "bare")]?.total == 11)
        // A new sample: that group's samples are written again, and the file has it.
        let key = GroupID(service: "api", key: "k/with \"quote\"")
        await apply(state, Self.payload("p1", [(key.key, 6, [Self.sample("s3", at: 9)])]), Self.target("a"))
        let sampled = try CanopyJSON.decoder().decode(TeamSnapshot.self, from: Data(encoder.encode(await state.snapshot)))
        #expect(encoder.samplesEncoded == 1)
        #expect(sampled == (await state.snapshot))
        #expect(sampled.groups[key]?.samples.map(\.uuid) == ["s3", "s2", "s1"])
    }

    @Test func aStateSavedBeforeSeriesRestoresAsOneSeries() throws {
        let old = #"{"version":1,"epoch":"e","processes":{},"groups":[{"service":"api","key":"k","group":{"class":"E","message":"m","severity":"error","total":7,"samples":[]}}]}"#
        let snapshot = try CanopyJSON.decoder().decode(TeamSnapshot.self, from: Data(old.utf8))
        #expect(snapshot.groups[GroupID(service: "api", key: "k")]?.series == [ExceptionSeries(labels: [:], total: 7)])
    }
}
