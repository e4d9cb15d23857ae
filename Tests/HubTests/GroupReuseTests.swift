import Foundation
import Periskop
import Shared
import Testing

@testable import Hub

/// Decoding a leaf's body again with the groups of its last body reused gives what decoding it
/// whole gives, and anything unusual is decoded whole.
@Suite struct GroupReuseTests {
    static let leaf = TargetKey(service: "leaves", url: "http://leaf-a:7878/api/v1/federate")

    static func group(_ key: String, total: Int, samples: Int = 2, message: String = "boom") -> FederatedGroup {
        FederatedGroup(
            aggregationKey: key, className: "IOException", message: message, severity: .error, total: total,
            firstSeen: Date(timeIntervalSince1970: 1_700_000_000), lastSeen: Date(timeIntervalSince1970: 1_700_000_000 + Double(total)), instances: 1,
            samples: (0..<samples).map { index in
                ErrorWithContext(
                    error: ErrorInstance(className: "IOException", message: "boom \(index)", stacktrace: ["at a", "at b"], cause: nil),
                    uuid: "\(key)-\(total)-\(index)", timestamp: Date(timeIntervalSince1970: 1_700_000_000 + Double(index)), severity: .error,
                    httpContext: HTTPContext(requestMethod: "GET", requestURL: "http://x/\(index)", requestHeaders: ["A": "b"], requestBody: nil))
            },
            series: [ExceptionSeries(labels: Labels(["instance": "a:1"]), total: total)])
    }

    static func body(_ groups: [[FederatedGroup]]) throws -> [UInt8] {
        let payload = FederationPayload(
            leaf: LeafIdentity(name: "a", epoch: "e1", startedAt: Date(timeIntervalSince1970: 1_600_000_000), externalLabels: Labels(["team": "payments"])),
            services: groups.enumerated().map { FederatedService(name: "svc-\($0.offset)", targetsTotal: 2, targetsUp: 1, groups: $0.element) })
        return Array(try CanopyJSON.encoder().encode(payload))
    }

    /// What the hub stored before reuse: the whole body decoded and prepared.
    static func whole(_ body: [UInt8]) throws -> FederationPayload {
        try StorablePayload().prepare(try CanopyJSON.decoder().decode(FederationPayload.self, from: Data(body))).payload
    }

    /// The reused payload with every group completed, as the apply would see each it needs.
    static func completed(_ decoded: GroupReuse.Decoded) throws -> FederationPayload {
        var payload = decoded.payload
        for (s, service) in payload.services.enumerated() {
            for (g, group) in service.groups.enumerated() {
                payload.services[s].groups[g] = try decoded.complete(FederationApply.GroupKey(service: service.name, key: group.aggregationKey), group)
            }
        }
        return payload
    }

    @Test func theLayoutFindsEveryGroupsBytes() throws {
        let groups = [[Self.group("a", total: 1), Self.group("b\"}]", total: 2)], [], [Self.group("c", total: 3, samples: 0)]]
        let body = try Self.body(groups)
        let layout = try #require(FederationLayout.scan(body))
        #expect(layout.services.map(\.count) == [2, 0, 1])
        let decoded = try layout.services.flatMap { try $0.map { try CanopyJSON.decoder().decode(FederatedGroup.self, from: Data(body[$0])) } }
        #expect(decoded == groups.flatMap { $0 })
        // Without its groups the body still decodes, to the same services with none.
        let remainder = try CanopyJSON.decoder().decode(FederationPayload.self, from: Data(layout.remainder(of: body)))
        #expect(remainder.services.map(\.name) == ["svc-0", "svc-1", "svc-2"])
        #expect(remainder.services.allSatisfy { $0.groups.isEmpty })
        // Whitespace between the tokens is followed too.
        let spaced = Array(String(decoding: try CanopyJSON.encoder(pretty: true).encode(try CanopyJSON.decoder().decode(FederationPayload.self, from: Data(body))), as: UTF8.self).utf8)
        #expect(FederationLayout.scan(spaced)?.services.map(\.count) == [2, 0, 1])
    }

    @Test func aBodyDecodedWithReuseIsTheBodyDecodedWhole() throws {
        let reuse = GroupReuse()
        var groups = (0..<6).map { Self.group("k\($0)", total: 10 + $0) }
        let first = try Self.body([groups])
        let once = try #require(reuse.decode(first, from: Self.leaf, storable: StorablePayload()))
        #expect(once.reused.isEmpty)
        #expect(once.payload == (try Self.whole(first)))

        groups[2] = Self.group("k2", total: 40, samples: 3)
        let second = try Self.body([groups])
        let twice = try #require(reuse.decode(second, from: Self.leaf, storable: StorablePayload()))
        #expect(twice.reused.count == 5)
        #expect(twice.reused[FederationApply.GroupKey(service: "svc-0", key: "k2")] == nil)
        // Reused groups come without samples until completed, and then as decoded whole.
        #expect(twice.payload.services[0].groups[0].samples.isEmpty)
        #expect(twice.payload.services[0].groups[2].samples.count == 3)
        #expect(try Self.completed(twice) == (try Self.whole(second)))
        // Another leaf reuses nothing of this one.
        let other = TargetKey(service: "leaves", url: "http://leaf-b:7878/api/v1/federate")
        #expect(reuse.decode(second, from: other, storable: StorablePayload())?.reused.isEmpty == true)
    }

    @Test func anythingLeftOutOrUnusualDecodesTheBodyWhole() throws {
        let reuse = GroupReuse()
        let good = try Self.body([[Self.group("a", total: 1), Self.group("b", total: 2)]])
        #expect(reuse.decode(good, from: Self.leaf, storable: StorablePayload()) != nil)
        let cases: [String] = [
            // A duplicate key, a negative total, an undecodable sample, a group that is not an object.
            String(decoding: try Self.body([[Self.group("a", total: 1), Self.group("a", total: 2)]]), as: UTF8.self),
            String(decoding: try Self.body([[Self.group("a", total: -1)]]), as: UTF8.self),
            String(decoding: good, as: UTF8.self).replacingOccurrences(of: "\"uuid\":\"a-1-0\"", with: "\"uuid\":7"),
            String(decoding: good, as: UTF8.self).replacingOccurrences(of: "\"groups\":[", with: "\"groups\":[null,"),
            // A key spelled with an escape, a key given twice, another version, no team.
            String(decoding: good, as: UTF8.self).replacingOccurrences(of: "\"groups\":", with: "\"gr\\u006fups\":"),
            String(decoding: good, as: UTF8.self).replacingOccurrences(of: "{\"complete\":true,", with: "{\"services\":[],\"complete\":true,"),
            String(decoding: good, as: UTF8.self).replacingOccurrences(of: "\"version\":1", with: "\"version\":2"),
            String(decoding: good, as: UTF8.self).replacingOccurrences(of: "\"team\":\"payments\"", with: "\"region\":\"x\""),
            String(decoding: good, as: UTF8.self) + "x",
        ]
        for text in cases {
            #expect(text != String(decoding: good, as: UTF8.self))
            #expect(reuse.decode(Array(text.utf8), from: Self.leaf, storable: StorablePayload()) == nil, "\(text.prefix(200))")
        }
    }
}

extension GroupReuseTests {
    /// A service's deploys come through the reused decode as the whole decode gives them, and a
    /// deploy the whole decode would leave out decodes the body whole.
    @Test func deploysComeThroughAndABrokenOneDecodesWhole() throws {
        var payload = try CanopyJSON.decoder().decode(FederationPayload.self, from: Data(try Self.body([[Self.group("a", total: 1)]])))
        payload.services[0].deploys = [
            FederatedDeploy(at: Date(timeIntervalSince1970: 1_700_000_000), version: "1.0", label: "version", instances: 2),
            FederatedDeploy(at: Date(timeIntervalSince1970: 1_700_000_100), version: nil, label: nil, instances: 1),
        ]
        let body = Array(try CanopyJSON.encoder().encode(payload))
        let reuse = GroupReuse()
        let decoded = try #require(reuse.decode(body, from: Self.leaf, storable: StorablePayload()))
        #expect(decoded.payload.services[0].deploys == payload.services[0].deploys)
        #expect(try Self.completed(decoded) == Self.whole(body))
        let broken = String(decoding: body, as: UTF8.self).replacingOccurrences(of: #""instances":2"#, with: #""instances":"two""#)
        #expect(broken != String(decoding: body, as: UTF8.self))
        #expect(reuse.decode(Array(broken.utf8), from: Self.leaf, storable: StorablePayload()) == nil)
    }
}
