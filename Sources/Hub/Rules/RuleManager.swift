import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Rules

/// Evaluates the configured rule groups, each on its own schedule as Prometheus's rule manager
/// does: every `interval` at a fixed offset from the group's name (so groups spread over the
/// interval and each evaluates at the same times after a restart), the rules of a group in
/// order at one time. A reload replaces the groups and keeps the state of the rules that stayed
/// (alerts, series written); rules that went have their series ended.
///
/// Only the leading hub evaluates (`Leadership`). The others show the alerts as the leader left
/// them in the database, read every evaluation interval, and take over from that state when the
/// lead comes to them.
final class RuleManager: Service, Sendable {
    private let evaluation: RuleEvaluation
    private let leadership: Leadership
    private let logger: Logger
    /// The settings to run and a count of changes, read by `run` once a second.
    private let settings: Mutex<(RuleSettings, version: Int)>

    init(settings: RuleSettings, evaluation: RuleEvaluation, leadership: Leadership, logger: Logger) {
        self.settings = Mutex((settings, 0))
        self.evaluation = evaluation
        self.leadership = leadership
        self.logger = logger
    }

    /// New settings from a reload; the groups restart with them within a second.
    func apply(_ new: RuleSettings) {
        settings.withLock { current in
            if current.0 != new { current = (new, current.version + 1) }
        }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.follow()
                guard !Task.isCancelled else { return }
                // The alerts as the last leader (this hub before a restart, or another) left them.
                await self.loadAlerts()
                await self.lead()
            }
        }
    }

    /// Until this hub leads: the leader's alerts, read every evaluation interval.
    private func follow() async {
        var loaded = ContinuousClock.now - .seconds(86400)
        while !Task.isCancelled, !leadership.isLeader {
            let interval = settings.withLock { $0.0.evaluationInterval }
            if ContinuousClock.now - loaded >= interval {
                await loadAlerts(quietly: true)
                loaded = ContinuousClock.now
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    private func loadAlerts(quietly: Bool = false) async {
        do {
            await evaluation.board.replaceAlerts(try await evaluation.states.load())
        } catch {
            if !quietly {
                logger.error("the alerts' state could not be read: alerts start afresh", metadata: ["error": "\(RuleEvaluation.describe(error))"])
            }
        }
    }

    /// The groups' loops while this hub leads, restarted when the settings change.
    private func lead() async {
        let term = leadership.current.terms
        while !Task.isCancelled, leadership.current.isLeader, leadership.current.terms == term {
            let (current, version) = settings.withLock { $0 }
            await retire(keeping: current)
            await withTaskGroup(of: Void.self) { group in
                for ruleGroup in current.groups {
                    group.addTask {
                        await self.loop(ruleGroup, interval: ruleGroup.interval ?? current.evaluationInterval, externalLabels: current.externalLabels)
                    }
                }
                // A watcher that ends the round when the settings change or the lead is lost.
                group.addTask {
                    while !Task.isCancelled, self.settings.withLock({ $0.version }) == version {
                        let status = self.leadership.current
                        guard status.isLeader, status.terms == term else { return }
                        try? await Task.sleep(for: .milliseconds(200))
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// Forgets what belonged to rules no longer configured, ending the series they wrote.
    private func retire(keeping settings: RuleSettings) async {
        let keys = Set(settings.groups.flatMap(RuleKey.keys))
        let gone = await evaluation.board.retain(keys)
        guard !gone.isEmpty else { return }
        do {
            try await evaluation.series.append([], ended: gone.values.flatMap { $0 }.sorted(), at: Date())
            try await evaluation.states.delete(Array(gone.keys))
        } catch {
            logger.warning("the series of removed rules could not be ended", metadata: ["error": "\(RuleEvaluation.describe(error))"])
        }
    }

    /// One group, every `interval` at its slot, until cancelled. Slots missed because an
    /// evaluation took longer than the interval are skipped and counted.
    private func loop(_ group: RuleGroup, interval: Duration, externalLabels: [String: String]) async {
        let milliseconds = Int64(interval.components.seconds) * 1000 + interval.components.attoseconds / 1_000_000_000_000_000
        guard milliseconds > 0 else { return }
        var next = Self.slot(after: Date(), interval: milliseconds, offset: Self.offset(group, milliseconds))
        while !Task.isCancelled {
            let wait = next.timeIntervalSinceNow
            if wait > 0 {
                do { try await Task.sleep(for: .milliseconds(Int64(wait * 1000))) } catch { return }
            }
            await evaluation.evaluate(group, interval: interval, externalLabels: externalLabels, at: next)
            let following = Self.slot(after: Date(), interval: milliseconds, offset: Self.offset(group, milliseconds))
            let missed = Int((following.timeIntervalSince(next) * 1000).rounded()) / Int(milliseconds) - 1
            if missed > 0 { await evaluation.board.recordMissed(RuleKey.group(group), missed) }
            next = following
        }
    }

    /// The group's offset within its interval: a stable hash of its file and name.
    static func offset(_ group: RuleGroup, _ interval: Int64) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(group.file);\(group.name)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return Int64(hash % UInt64(interval))
    }

    /// The first slot (`offset` past a multiple of `interval`, in Unix milliseconds) after `time`.
    static func slot(after time: Date, interval: Int64, offset: Int64) -> Date {
        let now = Int64((time.timeIntervalSince1970 * 1000).rounded(.down))
        let base = (now - offset) / interval * interval + offset
        return Date(timeIntervalSince1970: Double(base + interval) / 1000)
    }
}
