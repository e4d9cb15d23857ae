import Foundation
import Periskop
import Shared

/// Writes a `TeamSnapshot` as the JSON its `Codable` form reads (`state.json`), by hand, keeping
/// each group's samples encoded from one save to the next.
///
/// The leaf saves its state every second while it changes. With `JSONEncoder` that was 18 % of
/// a busy leaf's CPU (every sample of every group encoded again, though a group's samples change
/// only with new occurrences). A group's samples are a list of distinct uuids, and a kept sample
/// is never replaced by another of the same uuid (`GroupMerge.samples`), so while a group's
/// uuids are the ones its bytes were written from, so are its samples, and the bytes are reused.
/// Keys and dictionary entries are written in no particular order: the file is read as a value.
/// A field added to `TeamSnapshot` must be written here too: `TeamStateTests` decodes this file
/// from a state with every field set and compares it with the snapshot.
struct StateEncoder {
    private struct EncodedSamples {
        var uuids: [String]
        var bytes: [UInt8]
    }
    private var samples: [GroupID: EncodedSamples] = [:]
    private let sampleEncoder = PayloadEncoder()

    /// Groups whose samples were encoded (not reused) by the last `encode(_:)`: for tests.
    private(set) var samplesEncoded = 0

    mutating func encode(_ snapshot: TeamSnapshot) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(samples.values.reduce(4096) { $0 + $1.bytes.count + 256 })
        samplesEncoded = 0
        out.append(contentsOf: #"{"version":"#.utf8)
        out.append(contentsOf: String(snapshot.version).utf8)
        out.append(contentsOf: #","epoch":"#.utf8)
        JSONText.appendQuoted(snapshot.epoch, to: &out)
        out.append(contentsOf: #","processes":{"#.utf8)
        var first = true
        for (identity, process) in snapshot.processes {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONText.appendQuoted(identity, to: &out)
            out.append(UInt8(ascii: ":"))
            Self.append(process, to: &out)
        }
        out.append(UInt8(ascii: "}"))
        if !snapshot.deploys.isEmpty {
            out.append(contentsOf: #","deploys":{"#.utf8)
            first = true
            for (service, log) in snapshot.deploys {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                JSONText.appendQuoted(service, to: &out)
                out.append(UInt8(ascii: ":"))
                Self.append(log, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: #","groups":["#.utf8)
        first = true
        var current: [GroupID: EncodedSamples] = [:]
        current.reserveCapacity(snapshot.groups.count)
        for (id, group) in snapshot.groups {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: #"{"service":"#.utf8)
            JSONText.appendQuoted(id.service, to: &out)
            out.append(contentsOf: #","key":"#.utf8)
            JSONText.appendQuoted(id.key, to: &out)
            out.append(contentsOf: #","group":"#.utf8)
            let encoded = encodedSamples(of: group, id: id)
            Self.append(group, samples: encoded.bytes, to: &out)
            out.append(UInt8(ascii: "}"))
            current[id] = encoded
        }
        out.append(contentsOf: "]}".utf8)
        // Groups no longer in the snapshot are forgotten with the rest of the old cache.
        samples = current
        return out
    }

    private mutating func encodedSamples(of group: GroupState, id: GroupID) -> EncodedSamples {
        if let cached = samples[id], cached.uuids.elementsEqual(group.samples.lazy.map(\.uuid)) { return cached }
        samplesEncoded += 1
        var bytes: [UInt8] = [UInt8(ascii: "[")]
        for (index, sample) in group.samples.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: sampleEncoder.encode(sample))
        }
        bytes.append(UInt8(ascii: "]"))
        return EncodedSamples(uuids: group.samples.map(\.uuid), bytes: bytes)
    }

    private static func append(_ group: GroupState, samples: [UInt8], to out: inout [UInt8]) {
        out.append(contentsOf: #"{"class":"#.utf8)
        JSONText.appendQuoted(group.className, to: &out)
        out.append(contentsOf: #","message":"#.utf8)
        JSONText.appendQuoted(group.message, to: &out)
        out.append(contentsOf: #","severity":"#.utf8)
        JSONText.appendQuoted(group.severity.rawValue, to: &out)
        out.append(contentsOf: #","total":"#.utf8)
        out.append(contentsOf: String(group.total).utf8)
        if let firstSeen = group.firstSeen { appendDate(firstSeen, named: "first_seen", to: &out) }
        if let lastSeen = group.lastSeen { appendDate(lastSeen, named: "last_seen", to: &out) }
        if let resolved = group.resolvedAtTotal {
            out.append(contentsOf: #","resolved_at_total":"#.utf8)
            out.append(contentsOf: String(resolved).utf8)
        }
        out.append(contentsOf: #","series":["#.utf8)
        for (index, series) in group.series.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"labels":{"#.utf8)
            for (labelIndex, label) in series.labels.values.enumerated() {
                if labelIndex > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.appendQuoted(label.key, to: &out)
                out.append(UInt8(ascii: ":"))
                JSONText.appendQuoted(label.value, to: &out)
            }
            out.append(contentsOf: #"},"total":"#.utf8)
            out.append(contentsOf: String(series.total).utf8)
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: #"],"samples":"#.utf8)
        out.append(contentsOf: samples)
        out.append(UInt8(ascii: "}"))
    }

    private static func append(_ process: ProcessState, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"service":"#.utf8)
        JSONText.appendQuoted(process.service, to: &out)
        out.append(contentsOf: #","instance":"#.utf8)
        JSONText.appendQuoted(process.instance, to: &out)
        out.append(contentsOf: #","url":"#.utf8)
        JSONText.appendQuoted(process.url, to: &out)
        out.append(contentsOf: #","cursor":{"#.utf8)
        if let identity = process.cursor.identity {
            out.append(contentsOf: #""identity":"#.utf8)
            JSONText.appendQuoted(identity, to: &out)
            out.append(UInt8(ascii: ","))
        }
        out.append(contentsOf: #""counts":{"#.utf8)
        var first = true
        for (key, count) in process.cursor.counts {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            JSONText.appendQuoted(key, to: &out)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: String(count).utf8)
        }
        out.append(contentsOf: "}}".utf8)
        appendDate(process.lastSeen, named: "last_seen", to: &out)
        out.append(UInt8(ascii: "}"))
    }

    private static func append(_ log: DeployLog, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"deploys":["#.utf8)
        for (index, deploy) in log.deploys.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"at":""#.utf8)
            RFC3339.append(deploy.at, to: &out)
            out.append(UInt8(ascii: "\""))
            if let version = deploy.version {
                out.append(contentsOf: #","version":"#.utf8)
                JSONText.appendQuoted(version, to: &out)
            }
            if let label = deploy.label {
                out.append(contentsOf: #","label":"#.utf8)
                JSONText.appendQuoted(label, to: &out)
            }
            out.append(contentsOf: #","instances":["#.utf8)
            for (instanceIndex, instance) in deploy.instances.enumerated() {
                if instanceIndex > 0 { out.append(UInt8(ascii: ",")) }
                JSONText.appendQuoted(instance, to: &out)
            }
            out.append(contentsOf: "]}".utf8)
        }
        out.append(contentsOf: "]}".utf8)
    }

    /// `,"<name>":"<RFC 3339 time>"`.
    private static func appendDate(_ date: Date, named name: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: ",\"".utf8)
        name.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(contentsOf: "\":\"".utf8)
        RFC3339.append(date, to: &out)
        out.append(UInt8(ascii: "\""))
    }
}
