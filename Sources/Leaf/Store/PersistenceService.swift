import AsyncAlgorithms
import Foundation
import Logging
import ServiceLifecycle

/// Saves the team state to the data dir shortly after it changes, and once more on shutdown.
struct PersistenceService: Service {
    let state: TeamState
    let file: StateFile
    let interval: Duration
    let logger: Logger

    func run() async throws {
        var saved = await state.changes
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            await state.forgetStaleProcesses(now: Date())
            saved = await saveIfChanged(since: saved)
        }
        _ = await saveIfChanged(since: saved)
    }

    private func saveIfChanged(since saved: Int) async -> Int {
        let (snapshot, changes) = await state.snapshotForSaving()
        guard changes != saved else { return saved }
        do {
            try file.save(snapshot)
            return changes
        } catch {
            logger.error("cannot save leaf state", metadata: ["store.error": "\(error)"])
            return saved
        }
    }
}
