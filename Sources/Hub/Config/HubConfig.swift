import Foundation
import Rules
import Shared

/// The hub's configuration: the leaves to scrape (any discovery mechanism a leaf has), where
/// the database is, how long history is kept, and the token that guards write actions.
struct HubConfig: Sendable, Equatable {
    var global = GlobalScrapeConfig()
    var leaves: [ScrapeJobConfig] = []
    /// `postgres://user:password@host:port/database?sslmode=...`; nil runs a private PostgreSQL.
    var databaseURL: String?
    var maxConnections = 10
    var retention: Duration = .seconds(30 * 86400)
    var samplesPerGroup = 20
    var apiToken: Secret?
    var rules = RuleSettings()
    var alerting = AlertingConfig()

    static let defaultEndpoint = "/api/v1/federate"

    /// What a hub runs with when given no config file: no leaves, a private database.
    static var defaults: HubConfig {
        var config = HubConfig()
        config.global.bodySizeLimit = 256 << 20
        return config
    }
}

extension HubConfig {
    static func load(file: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> HubConfig {
return try parse(try ConfigReader.text(of: file), file: file, environment: environment)
    }

    static func parse(_ text: String, file: String, environment: [String: String] = [:]) throws(ConfigError) -> HubConfig {
        let reader = ConfigReader(file: file)
        var config = HubConfig.defaults
        if let root = reader.root(of: text), let top = root.mapping() {
            let global = top.optional("global")?.mapping()
            var defaults = GlobalScrapeConfig()
            defaults.bodySizeLimit = config.global.bodySizeLimit
            config.global = reader.globalScrapeConfig(global, defaults: defaults)
            if let value = global?.optional("evaluation_interval")?.duration() { config.rules.evaluationInterval = value }
            if let labels = global?.optional("external_labels")?.labels() { config.rules.externalLabels = labels.values }
            global?.finish()
            if let database = top.optional("database")?.mapping() {
                if let url = database.optional("url") {
                    if let text = url.nonEmptyString() {
                        if DatabaseURL(text) == nil {
                            reader.issue("not a PostgreSQL URL (postgres://user:password@host:5432/database)", at: url)
                        }
                        config.databaseURL = text
                    }
                }
                if let value = database.optional("max_connections")?.int(in: 1...1000) { config.maxConnections = value }
                database.finish()
            }
            if let storage = top.optional("storage")?.mapping() {
                if let value = storage.optional("retention")?.duration() {
                    config.retention = value
                    if value < .seconds(3600) { reader.issue("retention must be at least 1h", at: storage.optional("retention")!) }
                }
                if let value = storage.optional("samples_per_group")?.int(in: 1...1000) { config.samplesPerGroup = value }
                storage.finish()
            }
            if let api = top.optional("api")?.mapping() {
                let token = api.optional("token")?.nonEmptyString()
                let file = api.optional("token_file")?.nonEmptyString().map(reader.resolvePath)
                if token != nil && file != nil { reader.issue("token and token_file are mutually exclusive", at: api.value) }
                if let file, !FileManager.default.isReadableFile(atPath: file) {
                    reader.issue("token_file: cannot read \(file)", at: api.optional("token_file")!)
                }
                config.apiToken = file.map(Secret.file) ?? token.map(Secret.inline)
                api.finish()
            }
            var names: Set<String> = []
            for entry in top.optional("leaves")?.sequence() ?? [] {
                guard let mapping = entry.mapping() else { continue }
                let job = reader.scrapeJob(mapping, global: config.global, defaultEndpoint: defaultEndpoint)
                mapping.finish()
                guard let job else { continue }
                if !names.insert(job.name).inserted {
                    reader.issue("duplicate leaves name \"\(job.name)\"", at: mapping.optional("name") ?? entry)
                }
                do {
                    _ = try TargetBuilder(job: job, jobLabel: "leaf")
                } catch {
                    let entries = entry.mapping()?.optional("relabel_configs")?.sequence() ?? []
                    reader.issue(error.reason, at: error.index < entries.count ? entries[error.index] : entry)
                }
                config.leaves.append(job)
            }
            var ruleIssues: [ConfigIssue] = []
            if let patterns = top.optional("rule_files")?.stringList() {
                config.rules.files = patterns
                for pattern in patterns {
                    let paths = RuleFile.paths(matching: reader.resolvePath(pattern))
                    if paths.isEmpty && !RuleFile.isPattern(pattern) {
                        reader.issue("\(pattern): no such rule file", at: top.optional("rule_files")!)
                    }
                    for path in paths {
                        do { config.rules.groups += try RuleFile.load(path).groups } catch { ruleIssues += error.issues }
                    }
                }
            }
            if let alerting = top.optional("alerting") { config.alerting = reader.alertingConfig(alerting) }
            top.finish()
            try Self.finish(reader, with: ruleIssues)
        }
        try reader.finish()
        if let url = environment["CANOPY_DATABASE_URL"], !url.isEmpty, config.databaseURL == nil {
            guard DatabaseURL(url) != nil else {
                throw ConfigError(issues: [ConfigIssue(file: "CANOPY_DATABASE_URL", line: nil, column: nil, path: "", message: "not a PostgreSQL URL")])
            }
            config.databaseURL = url
        }
        return config
    }
}

extension HubConfig {
    /// The config's own problems and its rule files', together.
    private static func finish(_ reader: ConfigReader, with ruleIssues: [ConfigIssue]) throws(ConfigError) {
        do {
            try reader.finish()
        } catch {
            throw ConfigError(issues: error.issues + ruleIssues)
        }
        if !ruleIssues.isEmpty { throw ConfigError(issues: ruleIssues) }
    }
}

/// The rules the hub evaluates: `rule_files` (globs, relative to the config file), their groups
/// as loaded, `global.evaluation_interval` and `global.external_labels` (for templates and the
/// alerts sent).
struct RuleSettings: Sendable, Equatable {
    var files: [String] = []
    var groups: [RuleGroup] = []
    var evaluationInterval: Duration = .seconds(60)
    var externalLabels: [String: String] = [:]
}

/// A `postgres://` URL, taken apart: `postgres://user:password@host:5432/database?sslmode=require`,
/// or over a Unix socket `postgres://user@/database?host=/run/postgresql`.
struct DatabaseURL: Sendable, Equatable {
    var host: String
    var port: Int
    var username: String
    var password: String?
    var database: String
    /// `sslmode`: disable, prefer or require (verify-full verifies the server's certificate).
    var sslMode: String

    /// A directory holding the server's Unix socket (`?host=/run/postgresql`, as libpq takes it).
    var socketDirectory: String?

    init?(_ text: String) {
        guard let components = URLComponents(string: text), ["postgres", "postgresql"].contains(components.scheme ?? "") else { return nil }
        let socket = components.queryItems?.first { $0.name == "host" }?.value
        if let socket, socket.hasPrefix("/") {
            self.socketDirectory = socket
            self.host = components.host ?? ""
        } else {
            guard let host = components.host, !host.isEmpty else { return nil }
            self.host = host
        }
        self.port = components.port ?? components.queryItems?.first { $0.name == "port" }?.value.flatMap(Int.init) ?? 5432
        self.username = components.user ?? "postgres"
        self.password = components.password
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        self.database = path.isEmpty ? self.username : path
        self.sslMode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "prefer"
        guard ["disable", "prefer", "require", "verify-full"].contains(sslMode) else { return nil }
    }
}
