import Foundation
import NIOCore
import Periskop
import Shared
import CanopyTestSupport
import Testing

@testable import Leaf

/// Skipping samples the team keeps already is exact: a leaf that decodes every body in full and
/// one that goes through `TeamIngest` (skipping, and decoding again in full when its view was
/// stale) end every step with equal snapshots.
@Suite struct SkimmedIngestTests {
    static let targets = ["a:1", "b:2", "c:3"].map { url in
        ScrapeTarget(
            service: "api", url: "http://\(url)/-/exceptions", labels: ["instance": url], discoveredLabels: [:],
            settings: ScrapeSettings(interval: .seconds(15), timeout: .seconds(10), bodySizeLimit: 1 << 20))
    }

    static func config(sampleLimit: Int) throws -> LeafConfig {
        try LeafConfig.parse(
            """
            global: {external_labels: {team: t}}
            services:
            - name: api
              sample_limit: \(sampleLimit)
              scraper: {endpoint: /-/exceptions}
              static_configs: [{targets: [a:1, b:2, c:3]}]
            """, file: "test.yml")
    }

    /// Two leaves fed the same scrapes: `full` decodes each body in full and applies it;
    /// `skimmed` is the leaf's own ingest.
    struct Leaves {
        let full = TeamState(snapshot: TeamSnapshot(epoch: "e"))
        let skimmed = TeamState(snapshot: TeamSnapshot(epoch: "e"))
        let ingest: TeamIngest
        var sampleLimit: Int
        var skipped = 0

        init(sampleLimit: Int) throws {
            ingest = TeamIngest(state: skimmed)
            self.sampleLimit = sampleLimit
            ingest.configure(try SkimmedIngestTests.config(sampleLimit: sampleLimit))
        }

        mutating func setSampleLimit(_ limit: Int) throws {
            sampleLimit = limit
            ingest.configure(try SkimmedIngestTests.config(sampleLimit: limit))
        }

        /// Decodes every body before merging any (as targets scraped in parallel do), then merges
        /// them in turn, so that later ones were decoded against a view the earlier ones changed.
        mutating func scrape(_ bodies: [(target: ScrapeTarget, body: [UInt8])], at time: Date) async throws {
            var scrapes: [TeamIngest.Scrape] = []
            for (target, body) in bodies {
                let scrape = try ingest.decode(ByteBuffer(bytes: body), from: target)
                skipped += scrape.payload.skippedCount
                scrapes.append(scrape)
            }
            for ((target, body), scrape) in zip(bodies, scrapes) {
                await full.apply(try PayloadDecoder().decode(body), from: target, at: time, sampleLimit: sampleLimit, scrubber: Scrubber())
                try await ingest.consume(scrape, from: target, at: time)
            }
        }

        func expectEqual(_ step: Int, seed: UInt64) async {
            let full = await full.snapshot
            let skimmed = await skimmed.snapshot
            #expect(full == skimmed, "seed \(seed), step \(step)")
        }
    }

    @Test(arguments: 0..<24)
    func skippingMergesExactlyAsBuilding(seed: Int) async throws {
        var random = SplitMix64(seed: UInt64(seed))
        var clients = ClientFleet(count: Self.targets.count, random: SplitMix64(seed: UInt64(seed) &+ 1000))
        var leaves = try Leaves(sampleLimit: [1, 3, 10][seed % 3])
        for step in 0..<60 {
            if random.next(below: 15) == 0 { try leaves.setSampleLimit([1, 2, 3, 5, 10][random.next(below: 5)]) }
            // One to three targets scraped at once, each after its client saw some occurrences.
            var order = Array(Self.targets.indices)
            for index in order.indices.reversed() { order.swapAt(index, random.next(below: index + 1)) }
            let scraped = order.prefix(1 + random.next(below: 3))
            var bodies: [(target: ScrapeTarget, body: [UInt8])] = []
            for index in scraped {
                clients.occur(in: index)
                bodies.append((Self.targets[index], try clients.body(of: index)))
            }
            try await leaves.scrape(bodies, at: Date(timeIntervalSince1970: 1_800_000_000 + Double(step) * 15))
            await leaves.expectEqual(step, seed: UInt64(seed))
        }
        // The comparison is worth something only if samples were skipped.
        #expect(leaves.skipped > 0)
    }

    /// A decode that skipped by a view the group has since left: the merge changes nothing and
    /// says so, and the ingest then decodes the body in full.
    @Test func staleSkipIsMergedInFull() async throws {
        var leaves = try Leaves(sampleLimit: 2)
        func body(_ samples: [(String, Int)], count: Int) -> [UInt8] {
            let list = samples.map { #"{"error": {"class": "E", "message": "\#($0.0)"}, "uuid": "\#($0.0)", "timestamp": \#($0.1)}"# }
            return Array(#"{"target_uuid": "p", "aggregated_errors": [{"aggregation_key": "k", "total_count": \#(count), "latest_errors": [\#(list.joined(separator: ","))]}]}"#.utf8)
        }
        let target = Self.targets[0]
        try await leaves.scrape([(target, body([("a", 1), ("b", 2), ("c", 3)], count: 3))], at: Date(timeIntervalSince1970: 10))
        // Full with b and c: a is skipped as older than the oldest kept.
        let next = body([("a", 1), ("b", 2), ("c", 3), ("d", 4)], count: 4)
        let scrape = try leaves.ingest.decode(ByteBuffer(bytes: next), from: target)
        #expect(scrape.payload.groups[0].skipped.map(\.uuid) == ["a", "b", "c"])
        // Room for a, b, c and d now: a would be merged, so the skipping merge refuses.
        try leaves.setSampleLimit(5)
        let before = await leaves.skimmed.snapshot
        let applied = await leaves.skimmed.apply(scrape.payload, from: target, at: Date(timeIntervalSince1970: 20), sampleLimit: 5, scrubber: Scrubber())
        #expect(!applied)
        #expect(await leaves.skimmed.snapshot == before)
        try await leaves.ingest.consume(scrape, from: target, at: Date(timeIntervalSince1970: 20))
        await leaves.full.apply(try PayloadDecoder().decode(next), from: target, at: Date(timeIntervalSince1970: 20), sampleLimit: 5, scrubber: Scrubber())
        await leaves.expectEqual(1, seed: 0)
        #expect(await leaves.skimmed.group(GroupID(service: "api", key: "k"))?.samples.map(\.uuid) == ["d", "c", "b", "a"])
    }
}

/// Processes as Periskop clients keep their errors: counts that grow, the newest ten samples per
/// group, restarts; with the variants clients write (no uuid, no severity, no or odd times).
struct ClientFleet {
    struct Sample {
        var uuid: String?
        var time: Double?
        var severity: String?
        var message: String
        var token: Int
    }

    struct Group {
        var key: String
        var count = 0
        var severity: String?
        var createdAt: Double?
        var samples: [Sample] = []
    }

    struct Process {
        var uuid: String?
        var groups: [Group] = []
    }

    var random: SplitMix64
    var processes: [Process]
    private var clock = 1_700_000_000.0
    private var serial = 0
    private let severities = ["info", "warning", "error"]

    init(count: Int, random: SplitMix64) {
        self.random = random
        processes = []
        for index in 0..<count { processes.append(Process(uuid: index == 0 ? nil : "p\(index)-0")) }
    }

    /// Some occurrences in some of the process's groups, or a restart.
    mutating func occur(in index: Int) {
        var process = processes[index]
        if random.next(below: 20) == 0 {
            serial += 1
            // A client without target_uuid restarts with counts from zero, seen as a falling count.
            process = Process(uuid: process.uuid.map { _ in "p\(index)-\(serial)" })
        }
        for key in ["k0", "k1", "k2", "k3"] where random.next(below: 2) == 0 {
            var group = process.groups.first { $0.key == key } ?? Group(
                key: key, severity: random.next(below: 4) == 0 ? nil : severities[random.next(below: 3)],
                createdAt: random.next(below: 2) == 0 ? nil : clock)
            let occurrences = random.next(below: 4)
            group.count += occurrences
            for _ in 0..<min(occurrences, 1 + random.next(below: 3)) { group.samples.append(newSample()) }
            if group.samples.count > 10 { group.samples.removeFirst(group.samples.count - 10) }
            if let position = process.groups.firstIndex(where: { $0.key == key }) {
                process.groups[position] = group
            } else {
                process.groups.append(group)
            }
        }
        processes[index] = process
    }

    private mutating func newSample() -> Sample {
        clock += Double(random.next(below: 3))
        serial += 1
        let uuid: String? =
            switch random.next(below: 12) {
            case 0: nil
            case 1: ""
            // The same occurrence reported again, or by another process.
            case 2: "s\(random.next(below: serial))"
            default: "s\(serial)"
            }
        let time: Double? =
            switch random.next(below: 10) {
            case 0: nil
            // A sample from long ago: clocks differ between hosts.
            case 1: clock - 500
            default: clock
            }
        return Sample(
            uuid: uuid, time: time, severity: random.next(below: 4) == 0 ? nil : severities[random.next(below: 3)],
            message: "m\(random.next(below: 4))", token: serial)
    }

    /// The body the process serves, keys sorted as Go clients write them (aggregation_key first).
    func body(of index: Int) throws -> [UInt8] {
        let process = processes[index]
        var root: [String: Any] = [
            "aggregated_errors": process.groups.map { group in
                var object: [String: Any] = [
                    "aggregation_key": group.key, "total_count": group.count,
                    "latest_errors": group.samples.map(json),
                ]
                object["severity"] = group.severity
                object["created_at"] = group.createdAt.map { Self.rfc3339($0) }
                return object
            }
        ]
        root["target_uuid"] = process.uuid
        return [UInt8](try JSONSerialization.data(withJSONObject: root, options: [.sortedKeys]))
    }

    private func json(_ sample: Sample) -> [String: Any] {
        var object: [String: Any] = [
            "error": ["class": "E", "message": sample.message, "stacktrace": ["at f", "at g"], "cause": NSNull()],
            "http_context": [
                "request_method": "GET", "request_url": "http://x/?token=\(sample.token)",
                "request_headers": ["Authorization": "Bearer \(sample.token)", "Accept": "*/*"], "request_body": NSNull(),
            ],
        ]
        object["uuid"] = sample.uuid
        object["severity"] = sample.severity
        // Clients write RFC 3339; some write Unix seconds.
        object["timestamp"] = sample.time.map { time -> Any in Int(time) % 2 == 0 ? Self.rfc3339(time) : time } ?? NSNull()
        return object
    }

    private static func rfc3339(_ time: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: time))
    }
}
