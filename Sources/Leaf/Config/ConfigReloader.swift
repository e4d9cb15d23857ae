import Logging
import ServiceLifecycle
import Shared
import Synchronization
import UnixSignals

/// Holds the config in force and swaps in a new one on `POST /-/reload` or SIGHUP, if it is
/// valid; a bad config is refused with its errors and the running one stays.
final class ConfigReloader: Sendable {
    let file: String?
    private let config: Mutex<LeafConfig>
    private let apply: @Sendable (LeafConfig) throws -> Void
    private let logger: Logger

    init(file: String?, initial: LeafConfig, logger: Logger, apply: @escaping @Sendable (LeafConfig) throws -> Void) {
        self.file = file
        self.config = Mutex(initial)
        self.logger = logger
        self.apply = apply
    }

    var current: LeafConfig { config.withLock { $0 } }

    func reload() throws {
        guard let file else {
            logger.info("reload requested, but the leaf runs without a config file")
            return
        }
        do {
            let new = try LeafConfig.load(file: file)
            guard new.team == current.team else {
                throw ConfigError(issues: [ConfigIssue(file: file, line: nil, column: nil, path: "global.external_labels.team", message: "the team cannot change on reload (was \(current.team), now \(new.team)): restart the leaf")])
            }
            try apply(new)
            config.withLock { $0 = new }
            logger.info("config reloaded", metadata: ["config.file": "\(file)", "config.services": "\(new.services.count)"])
        } catch {
            logger.error("config reload failed; keeping the previous config", metadata: ["config.file": "\(file)", "config.error": "\(error)"])
            throw error
        }
    }
}

/// Reloads the config on SIGHUP.
struct ReloadOnHangup: Service {
    let reloader: ConfigReloader

    func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            try? reloader.reload()
        }
    }
}
