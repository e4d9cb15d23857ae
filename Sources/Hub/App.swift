import ArgumentParser
import Foundation
import PromQL
import Hummingbird
import Logging
import Shared

/// The command line; `HubMain` runs it. A library, so that the fuzz targets can link the config reader.
public struct CanopyHub: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "canopy-hub",
        abstract: "Scrapes every team's leaf, merges across teams, and keeps history in PostgreSQL.",
        subcommands: [Serve.self, CheckConfig.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the hub (the default).")

    @Option(name: .long, help: "YAML config file. Without one the hub starts with no leaves on a private PostgreSQL.")
    var config: String?

    @Option(name: .long, help: "Address to serve on, HOST:PORT.")
    var listen = "0.0.0.0:7979"

    @Option(name: .customLong("data-dir"), help: "Where the hub keeps its private PostgreSQL (when no database.url is set).")
    var dataDir = "data/hub"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @OptionGroup var web: WebConfigOptions

    @Option(name: .customLong("query.timeout"), help: "Longest a query may run, as Prometheus's flag: 2m, 30s.")
    var queryTimeout = "2m"

    @Option(name: .customLong("query.max-samples"), help: "Most samples one query may hold in memory.")
    var queryMaxSamples = QueryLimits.default.maxSamples

    @Option(name: .customLong("web.external-url"), help: "The URL people reach the hub at, for links in alerts. Default: http(s)://<hostname>:<port>.")
    var externalURL: String?
    @Option(name: .customLong("alertmanager.notification-queue-capacity"), help: "Alerts each Alertmanager's queue holds; when full, the oldest are dropped.")
    var notificationQueueCapacity = 10_000

    func run() async throws {
        try ServerLogging.bootstrap(level: logLevel)
        let logger = Logger(label: "canopy-hub")
        let (host, port) = try ListenAddress.parse(listen)
        let hubConfig: HubConfig
        if let config {
            do {
                hubConfig = try HubConfig.load(file: config)
            } catch {
                FileHandle.standardError.write(Data("canopy-hub: the config has errors:\n\(error)\n".utf8))
                throw ExitCode(1)
            }
        } else {
            var defaults = HubConfig.defaults
            if let url = ProcessInfo.processInfo.environment["CANOPY_DATABASE_URL"], !url.isEmpty { defaults.databaseURL = url }
            hubConfig = defaults
            logger.info("no --config given: starting with no leaves")
        }
        var options = HubServer.Options(configFile: config, host: host, port: port, dataDir: dataDir)
        options.webConfig = try web.load(program: "canopy-hub")
        guard let timeout = try? PromDuration.parse(queryTimeout), timeout.milliseconds > 0 else {
            FileHandle.standardError.write(Data("canopy-hub: --query.timeout \(queryTimeout) is not a duration such as 2m or 30s\n".utf8))
            throw ExitCode(1)
        }
        options.query.timeout = .milliseconds(timeout.milliseconds)
        options.query.limits.maxSamples = queryMaxSamples
        let hostname = host == "0.0.0.0" || host == "::" ? ProcessInfo.processInfo.hostName : host
        let scheme = options.webConfig?.isTLS == true ? "https" : "http"
        options.externalURL = (externalURL ?? "\(scheme)://\(hostname):\(port)").trimmingSuffix("/")
        guard notificationQueueCapacity >= 1 else {
            FileHandle.standardError.write(Data("canopy-hub: --alertmanager.notification-queue-capacity must be at least 1\n".utf8))
            throw ExitCode(1)
        }
        options.notificationQueueCapacity = notificationQueueCapacity
        let app = try await HubServer(options: options, config: hubConfig, logger: logger).buildApplication()
        try await app.runService()
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-config", abstract: "Check a config file, a web config (--web.config.file) or both, and print each error with its line and key.")

    @OptionGroup var web: WebConfigOptions

    @Argument(help: "The config file to check (optional when --web.config.file is given).")
    var file: String?

    func validate() throws {
        if file == nil && web.file == nil { throw ValidationError("give a config file, --web.config.file FILE, or both") }
    }

    func run() throws {
        try web.checkConfig(file) { file in
            let config = try HubConfig.load(file: file)
            let rules = config.rules.groups.reduce(0) { $0 + $1.rules.count }
            return "\(config.leaves.count) leaf job\(config.leaves.count == 1 ? "" : "s"), database: \(config.databaseURL == nil ? "private" : "external"), "
                + "\(rules) rule\(rules == 1 ? "" : "s") in \(config.rules.groups.count) group\(config.rules.groups.count == 1 ? "" : "s"), "
                + "alertmanagers entries: \(config.alerting.alertmanagers.count)"
        }
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var text = self
        while text.hasSuffix(suffix) && text.count > suffix.count { text.removeLast(suffix.count) }
        return text
    }
}
