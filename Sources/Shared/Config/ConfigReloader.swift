import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// Holds the config in force and swaps in a new one on `POST /-/reload` or SIGHUP, if it loads
/// and applies; a bad config is refused with its errors and the running one stays.
public final class ConfigReloader<Config: Sendable>: Sendable {
    public let file: String?
    private let config: Mutex<Config>
    private let load: @Sendable (String) throws -> Config
    private let apply: @Sendable (_ new: Config, _ old: Config) throws -> Void
    private let logger: Logger

    /// `apply` starts using a new config, or throws (with the old one untouched) if it cannot.
    public init(
        file: String?, initial: Config, logger: Logger, load: @escaping @Sendable (String) throws -> Config,
        apply: @escaping @Sendable (_ new: Config, _ old: Config) throws -> Void
    ) {
        self.file = file
        self.config = Mutex(initial)
        self.logger = logger
        self.load = load
        self.apply = apply
    }

    public var current: Config { config.withLock { $0 } }

    public func reload() throws {
        guard let file else {
            logger.info("reload requested, but running without a config file")
            return
        }
        do {
            let new = try load(file)
            try apply(new, current)
            config.withLock { $0 = new }
            logger.info("config reloaded", metadata: ["config.file": "\(file)"])
        } catch {
            logger.error("config reload failed; keeping the previous config", metadata: ["config.file": "\(file)", "config.error": "\(error)"])
            throw error
        }
    }
}

extension ConfigReloader {
    /// Reloads the config, then the web config: each is tried whatever became of the other, and
    /// every refusal is reported (each keeps its previous version).
    public func reload(with web: WebAccess) throws {
        var errors: [any Error] = []
        do { try reload() } catch { errors.append(error) }
        do { try web.reload() } catch { errors.append(error) }
        guard errors.isEmpty else { throw errors.count == 1 ? errors[0] : ReloadFailure(errors: errors) }
    }
}

/// More than one file refused on one reload.
public struct ReloadFailure: Error, CustomStringConvertible {
    public let errors: [any Error]
    public var description: String { errors.map { "\($0)" }.joined(separator: "\n") }
}

/// Reloads on SIGHUP.
public struct ReloadOnHangup: Service {
    let reload: @Sendable () throws -> Void

    public init(reload: @escaping @Sendable () throws -> Void) { self.reload = reload }

    public init<Config>(reloader: ConfigReloader<Config>) { self.reload = { try reloader.reload() } }

    public func run() async throws {
        for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
            try? reload()
        }
    }
}
