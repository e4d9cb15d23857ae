import Foundation
import Periskop
import Shared
import Testing

@testable import Hub

/// What cannot be stored is left out by name; everything beside it is kept.
@Suite struct StorablePayloadTests {
    static func group(_ key: String, total: Int = 1, message: String = "m", samples: [ErrorWithContext] = [], firstSeen: Date? = nil) -> FederatedGroup {
        FederatedGroup(
            aggregationKey: key, className: "C", message: message, severity: .error, total: total, firstSeen: firstSeen, lastSeen: nil, instances: 1,
            samples: samples)
    }

    static func payload(_ services: [FederatedService], team: String = "payments") -> FederationPayload {
        FederationPayload(leaf: LeafIdentity(name: "leaf", epoch: "e1", startedAt: Date(), externalLabels: ["team": team]), services: services)
    }

    @Test func badGroupsAreLeftOutByNameAndTheRestKept() throws {
        let long = String(repeating: "k", count: 600)
        let payload = Self.payload([
            FederatedService(
                name: "checkout", targetsTotal: 2, targetsUp: -1,
                groups: [
                    Self.group("good"), Self.group(long), Self.group("negative", total: -3), Self.group("twice"), Self.group("twice"),
                    Self.group("a\u{0}"), Self.group("a\u{FFFD}"),  // the same key once NUL is replaced
                    Self.group("future", firstSeen: Date(timeIntervalSince1970: 1e13)),
                ]),
            FederatedService(name: "checkout", targetsTotal: 1, targetsUp: 1, groups: [Self.group("other")]),
        ])
        let (storable, skipped) = try StorablePayload().prepare(payload)
        #expect(storable.services.map(\.name) == ["checkout"])
        #expect(storable.services[0].groups.map(\.aggregationKey) == ["good", "twice", "a\u{FFFD}", "future"])
        #expect(storable.services[0].targetsUp == 0)
        #expect(storable.services[0].groups[3].firstSeen == nil)  // year 318857: unknown
        #expect(
            skipped.map(\.description) == [
                "checkout/\(String(repeating: "k", count: 80))…: aggregation key longer than 512 bytes",
                "checkout/negative: negative total -3",
                "checkout/twice: the key appears twice in the service",
                "checkout/a\u{FFFD}: the key appears twice in the service",
                "checkout/*: the service appears twice in the payload",
            ])
    }

    @Test func everyStringLosesItsNulAndLongTextIsCut() throws {
        let sample = ErrorWithContext(
            error: ErrorInstance(className: "X\u{0}", message: String(repeating: "é", count: 20_000), stacktrace: ["at\u{0}x"], cause: ErrorInstance(className: "Cause\u{0}")),
            uuid: "u\u{0}", timestamp: Date(timeIntervalSince1970: -1e12),
            httpContext: HTTPContext(requestMethod: "GET\u{0}", requestURL: "/\u{0}", requestHeaders: ["A\u{0}": "b\u{0}"], requestBody: "x\u{0}"))
        let (storable, skipped) = try StorablePayload().prepare(
            Self.payload([FederatedService(name: "s\u{0}", targetsTotal: 1, targetsUp: 1, groups: [Self.group("k", message: "m\u{0}", samples: [sample])])]))
        #expect(skipped.isEmpty)
        let text = String(decoding: try CanopyJSON.encoder().encode(storable), as: UTF8.self)
        #expect(!text.contains(#"\u0000"#))
        let kept = try #require(storable.services.first?.groups.first?.samples.first)
        #expect(kept.uuid == "u\u{FFFD}")
        #expect(kept.timestamp == nil)
        #expect(kept.error.message.utf8.count <= PayloadLimits().maxStringLength + TextBounds.marker.utf8.count)
        #expect(kept.error.message.hasSuffix("é…[truncated]"))
        #expect(kept.error.cause?.className == "Cause\u{FFFD}")
        #expect(kept.httpContext?.requestHeaders == ["A\u{FFFD}": "b\u{FFFD}"])
        #expect(storable.services.first?.name == "s\u{FFFD}")
    }

    @Test func aTeamThatCannotBeStoredRejectsTheScrape() {
        #expect(throws: ScrapeFailure.self) { try StorablePayload().prepare(Self.payload([], team: String(repeating: "t", count: 513))) }
    }

    /// A group or sample that does not decode costs only itself.
    @Test func undecodableGroupsAndSamplesAreNamed() throws {
        let body = """
            {"version": 1, "leaf": {"name": "l", "epoch": "e", "started_at": "2026-11-30T10:00:00Z", "external_labels": {"team": "t"}},
             "services": [{"name": "api", "targets_total": 1, "targets_up": 1, "groups": [
               {"aggregation_key": "bad", "class": "C", "message": "m", "severity": "error", "total": "many", "instances": 1, "samples": []},
               {"aggregation_key": "good", "class": "C", "message": "m", "severity": "error", "total": 2, "instances": 1, "samples": [
                 {"error": {"class": "C", "message": "m", "stacktrace": []}, "uuid": "s1", "severity": "fatal"},
                 {"error": {"class": "C", "message": "m", "stacktrace": []}, "uuid": "s2", "severity": "error"}]},
               {"class": "no key"}]}]}
            """
        let payload = try CanopyJSON.decoder().decode(FederationPayload.self, from: Data(body.utf8))
        let service = try #require(payload.services.first)
        #expect(service.groups.map(\.aggregationKey) == ["good"])
        #expect(service.groups.first?.samples.map(\.uuid) == ["s2"])
        let reasons = service.undecodable.map(\.description)
        #expect(reasons.count == 3)
        #expect(reasons[0].hasPrefix("api/bad: services[0].groups[0].total"))
        #expect(reasons[1].hasPrefix("api/good: sample s1 left out: services[0].groups[1].samples[0].severity: unknown severity \"fatal\""))
        #expect(reasons[2].hasPrefix("api/groups[2]: services[0].groups[2].aggregation_key: missing"))
    }

    @Test func seriesLabelsAreBoundedAndTheirTotalsKept() throws {
        var group = Self.group("k", total: 9)
        group.series = [
            ExceptionSeries(labels: ["env": "prod\u{0}"], total: 4), ExceptionSeries(labels: ["env": "prod\u{FFFD}"], total: 2),
            ExceptionSeries(labels: ["v": String(repeating: "x", count: 2000)], total: 1), ExceptionSeries(labels: ["a": "1"], total: 1),
            ExceptionSeries(labels: ["a": "2"], total: 1),
        ]
        var limits = StorablePayload.Limits()
        limits.maxSeries = 3
        let (storable, _) = try StorablePayload(limits: limits).prepare(Self.payload([FederatedService(name: "s", targetsTotal: 1, targetsUp: 1, groups: [group])]))
        let series = try #require(storable.services.first?.groups.first?.series)
        #expect(series.count == 4)
        #expect(series[0].labels == ["env": "prod\u{FFFD}"])  // NUL replaced: now the same as the next one
        let cut = try #require(series[1].labels["v"])
        #expect(cut == String(repeating: "x", count: SeriesRule.maxValueBytes))  // as the leaf cuts labels: unmarked
        #expect(series[2...].map(\.labels) == [["a": "1"], SeriesRule.overflow])
        #expect(series.map(\.total) == [6, 1, 1, 1])
    }

    @Test func aLeafsExternalLabelsJoinItsSeriesWithoutClashing() {
        #expect(FederationApply.seriesLabels(ofLeaf: ["team": "t", "region": "eu", "service": "x", "class": "y"]) == [
            "region": "eu", "exported_service": "x", "exported_class": "y",
        ])
    }
}
