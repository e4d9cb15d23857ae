import Foundation
import Periskop

/// A deploy of a service as its leaf saw it: the first process reporting a new value of the
/// deploy label (`version`, `release`, or the configured one), or, for a service without one,
/// processes that replaced earlier ones (new `target_uuid`s on known targets) close together.
public struct FederatedDeploy: Codable, Sendable, Equatable {
    /// The target labels that name a version, tried in order, where none is configured.
    public static let defaultLabels = ["version", "release"]

    /// When the first of its processes started reporting (the earlier of its first scrape and the
    /// oldest occurrence in it: a new process has reported nothing older than its start).
    public var at: Date
    /// The deploy label's value; nil for a deploy seen only as restarts.
    public var version: String?
    /// The target label `version` was read from.
    public var label: String?
    /// Instances seen starting in it.
    public var instances: Int

    public init(at: Date, version: String?, label: String?, instances: Int) {
        self.at = at
        self.version = version
        self.label = label
        self.instances = instances
    }

    /// What names the deploy within its service, the same at leaf and hub: its version, or for a
    /// deploy seen only as restarts, its time.
    public var id: String { version.map { "version:" + $0 } ?? "restart:" + RFC3339.string(from: at) }
}

extension FederatedDeploy: NamedElement { static var nameKey: String { "version" } }
