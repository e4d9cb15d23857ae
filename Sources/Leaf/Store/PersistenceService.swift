import AsyncAlgorithms
import Foundation
import Logging
import ServiceLifecycle

/// Saves the team state to the data dir shortly after it changes, and once more on shutdown.
/// A save that fails (a full or read-only disk) is tried again on the next tick: scraping and
/// serving go on from memory meanwhile, and the failure is logged and counted in `health`.
struct PersistenceService: Service {
    let state: TeamState
    let file: StateFile
    let interval: Duration
    let health: SaveHealth
    let logger: Logger
    /// While saves keep failing, the error is logged again this often (not on every tick).
    var repeatLogInterval: TimeInterval = 60

    func run() async throws {
        var saved = await state.changes
        var encoder = StateEncoder()
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            await state.forgetStaleProcesses(now: Date())
            saved = await saveIfChanged(since: saved, encoder: &encoder)
        }
        _ = await saveIfChanged(since: saved, encoder: &encoder)
    }

    private func saveIfChanged(since saved: Int, encoder: inout StateEncoder) async -> Int {
        let (snapshot, changes) = await state.snapshotForSaving()
        guard changes != saved else { return saved }
        let now = Date()
        do {
            try file.save(snapshot, with: &encoder)
            if let since = health.succeeded(at: now) {
                logger.notice("saving the leaf state works again", metadata: ["store.failing_for": "\(Int(now.timeIntervalSince(since)))s"])
            }
            return changes
        } catch {
            switch health.failed(at: now, error: error.description, repeatEvery: repeatLogInterval) {
            case .began:
                logger.error("cannot save the leaf state: counting goes on in memory, saving is retried", metadata: ["store.error": "\(error)"])
            case .persists(let since):
                logger.error("still cannot save the leaf state", metadata: ["store.error": "\(error)", "store.failing_for": "\(Int(now.timeIntervalSince(since)))s"])
            case .quiet: break
            }
            return saved
        }
    }
}
