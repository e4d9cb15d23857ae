import Foundation
import Hummingbird
import Logging
import NIOCore
import Periskop
import ServiceLifecycle
import Shared
import Synchronization

/// The simulated leaves of `canopy-bench hub ingest`: each serves a real federation payload (its
/// own name, epoch and team; groups with samples and series, as a leaf serves them) at
/// `/api/v1/federate`, all from one listener. Leaf `i` is told apart by the address it is asked
/// at (`IngestLeafFleet.address(of:)`, distinct loopback addresses), so that the hub sees a
/// thousand hosts, each with a connection pool of its own, as it would in production.
///
/// On every request a leaf first grows the totals of `changing` of its groups (with a new,
/// newest sample) and leaves the rest as they were, so that every body differs from the last.
/// A frozen fleet serves its last bodies again (the hub skips them unread). A leaf keeps a
/// change log as a real leaf does (`FederationChanges`): a hub that names the body it applied
/// last is sent only the groups grown since.
final class IngestLeafFleet: Sendable {
    struct Shape: Sendable {
        var leaves: Int
        var groups: Int
        /// Groups grown per request of a leaf.
        var changing: Int
        var samples: Int
        /// Whether a leaf answers a hub that names its last applied body with a delta.
        var deltas = true
        var seriesPerGroup = 2
    }

    let shape: Shape
    private let leaves: [Locked]
    private let frozen = Atomic<Bool>(false)
    private let served = Atomic<Int>(0)
    private let port = Mutex<Int?>(nil)

    init(shape: Shape, now: Date = Date()) {
        self.shape = shape
        let pool = SamplePool(now: now)
        leaves = (0..<shape.leaves).map { Locked(SimulatedLeaf(index: $0, shape: shape, pool: pool, now: now)) }
    }

    /// Leaf `index`'s address: 127.0.x.y, all of 127.0.0.0/8 being loopback on Linux (x from 1,
    /// so that 127.0.0.1 stays out of it).
    static func address(of index: Int) -> String { "127.0.\(1 + index / 250).\(1 + index % 250)" }

    static func index(ofHost host: Substring) -> Int? {
        let parts = host.split(separator: ".")
        guard parts.count == 4, parts[0] == "127", parts[1] == "0", let x = Int(parts[2]), let y = Int(parts[3]), x >= 1, (1...250).contains(y) else { return nil }
        return (x - 1) * 250 + (y - 1)
    }

    func freeze() { frozen.store(true, ordering: .relaxed) }

    var bodiesServed: Int { served.load(ordering: .relaxed) }

    /// The first leaf's body size now.
    var bodyBytes: Int { leaves.first?.state.withLock { $0.body().readableBytes } ?? 0 }

    /// The sum of every group's total as last served: what the hub's groups must add up to once
    /// it applied each leaf's last body.
    var servedTotal: Int64 { leaves.reduce(0) { sum, leaf in sum + leaf.state.withLock { $0.total } } }

    func body(forHost authority: String?, since header: String? = nil) -> ByteBuffer? {
        guard let authority, let index = Self.index(ofHost: authority.split(separator: ":").first ?? ""), index < leaves.count else { return nil }
        let grow = !frozen.load(ordering: .relaxed)
        served.add(1, ordering: .relaxed)
        let since = shape.deltas ? header.flatMap(FederationChanges.parse(header:)) : nil
        return leaves[index].state.withLock { leaf in
            if grow { leaf.grow(Date()) }
            return leaf.body(since: since)
        }
    }

    /// The one server (on every address: the leaves' loopback addresses are not all bound).
    func application(logger: Logger) -> some Service {
        let router = Router()
        router.get("api/v1/federate") { [self] request, _ in
            guard let body = body(forHost: request.head.authority, since: request.headers.first { $0.name.canonicalName == Self.sinceHeader }?.value) else {
                return Response(status: .notFound)
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname("0.0.0.0", port: 0), serverName: "canopy-bench-leaves"),
            onServerRunning: { [self] channel in self.port.withLock { $0 = channel.localAddress?.port } },
            logger: logger)
    }

    private static let sinceHeader = FederationChanges.requestHeader.lowercased()

    func listeningPort(within timeout: Duration) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let port = port.withLock({ $0 }) { return port }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw BenchError("the simulated leaves did not start listening within \(timeout)")
    }
}

/// One leaf behind its lock (a `Mutex` cannot sit in an array).
private final class Locked: Sendable {
    let state: Mutex<SimulatedLeaf>
    init(_ leaf: SimulatedLeaf) { state = Mutex(leaf) }
}

/// Encoded samples of each exception kind, shared by the groups' first samples (arrays are
/// copied on write: a thousand leaves hold them once). The samples a group grows by are its own.
struct SamplePool: Sendable {
    static let perKind = 64
    let templates: [GroupTemplate]
    let encoded: [[[UInt8]]]

    init(now: Date) {
        var rng = SeededGenerator(seed: 0x1EAF)
        let encoder = CanopyJSON.encoder()
        var templates: [GroupTemplate] = []
        var encoded: [[[UInt8]]] = []
        for (index, kind) in ExceptionKind.catalogue.enumerated() {
            let template = Self.template(kind, index: index, &rng)
            templates.append(template)
            // Newest first, as a leaf serves them: the last hour.
            encoded.append(
                (0..<Self.perKind).map { offset in
                    let sample = template.sample(&rng, at: now.addingTimeInterval(-60 - Double(offset) * 50))
                    return Array(try! encoder.encode(sample))
                })
        }
        self.templates = templates
        self.encoded = encoded
    }

    private static let routes = [("POST", "/api/v1/carts/{id}/items"), ("GET", "/api/v1/orders/{id}"), ("POST", "/api/v1/payments/{id}/capture")]

    private static func template(_ kind: ExceptionKind, index: Int, _ rng: inout SeededGenerator) -> GroupTemplate {
        let frames = (0..<Int.random(in: 4...9, using: &rng)).map { depth in
            "at com.acme.service.layer\(depth).Handler\(rng.hex(4)).handle(Handler.java:\(Int.random(in: 20...900, using: &rng)))"
        }
        return GroupTemplate(key: kind.className, kind: kind, stacktrace: frames, cause: nil, route: routes[index % routes.count])
    }
}

/// One leaf's groups as it serves them, each kept encoded in the pieces around its samples, so
/// that a request re-encodes only the groups that grew.
struct SimulatedLeaf: Sendable {
    struct Group: Sendable {
        var group: FederatedGroup
        var kind: Int
        /// The group's JSON before and after the samples' elements; the samples encoded, newest
        /// first, each with the change log's sequence it was added at.
        var head: [UInt8] = []
        var samples: [(bytes: [UInt8], added: UInt64)]
        var tail: [UInt8] = []
        /// The change log's sequence this group last grew at.
        var changed: UInt64 = 0
    }

    let shape: IngestLeafFleet.Shape
    private let pool: SamplePool
    private var rng: SeededGenerator
    private var services: [(name: String, groups: [Int])] = []
    private var groups: [Group] = []
    /// The payload's JSON around each service's groups: `pieces[s]` comes before service s's groups.
    private var pieces: [[UInt8]] = []
    private(set) var total: Int64 = 0
    private let log: String
    private var sequence: UInt64 = 0

    private static let serviceNames = ["api", "checkout", "payments", "worker"]

    init(index: Int, shape: IngestLeafFleet.Shape, pool: SamplePool, now: Date) {
        self.shape = shape
        self.pool = pool
        rng = SeededGenerator(seed: 0xFEED_0000 &+ UInt64(index))
        log = "bench-\(index)-\(rng.hex(8))"
        let team = "team-\(String(format: "%04d", index))"
        let identity = LeafIdentity(
            name: "leaf-\(index)", epoch: "epoch-\(index)-\(rng.hex(8))", startedAt: now.addingTimeInterval(-86_400),
            externalLabels: Labels([LabelName.team: team, "region": "eu-\(index % 3)"]))
        let serviceCount = min(Self.serviceNames.count, max(1, shape.groups / 10))
        services = (0..<serviceCount).map { (Self.serviceNames[$0], []) }
        for number in 0..<shape.groups {
            let kind = number % pool.templates.count
            let template = pool.templates[kind]
            let total = Int.random(in: 10...5_000, using: &rng)
            let first = Int.random(in: 0..<shape.seriesPerGroup, using: &rng)
            let series = (0..<shape.seriesPerGroup).map { instance in
                ExceptionSeries(labels: Labels(["instance": "10.\(index % 250).\(number % 250).\(instance + 1):8080"]), total: instance == first ? total : 0)
            }
            let start = Int.random(in: 0..<SamplePool.perKind, using: &rng)
            let samples = (0..<shape.samples).map { (bytes: pool.encoded[kind][(start + $0) % SamplePool.perKind], added: UInt64(0)) }
            let group = FederatedGroup(
                aggregationKey: "\(template.kind.className)@\(rng.hex(12))", className: template.kind.className, message: template.kind.render(&rng),
                severity: template.kind.severity, total: total, firstSeen: now.addingTimeInterval(-86_400 + Double(number)),
                lastSeen: now.addingTimeInterval(-60), instances: 3, samples: [], series: series)
            groups.append(Group(group: group, kind: kind, samples: samples))
            self.total += Int64(total)
            services[number % serviceCount].groups.append(number)
        }
        for number in groups.indices { encode(number) }
        let skeleton = FederationPayload(
            leaf: identity, complete: true,
            services: services.map { FederatedService(name: $0.name, targetsTotal: 3, targetsUp: 3, groups: []) })
        let text = Array(try! CanopyJSON.encoder().encode(skeleton))
        pieces = Self.split(text, at: Array("\"groups\":[".utf8))
    }

    /// Grows `changing` distinct groups: a larger total on one series, a new newest sample.
    mutating func grow(_ now: Date) {
        var chosen: Set<Int> = []
        while chosen.count < min(shape.changing, groups.count) { chosen.insert(Int.random(in: 0..<groups.count, using: &rng)) }
        if !chosen.isEmpty { sequence += 1 }
        for number in chosen.sorted() {
            groups[number].changed = sequence
            let added = Int.random(in: 1...20, using: &rng)
            groups[number].group.total += added
            let series = Int.random(in: 0..<groups[number].group.series.count, using: &rng)
            groups[number].group.series[series].total += added
            groups[number].group.lastSeen = now
            let sample = pool.templates[groups[number].kind].sample(&rng, at: now)
            groups[number].samples.insert((Array(try! CanopyJSON.encoder().encode(sample)), sequence), at: 0)
            if groups[number].samples.count > shape.samples { groups[number].samples.removeLast() }
            encode(number)
            total += Int64(added)
        }
    }

    /// The whole payload, or for a hub that applied this leaf's body of sequence `since`, the
    /// groups grown after it with their newest sample and those added after it (as `FederationLog`).
    func body(since: (log: String, sequence: UInt64)? = nil) -> ByteBuffer {
        let delta = since.flatMap { $0.log == log && $0.sequence <= sequence ? $0.sequence : nil }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(pieces.reduce(0) { $0 + $1.count } + groups.reduce(0) { $0 + $1.head.count + $1.tail.count + $1.samples.reduce(0) { $0 + $1.bytes.count + 1 } })
        for (index, service) in services.enumerated() {
            if index == 0 && shape.deltas {
                // `changes` sorts first among the payload's keys: right after its opening brace.
                buffer.writeBytes(pieces[0].prefix(1))
                buffer.writeString("\"changes\":")
                buffer.writeBytes(try! CanopyJSON.encoder().encode(FederationChanges(log: log, sequence: sequence, since: delta)))
                buffer.writeInteger(UInt8(ascii: ","))
                buffer.writeBytes(pieces[0].dropFirst())
            } else {
                buffer.writeBytes(pieces[index])
            }
            var position = 0
            for number in service.groups where delta.map({ groups[number].changed > $0 }) ?? true {
                if position > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                position += 1
                let group = groups[number]
                buffer.writeBytes(group.head)
                for (offset, sample) in group.samples.enumerated() where offset == 0 || delta.map({ sample.added > $0 }) ?? true {
                    if offset > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                    buffer.writeBytes(sample.bytes)
                }
                buffer.writeBytes(group.tail)
            }
        }
        buffer.writeBytes(pieces[services.count])
        return buffer
    }

    /// The group's JSON without samples, cut where its samples go (keys are sorted, so `samples`
    /// is one fixed key among them).
    private mutating func encode(_ number: Int) {
        let text = Array(try! CanopyJSON.encoder().encode(groups[number].group))
        let parts = Self.split(text, at: Array("\"samples\":[".utf8))
        precondition(parts.count == 2, "a group encodes one samples key")
        groups[number].head = parts[0]
        groups[number].tail = parts[1]
    }

    /// `text` cut after each occurrence of `marker`: the marker stays with the part before it.
    static func split(_ text: [UInt8], at marker: [UInt8]) -> [[UInt8]] {
        var parts: [[UInt8]] = []
        var start = 0
        var index = 0
        while index + marker.count <= text.count {
            if text[index..<(index + marker.count)].elementsEqual(marker) {
                parts.append(Array(text[start..<(index + marker.count)]))
                index += marker.count
                start = index
            } else {
                index += 1
            }
        }
        parts.append(Array(text[start...]))
        return parts
    }
}
