import Foundation
import Periskop
import Shared
import Synchronization

/// Decodes a leaf's federation body without decoding again the groups that came exactly as in
/// its previous body. A leaf serves all its groups in every body and most of them have not
/// changed since the last scrape; decoding their samples (and making them storable) was most of
/// a scrape's cost to the hub. Each group's element is found in the body (`FederationLayout`)
/// and known by its bytes' hash and length, as the scrape engine knows an unchanged body: a group
/// seen in the last body is taken as prepared then, without its samples, and its samples are
/// decoded only if the apply needs them (`Decoded.complete`), which it does only for groups
/// whose total moved.
///
/// Why this is exact: decoding and `StorablePayload` are functions of the bytes alone, so equal
/// bytes give the group prepared then; only groups with nothing left out take this way, and
/// anything else — a group or sample left out, a duplicate, a body this reader does not follow —
/// decodes the whole body as before (`nil`), which names what it left out as it always did.
final class GroupReuse: Sendable {
    struct BytesKey: Hashable, Sendable {
        var hash: Int
        var count: Int
    }

    /// A body decoded this way: the payload, in which the groups taken from the last body have
    /// no samples, and where those groups are in the body.
    struct Decoded: Sendable {
        var payload: FederationPayload
        var body: [UInt8]
        var reused: [FederationApply.GroupKey: Range<Int>]
        let storable: StorablePayload

        /// The group with its samples: decoded again from its bytes if it was reused.
        func complete(_ key: FederationApply.GroupKey, _ group: FederatedGroup) throws -> FederatedGroup {
            guard let range = reused[key] else { return group }
            let decoded = try CanopyJSON.decoder().decode(FederatedGroup.self, from: Data(body[range]))
            guard decoded.undecodableSamples.isEmpty, case .success(let clean) = storable.group(decoded) else {
                throw GroupReuseError(service: key.service, key: key.key)
            }
            return clean
        }
    }

    /// Per leaf, the prepared groups of its last body without their samples, by their bytes.
    private let previous = Mutex<[TargetKey: [BytesKey: FederatedGroup]]>([:])

    func forget(_ target: TargetKey) {
        _ = previous.withLock { $0.removeValue(forKey: target) }
    }

    /// The payload as `StorablePayload` prepares it, when nothing of it is left out; nil when the
    /// body must be decoded whole.
    func decode(_ body: [UInt8], from target: TargetKey, storable: StorablePayload) -> Decoded? {
        let last = previous.withLock { $0.removeValue(forKey: target) } ?? [:]
        // The JSON decoder reads the body but its groups; each group is read below, on its own or
        // as the same bytes were read before, so every byte of the body is read by the decoder.
        guard let layout = FederationLayout.scan(body),
            let envelope = try? CanopyJSON.decoder().decode(Envelope.self, from: Data(layout.remainder(of: body))),
            envelope.version == FederationPayload.currentVersion, let team = envelope.leaf.team, !team.isEmpty,
            envelope.services.count == layout.services.count, envelope.services.allSatisfy({ $0.groups.isEmpty }),
            let leaf = try? storable.leaf(envelope.leaf)
        else { return nil }
        var seen: [BytesKey: FederatedGroup] = [:]
        var reused: [FederationApply.GroupKey: Range<Int>] = [:]
        var services: [FederatedService] = []
        var names: Set<String> = []
        for (service, ranges) in zip(envelope.services, layout.services) {
            let name = StorablePayload.storable(service.name)
            guard name.utf8.count <= storable.limits.identity, names.insert(name).inserted else { return nil }
            var groups: [FederatedGroup] = []
            var keys: Set<String> = []
            for range in ranges {
                let bytes = body[range]
                var hasher = Hasher()
                bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
                let key = BytesKey(hash: hasher.finalize(), count: bytes.count)
                let group: FederatedGroup
                if let known = last[key] ?? seen[key] {
                    group = known
                    reused[FederationApply.GroupKey(service: name, key: group.aggregationKey)] = range
                } else {
                    guard let decoded = try? CanopyJSON.decoder().decode(FederatedGroup.self, from: Data(bytes)), decoded.undecodableSamples.isEmpty,
                        case .success(let clean) = storable.group(decoded)
                    else { return nil }
                    group = clean
                }
                guard keys.insert(group.aggregationKey).inserted else { return nil }
                var kept = group
                kept.samples = []
                seen[key] = kept
                groups.append(group)
            }
            // Anything left out of the deploys decodes the body whole, which names it.
            let deploys = storable.deploys(service.deploys, service: name)
            guard service.undecodable.isEmpty, deploys.skipped.isEmpty else { return nil }
            services.append(
                FederatedService(
                    name: name, targetsTotal: max(0, service.targetsTotal), targetsUp: max(0, service.targetsUp), groups: groups, deploys: deploys.kept))
        }
        previous.withLock { $0[target] = seen }
        return Decoded(payload: FederationPayload(leaf: leaf, complete: envelope.complete, services: services, changes: envelope.changes), body: body, reused: reused, storable: storable)
    }

    /// The body but its groups' contents: what `FederationPayload` decodes around them.
    private struct Envelope: Decodable {
        var version: Int
        var leaf: LeafIdentity
        var complete: Bool
        var services: [Service]
        var changes: FederationChanges?

        struct Service: Decodable {
            var name: String
            var targetsTotal: Int
            var targetsUp: Int
            var groups: [Unread]
            var deploys: [FederatedDeploy]
            var undecodable: [FederationRejection] = []

            enum CodingKeys: String, CodingKey {
                case name, groups, deploys
                case targetsTotal = "targets_total"
                case targetsUp = "targets_up"
            }

            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                name = try container.decode(String.self, forKey: .name)
                targetsTotal = try container.decode(Int.self, forKey: .targetsTotal)
                targetsUp = try container.decode(Int.self, forKey: .targetsUp)
                groups = try container.decode([Unread].self, forKey: .groups)
                deploys = try FederatedService.deploys(container, forKey: .deploys, service: name, undecodable: &undecodable)
            }
        }

        /// A group, read by `FederationLayout` and decoded on its own (none is left in what this decodes).
        struct Unread: Decodable {
            init(from decoder: any Decoder) throws {}
        }

        enum CodingKeys: String, CodingKey {
            case version, leaf, complete, services, changes
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            version = try container.decode(Int.self, forKey: .version)
            leaf = try container.decode(LeafIdentity.self, forKey: .leaf)
            complete = try container.decodeIfPresent(Bool.self, forKey: .complete) ?? true
            services = try container.decode([Service].self, forKey: .services)
            changes = try container.decodeIfPresent(FederationChanges.self, forKey: .changes)
        }
    }
}

/// A group taken from a leaf's last body did not decode as it did then: cannot happen while
/// decoding is a function of the bytes; the scrape fails rather than store a guess.
struct GroupReuseError: Error, CustomStringConvertible {
    var service: String
    var key: String
    var description: String { "group \(service)/\(key) of the leaf's last body did not decode again as before" }
}
