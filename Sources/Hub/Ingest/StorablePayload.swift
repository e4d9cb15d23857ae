import Foundation
import Periskop
import Shared

/// Makes a leaf's payload storable before any of it is written. PostgreSQL refuses text and
/// jsonb holding U+0000 (real clients send such strings), a btree index entry of more than about
/// 2.7 KB, a timestamp past its range, and one `INSERT ... ON CONFLICT` touching a row twice; any
/// of these failed the leaf's whole transaction, so one bad value hid a whole team. Here:
/// - every string has U+0000 replaced by U+FFFD (invalid UTF-8 cannot reach a Swift string: the
///   decoders replace it the same way), and free text is cut to a bound and marked;
/// - a group whose identity cannot be stored (a key or service name too long), whose total is
///   negative, that did not decode, or that appears twice, is left out with a reason that names
///   it; a sample likewise; the rest of the scrape is applied;
/// - a time outside years 1 to 9999 is taken as unknown.
/// What cannot be made storable about the leaf itself (its team) rejects the scrape.
struct StorablePayload {
    struct Limits: Sendable {
        /// UTF-8 bytes of a team, service, key, sample uuid, leaf name or epoch: these are
        /// indexed, and three of them share one index entry.
        var identity = 512
        /// Class, message, each stack trace line, method, URL, header; as the leaf's decoder.
        var text = PayloadLimits().maxStringLength
        /// A request body.
        var body = PayloadLimits().maxBodyLength
        /// Series per group; a leaf keeps at most 100 by default and 10,000 when told.
        var maxSeries = 10_000
    }

    let limits: Limits

    init(limits: Limits = Limits()) { self.limits = limits }

    /// The payload as it will be stored, and what was left out of it.
    func prepare(_ payload: FederationPayload) throws(ScrapeFailure) -> (payload: FederationPayload, skipped: [FederationRejection]) {
        var result = payload
        result.leaf = try leaf(payload.leaf)
        var skipped: [FederationRejection] = []
        var services: [FederatedService] = []
        var serviceNames: Set<String> = []
        for service in payload.services {
            var clean = service
            clean.name = Self.storable(service.name)
            skipped += service.undecodable
            clean.undecodable = []
            guard clean.name.utf8.count <= limits.identity else {
                skipped.append(FederationRejection(service: Self.preview(clean.name), key: "*", reason: "service name longer than \(limits.identity) bytes"))
                continue
            }
            guard serviceNames.insert(clean.name).inserted else {
                skipped.append(FederationRejection(service: clean.name, key: "*", reason: "the service appears twice in the payload"))
                continue
            }
            clean.targetsTotal = max(0, service.targetsTotal)
            clean.targetsUp = max(0, service.targetsUp)
            clean.groups = []
            var keys: Set<String> = []
            for group in service.groups {
                switch self.group(group) {
                case .failure(let reason):
                    skipped.append(FederationRejection(service: clean.name, key: Self.preview(Self.storable(group.aggregationKey)), reason: reason))
                case .success(let group):
                    guard keys.insert(group.aggregationKey).inserted else {
                        skipped.append(FederationRejection(service: clean.name, key: group.aggregationKey, reason: "the key appears twice in the service"))
                        continue
                    }
                    clean.groups.append(group)
                }
            }
            let deploys = self.deploys(service.deploys, service: clean.name)
            clean.deploys = deploys.kept
            skipped += deploys.skipped
            services.append(clean)
        }
        result.services = services
        return (result, skipped)
    }

    /// A service's deploys as stored: a version or label too long to index, a time out of range,
    /// or a deploy given twice is left out by name.
    func deploys(_ deploys: [FederatedDeploy], service: String) -> (kept: [FederatedDeploy], skipped: [FederationRejection]) {
        var kept: [FederatedDeploy] = []
        var skipped: [FederationRejection] = []
        var ids: Set<String> = []
        for deploy in deploys {
            var clean = deploy
            clean.version = deploy.version.map(Self.storable)
            clean.label = deploy.label.map(Self.storable)
            clean.instances = max(0, deploy.instances)
            let name = "deploy " + Self.preview(clean.version ?? "at \(deploy.at)")
            if (clean.version?.utf8.count ?? 0) > limits.identity || (clean.label?.utf8.count ?? 0) > limits.identity {
                skipped.append(FederationRejection(service: service, key: name, reason: "version or label longer than \(limits.identity) bytes"))
            } else if Self.storable(deploy.at) == nil {
                skipped.append(FederationRejection(service: service, key: name, reason: "its time is out of range"))
            } else if !ids.insert(clean.id).inserted {
                skipped.append(FederationRejection(service: service, key: name, reason: "the deploy appears twice in the service"))
            } else {
                kept.append(clean)
            }
        }
        return (kept, skipped)
    }

    func leaf(_ leaf: LeafIdentity) throws(ScrapeFailure) -> LeafIdentity {
        var clean = leaf
        clean.name = cut(Self.storable(leaf.name), to: limits.identity)
        clean.epoch = Self.storable(leaf.epoch)
        clean.startedAt = Self.storable(leaf.startedAt) ?? Date(timeIntervalSince1970: 0)
        var labels = Labels()
        for (name, value) in leaf.externalLabels.values { labels[Self.storable(name)] = cut(Self.storable(value), to: limits.text) }
        clean.externalLabels = labels
        guard clean.epoch.utf8.count <= limits.identity else { throw .rejected("the leaf's epoch is longer than \(limits.identity) bytes") }
        guard (clean.team ?? "").utf8.count <= limits.identity else { throw .rejected("the leaf's team is longer than \(limits.identity) bytes") }
        return clean
    }

    enum Outcome {
        case success(FederatedGroup)
        case failure(String)
    }

    /// One group made storable, or why it cannot be (`GroupReuse` prepares groups one by one).
    func group(_ group: FederatedGroup) -> Outcome {
        var clean = group
        clean.aggregationKey = Self.storable(group.aggregationKey)
        guard clean.aggregationKey.utf8.count <= limits.identity else { return .failure("aggregation key longer than \(limits.identity) bytes") }
        guard group.total >= 0 else { return .failure("negative total \(group.total)") }
        clean.className = cut(Self.storable(group.className), to: limits.text)
        clean.message = cut(Self.storable(group.message), to: limits.text)
        clean.firstSeen = group.firstSeen.flatMap(Self.storable)
        clean.lastSeen = group.lastSeen.flatMap(Self.storable)
        clean.instances = max(0, group.instances)
        clean.series = series(group.series)
        var uuids: Set<String> = []
        clean.samples = group.samples.compactMap { sample in
            var sample = self.sample(sample)
            if sample.uuid.utf8.count > limits.identity { sample.uuid = Self.digest(sample.uuid) }
            return uuids.insert(sample.uuid).inserted ? sample : nil
        }
        return .success(clean)
    }

    /// Series with storable, bounded labels (as the leaf bounds them), those made equal by that
    /// merged, and past `maxSeries` counted in the overflow series, so that the totals still add up.
    private func series(_ series: [ExceptionSeries]) -> [ExceptionSeries] {
        var totals: [Labels: Int] = [:]
        var order: [Labels] = []
        for one in series {
            var labels = Labels()
            for (name, value) in one.labels.values {
                labels[TextBounds.cut(Self.storable(name), to: SeriesRule.maxNameBytes, marker: "")] =
                    TextBounds.cut(Self.storable(value), to: SeriesRule.maxValueBytes, marker: "")
            }
            if totals[labels] == nil && order.count >= limits.maxSeries { labels = SeriesRule.overflow }
            if totals[labels] == nil { order.append(labels) }
            totals[labels, default: 0] += max(0, one.total)
        }
        return order.map { ExceptionSeries(labels: $0, total: totals[$0]!) }
    }

    private func sample(_ sample: ErrorWithContext) -> ErrorWithContext {
        var clean = sample
        clean.uuid = Self.storable(sample.uuid)
        clean.timestamp = sample.timestamp.flatMap(Self.storable)
        clean.error = error(sample.error)
        if var context = sample.httpContext {
            context.requestMethod = cut(Self.storable(context.requestMethod), to: limits.text)
            context.requestURL = cut(Self.storable(context.requestURL), to: limits.text)
            var headers: [String: String] = [:]
            for (name, value) in context.requestHeaders {
                headers[cut(Self.storable(name), to: limits.text)] = cut(Self.storable(value), to: limits.text)
            }
            context.requestHeaders = headers
            context.requestBody = context.requestBody.map { cut(Self.storable($0), to: limits.body) }
            clean.httpContext = context
        }
        return clean
    }

    private func error(_ error: ErrorInstance) -> ErrorInstance {
        ErrorInstance(
            className: cut(Self.storable(error.className), to: limits.text),
            message: cut(Self.storable(error.message), to: limits.text),
            stacktrace: error.stacktrace.map { cut(Self.storable($0), to: limits.text) },
            cause: error.cause.map(self.error))
    }

    /// `text` without U+0000, which PostgreSQL cannot store in text or jsonb.
    static func storable(_ text: String) -> String {
        guard text.utf8.contains(0) else { return text }
        return text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")
    }

    /// A time PostgreSQL and the UI can hold: years 1 to 9999, else unknown.
    static func storable(_ date: Date) -> Date? {
        (-62_135_596_800...253_402_300_799).contains(date.timeIntervalSince1970) ? date : nil
    }

    /// Cut and marked as the leaf cuts (`TextBounds`): a leaf's cut text stays as it came.
    private func cut(_ text: String, to limit: Int) -> String { TextBounds.cut(text, to: limit) }

    /// A long name shortened for a log line or the snapshot log.
    static func preview(_ text: String) -> String {
        text.count > 80 ? String(text.prefix(80)) + "…" : text
    }

    /// A stable short stand-in for an over-long sample uuid, so that merging by uuid still works.
    private static func digest(_ text: String) -> String {
        "long-uuid-" + String(FNV1a64(text).value, radix: 16)
    }
}
