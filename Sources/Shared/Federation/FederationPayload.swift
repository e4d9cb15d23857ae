import Foundation
import Periskop

/// What a leaf serves at `/api/v1/federate` and the hub scrapes: the team's aggregates, with
/// per-instance detail left at the leaf (ARCHITECTURE.md, "Leaf to hub"). It holds no time of its
/// own making (the HTTP `Date` header says when it was made): a leaf with nothing new serves the
/// same bytes again, and the hub skips them unread.
public struct FederationPayload: Codable, Sendable, Equatable {
    public static let currentVersion = 1

    public var version: Int
    public var leaf: LeafIdentity
    /// Whether the leaf has scraped each of its targets at least once since it started. Until it
    /// has, its totals lack the targets it has not reached yet: a hub that takes a new epoch as a
    /// baseline waits for a complete payload.
    public var complete: Bool
    public var services: [FederatedService]
    /// Where the body stands in the leaf's change log; nil from a leaf older than deltas.
    public var changes: FederationChanges?

    public init(leaf: LeafIdentity, complete: Bool = true, services: [FederatedService], changes: FederationChanges? = nil) {
        self.version = Self.currentVersion
        self.leaf = leaf
        self.complete = complete
        self.services = services
        self.changes = changes
    }

    enum CodingKeys: String, CodingKey {
        case version, leaf, complete, services, changes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(Int.self, forKey: .version)
        leaf = try container.decode(LeafIdentity.self, forKey: .leaf)
        complete = try container.decodeIfPresent(Bool.self, forKey: .complete) ?? true
        services = try container.decode([FederatedService].self, forKey: .services)
        changes = try container.decodeIfPresent(FederationChanges.self, forKey: .changes)
    }
}

/// Where a federation body stands in its leaf's change log, so that a hub asks for only the
/// groups changed since the body it applied last (ARCHITECTURE.md, "Cost of a scrape"). The hub
/// sends the log and sequence of that body in `FederationChanges.requestHeader`; a leaf that
/// has that log answers a delta, any other a full body.
public struct FederationChanges: Codable, Sendable, Equatable {
    /// The request header that names the body a hub applied last: `<log> <sequence>`.
    public static let requestHeader = "Canopy-Federation-Since"

    /// The leaf process's change log: a new one at each start, so that no sequence of an earlier
    /// run (or of another leaf at the same address) is ever taken as this one's.
    public var log: String
    /// The log's sequence as of this body: a hub that applied it holds every group as it was then.
    public var sequence: UInt64
    /// Set on a delta: the body holds only the groups changed after this sequence; every other
    /// group is as in the body of that sequence. A group absent from a delta is not a deletion.
    public var since: UInt64?

    public init(log: String, sequence: UInt64, since: UInt64? = nil) {
        self.log = log
        self.sequence = sequence
        self.since = since
    }

    /// Whether the log's name can be sent back in a header as it is (a leaf names it with a UUID).
    public var isReturnable: Bool {
        !log.isEmpty && log.utf8.count <= 64 && log.utf8.allSatisfy { $0 == UInt8(ascii: "-") || (0x30...0x39).contains($0) || (0x41...0x5a).contains($0) || (0x61...0x7a).contains($0) }
    }

    /// The header's value for a hub that applied this body.
    public var headerValue: String { "\(log) \(sequence)" }

    /// A request header's log and sequence; nil when it is malformed (answered with a full body).
    public static func parse(header value: String) -> (log: String, sequence: UInt64)? {
        let parts = value.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].utf8.count <= 64, let sequence = UInt64(parts[1]) else { return nil }
        return (String(parts[0]), sequence)
    }
}

public struct LeafIdentity: Codable, Sendable, Equatable {
    public var name: String
    /// Changes only when the leaf lost its data dir: the hub then knows that the leaf's totals
    /// started again from zero.
    public var epoch: String
    public var startedAt: Date
    public var externalLabels: Labels

    public init(name: String, epoch: String, startedAt: Date, externalLabels: Labels) {
        self.name = name
        self.epoch = epoch
        self.startedAt = startedAt
        self.externalLabels = externalLabels
    }

    public var team: String? { externalLabels[LabelName.team] }

    enum CodingKeys: String, CodingKey {
        case name, epoch
        case startedAt = "started_at"
        case externalLabels = "external_labels"
    }
}

public struct FederatedService: Codable, Sendable, Equatable {
    public var name: String
    public var targetsTotal: Int
    public var targetsUp: Int
    public var groups: [FederatedGroup]
    /// The service's deploys the leaf saw, oldest first; empty from a leaf older than deploys.
    public var deploys: [FederatedDeploy] = []
    /// Groups (and samples) that did not decode, with their reasons: a reader keeps the rest.
    /// Not part of the format.
    public var undecodable: [FederationRejection] = []

    public init(name: String, targetsTotal: Int, targetsUp: Int, groups: [FederatedGroup], deploys: [FederatedDeploy] = []) {
        self.name = name
        self.targetsTotal = targetsTotal
        self.targetsUp = targetsUp
        self.groups = groups
        self.deploys = deploys
    }

    enum CodingKeys: String, CodingKey {
        case name, groups, deploys
        case targetsTotal = "targets_total"
        case targetsUp = "targets_up"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        targetsTotal = try container.decode(Int.self, forKey: .targetsTotal)
        targetsUp = try container.decode(Int.self, forKey: .targetsUp)
        groups = []
        for (index, element) in try container.decode([Tolerant<FederatedGroup>].self, forKey: .groups).enumerated() {
            switch element.result {
            case .success(let group):
                groups.append(group)
                undecodable += group.undecodableSamples.map { FederationRejection(service: name, key: group.aggregationKey, reason: $0) }
            case .failure(let reason):
                undecodable.append(FederationRejection(service: name, key: element.name ?? "groups[\(index)]", reason: reason))
            }
        }
        deploys = try Self.deploys(container, forKey: .deploys, service: name, undecodable: &undecodable)
    }

    /// The service's deploys, each decoded on its own: one malformed deploy costs only itself.
    public static func deploys<Key: CodingKey>(
        _ container: KeyedDecodingContainer<Key>, forKey key: Key, service: String, undecodable: inout [FederationRejection]
    ) throws -> [FederatedDeploy] {
        var deploys: [FederatedDeploy] = []
        for (index, element) in (try container.decodeIfPresent([Tolerant<FederatedDeploy>].self, forKey: key) ?? []).enumerated() {
            switch element.result {
            case .success(let deploy): deploys.append(deploy)
            case .failure(let reason):
                undecodable.append(FederationRejection(service: service, key: "deploys[\(index)]", reason: "deploy left out: \(reason)"))
            }
        }
        return deploys
    }
}

/// Something of a federation payload that was left out, and why.
public struct FederationRejection: Sendable, Equatable, CustomStringConvertible {
    public var service: String
    /// The group's key, or its place in the list where the key itself is unreadable.
    public var key: String
    public var reason: String

    public init(service: String, key: String, reason: String) {
        self.service = service
        self.key = key
        self.reason = reason
    }

    public var description: String { "\(service)/\(key): \(reason)" }
}

/// A list element decoded on its own, so that one malformed element costs only itself.
struct Tolerant<Element: Decodable & NamedElement>: Decodable {
    enum Outcome {
        case success(Element)
        case failure(String)
    }
    var result: Outcome
    /// The element's name (its key), where that much of it is readable.
    var name: String?

    init(from decoder: any Decoder) throws {
        do {
            result = .success(try Element(from: decoder))
        } catch let error as DecodingError {
            result = .failure(DecodingErrorText.describe(error))
        }
        let container = try? decoder.container(keyedBy: AnyCodingKey.self)
        name = try? container?.decodeIfPresent(String.self, forKey: AnyCodingKey(Element.nameKey))
    }
}

/// What names an element of a tolerant list in a rejection.
protocol NamedElement { static var nameKey: String { get } }

struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

public struct FederatedGroup: Codable, Sendable, Equatable {
    public var aggregationKey: String
    public var className: String
    public var message: String
    public var severity: Severity
    /// Occurrences counted by this leaf in this epoch: only grows.
    public var total: Int
    public var firstSeen: Date?
    public var lastSeen: Date?
    /// How many current instances report the group.
    public var instances: Int
    /// Newest first, already scrubbed.
    public var samples: [ErrorWithContext]
    /// The group's counts per target-label set; they sum to `total`. Empty from a leaf older
    /// than series.
    public var series: [ExceptionSeries]
    /// Why samples that did not decode were left out. Not part of the format.
    public var undecodableSamples: [String] = []

    public init(
        aggregationKey: String, className: String, message: String, severity: Severity, total: Int, firstSeen: Date?, lastSeen: Date?,
        instances: Int, samples: [ErrorWithContext], series: [ExceptionSeries] = []
    ) {
        self.aggregationKey = aggregationKey
        self.className = className
        self.message = message
        self.severity = severity
        self.total = total
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.instances = instances
        self.samples = samples
        self.series = series
    }

    enum CodingKeys: String, CodingKey {
        case message, severity, total, instances, samples, series
        case aggregationKey = "aggregation_key"
        case className = "class"
        case firstSeen = "first_seen"
        case lastSeen = "last_seen"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        aggregationKey = try container.decode(String.self, forKey: .aggregationKey)
        className = try container.decode(String.self, forKey: .className)
        message = try container.decode(String.self, forKey: .message)
        severity = try container.decode(Severity.self, forKey: .severity)
        total = try container.decode(Int.self, forKey: .total)
        firstSeen = try container.decodeIfPresent(Date.self, forKey: .firstSeen)
        lastSeen = try container.decodeIfPresent(Date.self, forKey: .lastSeen)
        instances = try container.decode(Int.self, forKey: .instances)
        series = try container.decodeIfPresent([ExceptionSeries].self, forKey: .series) ?? []
        samples = []
        for (index, element) in try container.decode([Tolerant<ErrorWithContext>].self, forKey: .samples).enumerated() {
            switch element.result {
            case .success(let sample): samples.append(sample)
            case .failure(let reason): undecodableSamples.append("sample \(element.name.map { "\($0)" } ?? "[\(index)]") left out: \(reason)")
            }
        }
    }
}

extension FederatedGroup: NamedElement { static var nameKey: String { CodingKeys.aggregationKey.rawValue } }
extension ErrorWithContext: NamedElement { static var nameKey: String { "uuid" } }

/// A decoding error as a path and a reason: `services[0].groups[3].total: expected Int`.
public enum DecodingErrorText {
    public static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue { text += "[\(index)]" } else { text += text.isEmpty ? key.stringValue : ".\(key.stringValue)" }
            }
            return text.isEmpty ? "top level" : text
        }
        switch error {
        case .typeMismatch(let type, let context): return "\(path(context.codingPath)): expected \(type)"
        case .valueNotFound(let type, let context): return "\(path(context.codingPath)): missing \(type)"
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])): missing"
        case .dataCorrupted(let context): return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
