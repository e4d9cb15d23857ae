import Foundation
import Periskop
import Shared
import Testing

@testable import Leaf

/// The leaf's federation change log: a hub that names a body it applied gets the groups that
/// changed since, and every group when the name is not of this log (`FederationLog`).
@Suite struct FederationLogTests {
    static func group(_ key: String, total: Int, instances: Int = 1) -> (id: GroupID, group: FederatedGroup) {
        (
            GroupID(service: "api", key: key),
            FederatedGroup(
                aggregationKey: key, className: "IOException", message: "boom", severity: .error, total: total, firstSeen: nil, lastSeen: nil,
                instances: instances, samples: [])
        )
    }

    static func keys(_ send: [(id: GroupID, group: FederatedGroup)]) -> [String] { send.map(\.id.key) }

    @Test func aHubThatAppliedABodyIsSentWhatChangedSince() {
        var log = FederationLog(id: "log-1")
        let first = log.record([Self.group("a", total: 1), Self.group("b", total: 2)], since: nil)
        #expect(Self.keys(first.send) == ["a", "b"])
        #expect(first.changes == FederationChanges(log: "log-1", sequence: 1))

        // b grew: a hub at sequence 1 gets b alone, marked as a delta since 1.
        let second = log.record([Self.group("a", total: 1), Self.group("b", total: 3)], since: ("log-1", 1))
        #expect(Self.keys(second.send) == ["b"])
        #expect(second.changes == FederationChanges(log: "log-1", sequence: 2, since: 1))

        // Nothing changed: an empty delta at the same sequence (the same bytes, which the hub skips).
        let third = log.record([Self.group("a", total: 1), Self.group("b", total: 3)], since: ("log-1", 2))
        #expect(third.send.isEmpty)
        #expect(third.changes == FederationChanges(log: "log-1", sequence: 2, since: 2))

        // A hub that is behind (its apply failed, or a second hub) gets everything changed since its
        // body; any field counts as a change, the instances as much as the total.
        let fourth = log.record([Self.group("a", total: 1, instances: 2), Self.group("b", total: 3), Self.group("c", total: 1)], since: ("log-1", 1))
        #expect(Self.keys(fourth.send) == ["a", "b", "c"])
        #expect(fourth.changes == FederationChanges(log: "log-1", sequence: 3, since: 1))
        let fifth = log.record([Self.group("a", total: 1, instances: 2), Self.group("b", total: 3), Self.group("c", total: 1)], since: ("log-1", 2))
        #expect(Self.keys(fifth.send) == ["a", "c"])
    }

    @Test func aNameThatIsNotOfThisLogGetsEveryGroup() {
        var log = FederationLog(id: "log-2")
        _ = log.record([Self.group("a", total: 1)], since: nil)
        let groups = [Self.group("a", total: 1), Self.group("b", total: 1)]
        for since in [("log-1", UInt64(1)), ("log-2", UInt64(99))] {
            let answer = log.record(groups, since: since)
            #expect(Self.keys(answer.send) == ["a", "b"], "since \(since)")
            #expect(answer.changes.since == nil)
            #expect(answer.changes.sequence == 2)
        }
    }

    @Test func aGroupThatCameBackIsSentAgain() {
        var log = FederationLog(id: "log-3")
        _ = log.record([Self.group("a", total: 1), Self.group("b", total: 1)], since: nil)
        _ = log.record([Self.group("a", total: 1)], since: ("log-3", 1))
        let back = log.record([Self.group("a", total: 1), Self.group("b", total: 1)], since: ("log-3", 1))
        #expect(Self.keys(back.send) == ["b"])
    }

    static func sample(_ uuid: String) -> ErrorWithContext {
        ErrorWithContext(error: ErrorInstance(className: "IOException", message: "boom", stacktrace: ["at a"], cause: nil), uuid: uuid)
    }

    static func group(_ key: String, total: Int, samples: [String]) -> (id: GroupID, group: FederatedGroup) {
        var entry = group(key, total: total)
        entry.group.samples = samples.map(sample)
        return entry
    }

    static func uuids(_ send: [(id: GroupID, group: FederatedGroup)]) -> [[String]] { send.map { $0.group.samples.map(\.uuid) } }

    @Test func aDeltaCarriesTheNewestSampleAndThoseNewSince() {
        var log = FederationLog(id: "log-4")
        let first = log.record([Self.group("a", total: 2, samples: ["s2", "s1"])], since: nil)
        #expect(Self.uuids(first.send) == [["s2", "s1"]])

        // One new sample: a hub at 1 gets it alone (it is the newest); a hub without a body gets all.
        let grown = [Self.group("a", total: 3, samples: ["s3", "s2", "s1"])]
        #expect(Self.uuids(log.record(grown, since: ("log-4", 1)).send) == [["s3"]])
        #expect(Self.uuids(log.record(grown, since: nil).send) == [["s3", "s2", "s1"]])

        // The total grew without a new sample: the newest is sent all the same, the others are not.
        let counted = [Self.group("a", total: 4, samples: ["s3", "s2", "s1"])]
        #expect(Self.uuids(log.record(counted, since: ("log-4", 2)).send) == [["s3"]])
        // A hub still at 1 gets every sample first served after 1.
        #expect(Self.uuids(log.record(counted, since: ("log-4", 1)).send) == [["s3"]])
        #expect(Self.uuids(log.record(counted, since: ("log-4", 0)).send) == [["s3", "s2", "s1"]])

        // A sample that left the group and came back is new again; one without a uuid is always sent.
        _ = log.record([Self.group("a", total: 5, samples: ["s4", "s3"])], since: nil)
        let back = log.record([Self.group("a", total: 6, samples: ["s5", "s3", "s1", ""])], since: ("log-4", 4))
        #expect(back.changes == FederationChanges(log: "log-4", sequence: 5, since: 4))
        #expect(Self.uuids(back.send) == [["s5", "s1", ""]])
    }

    @Test func theRequestHeaderIsReadStrictly() {
        #expect(FederationChanges.parse(header: "log-1 17")! == ("log-1", 17))
        for bad in ["", "log-1", "log-1 x", "log-1 -1", "a b c", String(repeating: "x", count: 65) + " 1"] {
            #expect(FederationChanges.parse(header: bad) == nil, "\(bad)")
        }
        #expect(FederationChanges(log: "0f3a-b", sequence: 1).isReturnable)
        #expect(!FederationChanges(log: "a\r\nX-Evil: 1", sequence: 1).isReturnable)
        #expect(!FederationChanges(log: "", sequence: 1).isReturnable)
    }
}
