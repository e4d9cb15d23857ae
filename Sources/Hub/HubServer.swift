import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ServiceLifecycle
import Shared
import Synchronization

/// Everything a running hub is made of: the database (its own private PostgreSQL or the one
/// configured), migrations, leaf discovery feeding the scrape engine, the ingest, the routes.
struct HubServer {
    struct Options {
        var configFile: String?
        var host = "0.0.0.0"
        var port = 7979
        var dataDir = "data/hub"
        /// How often partitions are made and history past retention dropped.
        var maintenanceInterval: Duration = .seconds(3600)
        /// How often the counts behind sorting by a standard window are refreshed (at least).
        var windowRefreshInterval: Duration = .seconds(10)
        var query = QuerySettings()
        /// Where people reach the hub: links in alerts (`generatorURL`) and `$externalURL` start here.
        var externalURL = "http://localhost:7979"
        /// Alerts each Alertmanager's queue holds (`--alertmanager.notification-queue-capacity`).
        var notificationQueueCapacity = 10_000
        /// `--web.config.file`, loaded: TLS, users and headers; nil serves plain HTTP to anyone.
        var webConfig: WebConfig?
    }

    let options: Options
    let config: HubConfig
    let logger: Logger
    let metrics = HubMetrics()
    /// Sends alerts to `alerting.alertmanagers`; nil when the config names none.
    let notifier: Notifier?

    init(options: Options, config: HubConfig, logger: Logger) {
        self.options = options
        self.config = config
        self.logger = logger
        notifier = config.alerting.alertmanagers.isEmpty
            ? nil : Notifier(capacity: options.notificationQueueCapacity, registry: metrics.registry, logger: logger)
    }

    /// Where the rule manager sends its alerts: nil when there is no Alertmanager to send to.
    var alertSender: (any AlertSender)? { notifier }

    func buildApplication(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws -> some ApplicationProtocol {
        var services: [any Service] = []
        let endpoint: Database.Endpoint
        let databaseDescription: String
        if let url = config.databaseURL, let parsed = DatabaseURL(url) {
            endpoint = try Self.endpoint(parsed)
            databaseDescription = "postgres://\(endpoint.address)/\(parsed.database)"
        } else {
            // JIT compilation costs more than it saves on the hub's short queries (measured: most
            // of a 350 ms services query), so the private cluster runs without it.
            let postgres = try await PrivatePostgres.start(directory: options.dataDir + "/postgres", settings: ["jit": "off"], logger: logger)
            services.append(PrivatePostgresService(postgres: postgres, metrics: self.metrics, logger: logger))
            endpoint = Database.Endpoint(client: postgres.clientConfiguration(), probe: postgres.connectionConfiguration(), address: postgres.socketPath)
            databaseDescription = "private PostgreSQL in \(postgres.directory)"
        }
        do {
            // A database that is not there fails the start with its reason rather than a pool waiting forever.
            if let failure = await Database.probe(endpoint, logger: logger) { throw DatabaseUnavailable(reason: failure) }
            try await Self.prepareDatabase(endpoint.client, logger: logger)
        } catch {
            for service in services { if let postgres = service as? PrivatePostgresService { await postgres.postgres.stop() } }
            throw error
        }
        let client = Database(endpoint: endpoint, maximumConnections: config.maxConnections, metrics: self.metrics, logger: logger)

        let metrics = self.metrics
        let ingest = HubIngest(client: client, samplesPerGroup: config.samplesPerGroup, metrics: metrics, logger: logger)
        let fetcher = HTTPFetcher(userAgent: "canopy-hub/\(CanopyVersion.current)")
        let scrapes = ScrapeManager(consumer: ingest, fetcher: fetcher, maxConcurrentScrapes: config.global.maxConcurrentScrapes, logger: logger)
        let discovery = DiscoveryManager(httpClient: HTTPClient.shared, logger: logger) { targets, _ in scrapes.sync(targets) }
        discovery.apply(try config.leaves.map { try TargetBuilder(job: $0, jobLabel: "leaf") })
        try notifier?.apply(config.alerting)

        let queries = HubQueries(client: client, logger: logger)
        let status = GroupStatusStore(client: client, logger: logger)
        let router = Router()
        router.add(middleware: LogRequestsMiddleware(.debug))
        router.add(middleware: DatabaseErrorMiddleware())
        router.add(middleware: WebSecurityMiddleware())
        let leafHealth = LeafHealth(scrapes: scrapes, queries: queries)
        let seriesSource = HubSeriesSource(client: client, logger: logger, maxSeries: options.query.limits.maxSeriesPerSelector) { try await leafHealth.reports() }
        // One runner for the query API and the graph page: the same limits and timeout for both.
        let queryRunner = QueryRunner(source: seriesSource, settings: options.query)
        let ruleBoard = RuleBoard()
        // Tries for the lead twice per evaluation interval (at most every 5 s), so that a dead
        // leader's work moves within two intervals.
        let evaluationInterval = Mutex(config.rules.evaluationInterval)
        let leadership = Leadership(
            configuration: endpoint.probe, identity: options.externalURL,
            interval: { max(.milliseconds(250), min(.seconds(5), evaluationInterval.withLock { $0 } / 2)) }, logger: logger)
        let rules = RuleManager(
            settings: config.rules,
            evaluation: RuleEvaluation(
                runner: queryRunner, series: seriesSource.ruleSeries, states: AlertStateStore(client: client, logger: logger), board: ruleBoard,
                sender: notifier, externalURL: options.externalURL, logger: logger),
            leadership: leadership, logger: logger)
        let notifier = self.notifier
        let reloader = ConfigReloader(
            file: options.configFile, initial: config, logger: logger, load: { try HubConfig.load(file: $0) },
            apply: { new, old in
                guard new.databaseURL == old.databaseURL else {
                    throw ConfigError(issues: [ConfigIssue(file: options.configFile ?? "", line: nil, column: nil, path: "database.url", message: "the database cannot change on reload: restart the hub")])
                }
                if notifier == nil && !new.alerting.alertmanagers.isEmpty {
                    throw ConfigError(issues: [ConfigIssue(file: options.configFile ?? "", line: nil, column: nil, path: "alerting.alertmanagers", message: "the hub started without Alertmanagers: restart it to send alerts")])
                }
                try notifier?.apply(new.alerting)
                discovery.apply(try new.leaves.map { try TargetBuilder(job: $0, jobLabel: "leaf") })
                rules.apply(new.rules)
                evaluationInterval.withLock { $0 = new.rules.evaluationInterval }
            })
        let writeGuard = WriteGuard(token: { reloader.current.apiToken })
        // The API token opens every page too, so that a script needs one credential.
        let access = WebAccess(config: options.webConfig, logger: logger, token: { reloader.current.apiToken })
        let silences = Silences(alertmanagers: { notifier?.alertmanagers() })
        HubAPI(queries: queries, status: status, leaves: leafHealth, writeGuard: writeGuard).addRoutes(to: router)
        HubPages(
            queries: queries, leaves: leafHealth, templates: try WebTemplates(pages: HubPageTemplates.all), fetcher: fetcher,
            runner: queryRunner, series: seriesSource, rules: { reloader.current.rules }, board: ruleBoard, silences: silences
        ).addRoutes(to: router)
        StaticAssets.addRoutes(to: router)
        PrometheusAPI(source: seriesSource).addRoutes(to: router)
        PrometheusQueryRoutes(runner: queryRunner).addRoutes(to: router)
        RulesAPI(rules: { reloader.current.rules }, board: ruleBoard).addRoutes(to: router)
        HubPeriskopAPI(queries: queries, status: status, scrapes: scrapes, writeGuard: writeGuard).addRoutes(to: router)
        SilenceRoutes(silences: silences, writeGuard: writeGuard).addRoutes(to: router)
        OperationsRoutes(
            server: "hub",
            metrics: {
                let connections = await queries.databaseConnections()
                return metrics.render(leaves: scrapes.targets, health: scrapes.allHealth, databaseConnections: connections)
                    + Array(await ruleBoard.exposition().utf8) + Array(leadership.exposition().utf8)
            },
            ready: { context in try await client.check(logger: context.logger) },
            role: { leadership.role },
            reload: { try reloader.reload(with: access) }
        ).addRoutes(to: router)

        services += [
            client,
            leadership,
            Retention(client: client, retention: config.retention, logger: logger, interval: options.maintenanceInterval, leads: { leadership.isLeader }),
            WindowRefresh(client: client, logger: logger, interval: options.windowRefreshInterval, leads: { leadership.isLeader }),
            fetcher,
            scrapes,
            discovery,
            ReloadOnHangup { try reloader.reload(with: access) },
            rules,
        ]
        if let notifier { services.append(notifier) }
        let logger = self.logger
        let leaves = config.leaves.map(\.name)
        return Application(
            responder: access.responder(PercentDecodingResponder(router.buildResponder())),
            server: access.server,
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "canopy-hub"),
            services: services,
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info(
                    "canopy hub is serving",
                    metadata: [
                        "hub.api": "\(access.scheme)://\(options.host):\(port)/api/v1/", "hub.database": "\(databaseDescription)",
                        "hub.leaves": "\(leaves.isEmpty ? "none: nothing to scrape" : leaves.joined(separator: ", "))",
                    ])
                await onServerRunning(port)
            },
            logger: logger
        )
    }

    /// Applies the migrations and makes the history partitions, before anything else uses the database.
    static func prepareDatabase(_ configuration: PostgresClient.Configuration, logger: Logger) async throws {
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let applied = try await MigrationRunner.migrate(client, Schema.migrations, logger: logger)
            if !applied.isEmpty { logger.info("database schema migrated", metadata: ["store.migrations": "\(applied)"]) }
            let fingerprinted = try await FingerprintBackfill.run(client, logger: logger)
            if fingerprinted > 0 { logger.info("bug fingerprints computed", metadata: ["store.groups": "\(fingerprinted)"]) }
            try await Retention.ensurePartitions(client: client, around: Date(), logger: logger)
        }
    }

    /// The pool's configuration and the probes' for a `database.url`.
    static func endpoint(_ url: DatabaseURL) throws -> Database.Endpoint {
        if let directory = url.socketDirectory {
            let socket = "\(directory)/.s.PGSQL.\(url.port)"
            return Database.Endpoint(
                client: PostgresClient.Configuration(unixSocketPath: socket, username: url.username, password: url.password, database: url.database),
                probe: PostgresConnection.Configuration(unixSocketPath: socket, username: url.username, password: url.password, database: url.database),
                address: socket)
        }
        let tls: (client: PostgresClient.Configuration.TLS, probe: PostgresConnection.Configuration.TLS)
        var unverified = TLSConfiguration.makeClientConfiguration()
        unverified.certificateVerification = .none
        switch url.sslMode {
        case "disable": tls = (.disable, .disable)
        case "require": tls = (.require(unverified), .require(try NIOSSLContext(configuration: unverified)))
        case "verify-full": tls = (.require(.makeClientConfiguration()), .require(try NIOSSLContext(configuration: .makeClientConfiguration())))
        default: tls = (.prefer(unverified), .prefer(try NIOSSLContext(configuration: unverified)))
        }
        return Database.Endpoint(
            client: PostgresClient.Configuration(
                host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: tls.client),
            probe: PostgresConnection.Configuration(
                host: url.host, port: url.port, username: url.username, password: url.password, database: url.database, tls: tls.probe),
            address: "\(url.host):\(url.port)")
    }
}
