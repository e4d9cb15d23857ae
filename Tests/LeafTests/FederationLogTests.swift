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
