import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Shared

/// Everything a running leaf is made of, wired together: state restored from the data dir,
/// discovery feeding the scrape engine, the scrape engine feeding the team state, the routes.
struct LeafServer {
    struct Options {
        var configFile: String?
        var host = "0.0.0.0"
        var port = 7878
        var dataDir = "data/leaf"
        /// How often the state is saved when it changed.
        var saveInterval: Duration = .seconds(1)
        /// `--web.config.file`, loaded: TLS, users and headers; nil serves plain HTTP to anyone.
        var webConfig: WebConfig?
    }

    let options: Options
    let config: LeafConfig
    let logger: Logger

    /// Builds the application. `onServerRunning` receives the bound port (useful with port 0).
    func buildApplication(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
        let file = StateFile(directory: URL(fileURLWithPath: options.dataDir))
        let (snapshot, isNew) = try file.load()
        let state = TeamState(snapshot: snapshot)
        let saveHealth = SaveHealth()
        if isNew {
            logger.info("started a new epoch in an empty data dir", metadata: ["leaf.data_dir": "\(options.dataDir)", "leaf.epoch": "\(snapshot.epoch)"])
            do {
                try file.save(snapshot)
                saveHealth.succeeded(at: Date())
            } catch {
                // Serve anyway: the epoch is saved once the disk takes it.
                saveHealth.failed(at: Date(), error: error.description)
                logger.error("cannot save the leaf state: counting goes on in memory, saving is retried", metadata: ["store.error": "\(error)"])
            }
        } else {
            logger.info("restored counts from the data dir", metadata: ["leaf.data_dir": "\(options.dataDir)", "leaf.epoch": "\(snapshot.epoch)", "leaf.groups": "\(snapshot.groups.count)"])
        }

        let ingest = TeamIngest(state: state)
        let fetcher = HTTPFetcher(userAgent: "canopy-leaf/\(CanopyVersion.current)")
        let scrapes = ScrapeManager(consumer: ingest, fetcher: fetcher, maxConcurrentScrapes: config.global.maxConcurrentScrapes, logger: logger)
        let discovery = DiscoveryManager(httpClient: HTTPClient.shared, logger: logger) { targets, _ in scrapes.sync(targets) }
        let apply: @Sendable (LeafConfig, LeafConfig) throws -> Void = { config, old in
            guard config.team == old.team else {
                throw ConfigError(issues: [
                    ConfigIssue(
                        file: options.configFile ?? "", line: nil, column: nil, path: "global.external_labels.team",
                        message: "the team cannot change on reload (was \(old.team), now \(config.team)): restart the leaf")
                ])
            }
            let builders = try config.services.map { try TargetBuilder(job: $0.job) }
            ingest.configure(config)
            discovery.apply(builders)
        }
        let reloader = ConfigReloader(
            file: options.configFile, initial: config, logger: logger, load: { try LeafConfig.load(file: $0) }, apply: apply)
        try apply(config, config)

        let access = WebAccess(config: options.webConfig, logger: logger)

        let startedAt = Date()
        let name = ProcessInfo.processInfo.hostName
        let identity: @Sendable () -> LeafIdentity = {
            LeafIdentity(name: name, epoch: snapshot.epoch, startedAt: startedAt, externalLabels: reloader.current.externalLabels)
        }
        let views = TeamViews(
            state: state, scrapes: scrapes, discovery: discovery, identity: identity, configuredServices: { reloader.current.services.map(\.name) })

        let router = Router()
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.add(middleware: WebSecurityMiddleware())
        TeamAPI(views: views).addRoutes(to: router)
        let pages = try LeafPages<BasicRequestContext>(views: views)
        pages.addRoutes(to: router)
        StaticAssets.addRoutes(to: router)
        PeriskopAPI(views: views, state: state, targetsPage: { pages.targetsPage($0) }).addRoutes(to: router)
        let metrics = LeafMetrics(saveHealth: saveHealth)
        OperationsRoutes(
            server: "leaf", metrics: { await metrics.render(views: views, team: reloader.current.team) }, reload: { try reloader.reload(with: access) }
        ).addRoutes(to: router)

        let services: [any Service] = [
            PersistenceService(state: state, file: file, interval: options.saveInterval, health: saveHealth, logger: logger),
            fetcher,
            scrapes,
            discovery,
            ReloadOnHangup { try reloader.reload(with: access) },
        ]
        let logger = self.logger
        let config = self.config
        return Application(
            responder: access.responder(PercentDecodingResponder(router.buildResponder())),
            server: access.server,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "canopy-leaf"),
            services: services,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info(
                    "canopy leaf is serving",
                    metadata: [
                        "leaf.api": "\(access.scheme)://\(options.host):\(port)/api/v1/", "leaf.team": "\(config.team)",
                        "leaf.services": "\(config.services.isEmpty ? "none: nothing to scrape" : config.services.map(\.name).joined(separator: ", "))",
                    ])
                await onServerRunning(port)
            },
            logger: logger
        )
    }
}
