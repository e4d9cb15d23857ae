import ArgumentParser
import Logging

/// Both servers log to standard error at the level `--log-level` names.
public enum ServerLogging {
    public static func bootstrap(level name: String) throws {
        guard let level = Logger.Level(rawValue: name) else {
            throw ValidationError("unknown log level \(name): one of trace, debug, info, notice, warning, error, critical")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
