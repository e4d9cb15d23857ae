import Foundation
import Logging
import Synchronization
import Testing

@testable import Shared

// Helpers shared by the discovery suites (static, file, DNS and HTTP).

/// Every list a discoverer sent, for a test to wait on.
final class DiscoveryUpdates: Sendable {
    private let sent = Mutex<[[TargetGroup]]>([])

    func record(_ groups: [TargetGroup]) { sent.withLock { $0.append(groups) } }
    var all: [[TargetGroup]] { sent.withLock { $0 } }
    var latest: [TargetGroup]? { all.last }

    /// The latest list once it satisfies `condition`; nil if it does not within `timeout`.
    func latest(within timeout: Duration = .seconds(5), where condition: ([TargetGroup]) -> Bool) async -> [TargetGroup]? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let latest, condition(latest) { return latest }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The first list sent; nil if none comes within `timeout`.
    func first(within timeout: Duration = .seconds(5)) async -> [TargetGroup]? {
        await latest(within: timeout) { _ in true }.flatMap { _ in all.first }
    }
}

/// A logger whose messages a test can inspect.
final class DiscoveryLogRecorder: Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let entries = Mutex<[Entry]>([])

    var logger: Logger { Logger(label: "canopy.discovery.test") { _ in Handler(recorder: self) } }
    var all: [Entry] { entries.withLock { $0 } }

    func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }

    /// The first entry at warning or above satisfying `condition`; nil if none within `timeout`.
    func problem(within timeout: Duration = .seconds(5), where condition: (Entry) -> Bool = { _ in true }) async -> Entry? {
        let deadline = ContinuousClock.now + timeout
        while true {
            if let entry = all.first(where: { $0.level >= .warning && condition($0) }) { return entry }
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Forgets what was logged so far, to wait for something new.
    func clear() { entries.withLock { $0.removeAll() } }

    struct Handler: LogHandler {
        let recorder: DiscoveryLogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        var metadataProvider: Logger.MetadataProvider?

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            recorder.append(Entry(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
        }
    }
}

/// Runs `discoverer` while `body` runs, and cancels it afterwards (also when `body` throws).
func withRunningDiscoverer<R>(_ discoverer: some Discoverer, _ body: (DiscoveryUpdates) async throws -> R) async throws -> R {
    let updates = DiscoveryUpdates()
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await discoverer.run { updates.record($0) } }
        defer { group.cancelAll() }
        return try await body(updates)
    }
}

/// A fresh directory under the system's temporary directory, removed after `body`.
func withTemporaryDirectory<R>(_ body: (String) async throws -> R) async throws -> R {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("canopy-discovery-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// The addresses of every target, in order.
func addresses(_ groups: [TargetGroup]) -> [String] {
    groups.flatMap { $0.targets.compactMap { $0[LabelName.address] } }
}
