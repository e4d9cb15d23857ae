import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Shared

/// The command line; `LeafMain` runs it. A library, so that the fuzz targets can link the config reader.
public struct CanopyLeaf: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "canopy-leaf",
        abstract: "Discovers a team's services, scrapes their Periskop exception endpoints and serves the team's view.",
        subcommands: [Serve.self, CheckConfig.self],
        defaultSubcommand: Serve.self
    )
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the leaf (the default).")

    @Option(name: .long, help: "YAML config file. Without one the leaf starts with no targets, as team \"local\".")
    var config: String?

    @Option(name: .long, help: "Address to serve on, HOST:PORT.")
    var listen = "0.0.0.0:7878"

    @Option(name: .customLong("data-dir"), help: "Where the leaf keeps its counts across restarts.")
    var dataDir = "data/leaf"

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    @OptionGroup var web: WebConfigOptions

    func run() async throws {
        try ServerLogging.bootstrap(level: logLevel)
        let logger = Logger(label: "canopy-leaf")
        let (host, port) = try ListenAddress.parse(listen)
        let leafConfig: LeafConfig
        if let config {
            do {
                leafConfig = try LeafConfig.load(file: config)
            } catch {
                FileHandle.standardError.write(Data("canopy-leaf: the config has errors:\n\(error)\n".utf8))
                throw ExitCode(1)
            }
        } else {
            leafConfig = .defaults
            logger.info("no --config given: starting with no targets as team \"local\"")
        }
        var options = LeafServer.Options(configFile: config, host: host, port: port, dataDir: dataDir)
        options.webConfig = try web.load(program: "canopy-leaf")
        let app = try LeafServer(options: options, config: leafConfig, logger: logger).buildApplication()
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
            let config = try LeafConfig.load(file: file)
            return "team \(config.team), \(config.services.count) service\(config.services.count == 1 ? "" : "s")"
        }
    }
}
