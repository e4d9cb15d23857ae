import Foundation
import Yams

/// The settings every scrape job shares, leaf services and hub leaves alike: where targets come
/// from, how they are relabelled, and how they are scraped.
public struct ScrapeJobConfig: Sendable, Equatable {
    public var name: String
    /// Path appended to each target's address: Periskop's `scraper.endpoint`.
    public var endpoint: String
    public var interval: Duration
    public var timeout: Duration
    public var scheme: String
    public var tls: TLSSettings?
    public var auth: ScrapeAuth?
    public var bodySizeLimit: Int
    /// Labels added to every target of the job.
    public var labels: Labels
    public var staticConfigs: [StaticConfig] = []
    public var dnsConfigs: [DNSDiscoveryConfig] = []
    public var fileConfigs: [FileDiscoveryConfig] = []
    public var httpConfigs: [HTTPDiscoveryConfig] = []
    public var relabelConfigs: [RelabelConfig] = []

    public var settings: ScrapeSettings {
        ScrapeSettings(interval: interval, timeout: timeout, bodySizeLimit: bodySizeLimit, auth: auth, tls: tls)
    }
}

extension ScrapeJobConfig {
    // In an extension, so that the memberwise initialiser stays.
    /// A job without discovery or relabelling yet (`discoveryConfigs` and `relabelConfig` read them).
    public init(
        name: String, endpoint: String, interval: Duration, timeout: Duration, scheme: String, tls: TLSSettings?, auth: ScrapeAuth?,
        bodySizeLimit: Int, labels: Labels
    ) {
        self.name = name
        self.endpoint = endpoint
        self.interval = interval
        self.timeout = timeout
        self.scheme = scheme
        self.tls = tls
        self.auth = auth
        self.bodySizeLimit = bodySizeLimit
        self.labels = labels
    }
}

/// `global:` settings shared by leaf and hub.
public struct GlobalScrapeConfig: Sendable, Equatable {
    public var scrapeInterval: Duration = .seconds(15)
    public var scrapeTimeout: Duration = .seconds(10)
    public var maxConcurrentScrapes: Int = 32
    public var bodySizeLimit: Int = 10 << 20
    public init() {}
}

/// Discovery mechanisms that Prometheus and the Periskop server know but Canopy does not run.
let unsupportedDiscoveryKeys: Set<String> = [
    "kubernetes_sd_configs", "consul_sd_configs", "ec2_sd_configs", "gce_sd_configs", "azure_sd_configs",
    "openstack_sd_configs", "marathon_sd_configs", "triton_sd_configs", "serverset_sd_configs", "nerve_sd_configs",
    "dockerswarm_sd_configs", "docker_sd_configs", "eureka_sd_configs", "hetzner_sd_configs", "linode_sd_configs",
    "digitalocean_sd_configs", "nomad_sd_configs", "scaleway_sd_configs", "puppetdb_sd_configs", "uyuni_sd_configs",
    "vultr_sd_configs", "ionos_sd_configs", "kuma_sd_configs", "lightsail_sd_configs", "openstack_sd_configs",
]

extension ConfigReader {
    /// Reads `global:`; `extra` reads the keys that only one server has (like `external_labels`).
    public func globalScrapeConfig(_ mapping: ConfigMapping?, defaults: GlobalScrapeConfig = GlobalScrapeConfig()) -> GlobalScrapeConfig {
        var global = defaults
        guard let mapping else { return global }
        if let value = mapping.optional("scrape_interval")?.duration() { global.scrapeInterval = value }
        if let value = mapping.optional("scrape_timeout")?.duration() { global.scrapeTimeout = value }
        if let value = mapping.optional("max_concurrent_scrapes")?.int(in: 1...10_000) { global.maxConcurrentScrapes = value }
        if let value = mapping.optional("body_size_limit")?.byteSize() { global.bodySizeLimit = value }
        if let timeout = mapping.optional("scrape_timeout"), global.scrapeTimeout > global.scrapeInterval {
            issue("scrape_timeout (\(DurationParser.format(global.scrapeTimeout))) is greater than scrape_interval (\(DurationParser.format(global.scrapeInterval)))", at: timeout)
        }
        return global
    }

    /// Reads one job. `keys` of the mapping that are not job settings must be read by the caller
    /// before `mapping.finish()`. Returns nil if the job is unusable (issues are recorded).
    public func scrapeJob(_ mapping: ConfigMapping, global: GlobalScrapeConfig, defaultEndpoint: String?) -> ScrapeJobConfig? {
        let name = mapping.required("name")?.nonEmptyString()
        var endpoint = defaultEndpoint
        var interval = global.scrapeInterval
        if let scraper = mapping.optional("scraper")?.mapping() {
            if let value = scraper.optional("endpoint")?.nonEmptyString() { endpoint = value }
            if let value = scraper.optional("refresh_interval")?.duration() { interval = value }
            scraper.finish()
        }
        if let value = mapping.optional("scrape_interval")?.duration() { interval = value }
        if let value = mapping.optional("metrics_path")?.nonEmptyString() { endpoint = value }
        var timeout = min(global.scrapeTimeout, interval)
        if let value = mapping.optional("scrape_timeout") {
            if let parsed = value.duration() {
                timeout = parsed
                if parsed > interval {
                    issue("scrape_timeout (\(DurationParser.format(parsed))) is greater than the scrape interval (\(DurationParser.format(interval)))", at: value)
                }
            }
        }
        var scheme = "http"
        if let value = mapping.optional("scheme") {
            if let text = value.string() {
                if text == "http" || text == "https" { scheme = text } else { issue("scheme must be http or https, found \"\(text)\"", at: value) }
            }
        }
        let tls = mapping.optional("tls_config").flatMap { tlsSettings($0) }
        let auth = authSettings(mapping)
        var bodySizeLimit = global.bodySizeLimit
        if let value = mapping.optional("body_size_limit")?.byteSize() { bodySizeLimit = value }
        let labels = mapping.optional("labels")?.labels() ?? Labels()

        var job = ScrapeJobConfig(
            name: name ?? "", endpoint: endpoint ?? "/-/exceptions", interval: interval, timeout: timeout, scheme: scheme,
            tls: tls, auth: auth, bodySizeLimit: bodySizeLimit, labels: labels)
        if endpoint == nil {
            if let scraper = mapping.optional("scraper") {
                issue("missing required key endpoint", at: scraper)
            } else {
                issue("missing required key scraper (with endpoint, e.g. /-/exceptions)", at: mapping.value)
            }
        } else if let endpoint, !endpoint.hasPrefix("/") {
            job.endpoint = "/" + endpoint
        }

        discoveryConfigs(mapping, into: &job)
        if let entries = mapping.optional("relabel_configs")?.sequence() {
            job.relabelConfigs = entries.compactMap { relabelConfig($0) }
        }
        return name == nil ? nil : job
    }

    /// Reads a job's discovery mechanisms (`static_configs`, `dns_sd_configs`, `file_sd_configs`,
    /// `http_sd_configs`) into `job`, and refuses those of Prometheus that Canopy does not run.
    public func discoveryConfigs(_ mapping: ConfigMapping, into job: inout ScrapeJobConfig) {
        for entry in mapping.optional("static_configs")?.sequence() ?? [] {
            guard let config = entry.mapping() else { continue }
            let targets = config.required("targets")?.stringList() ?? []
            let labels = config.optional("labels")?.labels() ?? Labels()
            config.finish()
            job.staticConfigs.append(StaticConfig(targets: targets, labels: labels))
        }
        for entry in mapping.optional("dns_sd_configs")?.sequence() ?? [] {
            if let config = dnsConfig(entry) { job.dnsConfigs.append(config) }
        }
        for entry in mapping.optional("file_sd_configs")?.sequence() ?? [] {
            guard let config = entry.mapping() else { continue }
            let files = (config.required("files")?.stringList() ?? []).map(resolvePath)
            for (index, file) in files.enumerated() where file.split(separator: "/").dropLast().contains(where: { $0.contains("*") || $0.contains("?") }) {
                issue("files[\(index)]: a glob is only allowed in the last path segment: \(file)", at: entry)
            }
            let refresh = config.optional("refresh_interval")?.duration() ?? .seconds(300)
            config.finish()
            job.fileConfigs.append(FileDiscoveryConfig(files: files, refreshInterval: refresh))
        }
        for entry in mapping.optional("http_sd_configs")?.sequence() ?? [] {
            guard let config = entry.mapping() else { continue }
            let url = config.required("url")?.nonEmptyString()
            if let url, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
                issue("url must start with http:// or https://", at: config.optional("url")!)
            }
            let refresh = config.optional("refresh_interval")?.duration() ?? .seconds(60)
            config.finish()
            if let url { job.httpConfigs.append(HTTPDiscoveryConfig(url: url, refreshInterval: refresh)) }
        }
        for key in mapping.keys where unsupportedDiscoveryKeys.contains(key) {
            mapping.ignore(key)
            issue("\(key) is not supported (use static_configs, dns_sd_configs, file_sd_configs or http_sd_configs)", path: mapping.path(of: key), mark: mapping.keyMark(key))
        }
    }

    func dnsConfig(_ entry: ConfigValue) -> DNSDiscoveryConfig? {
        guard let config = entry.mapping() else { return nil }
        defer { config.finish() }
        let names = config.required("names")?.stringList() ?? []
        var type = DNSDiscoveryConfig.RecordType.srv
        if let value = config.optional("type"), let text = value.string() {
            if let parsed = DNSDiscoveryConfig.RecordType(rawValue: text.uppercased()) {
                type = parsed
            } else {
                issue("type must be SRV, A or AAAA, found \"\(text)\"", at: value)
            }
        }
        let port = config.optional("port")?.int(in: 1...65535)
        if type != .srv && port == nil && !config.has("port") {
            issue("port is required for \(type.rawValue) records", at: entry)
        }
        let refresh = config.optional("refresh_interval")?.duration() ?? .seconds(30)
        let nameservers = config.optional("nameservers")?.stringList() ?? []
        return DNSDiscoveryConfig(names: names, type: type, port: port, refreshInterval: refresh, nameservers: nameservers)
    }

    public func relabelConfig(_ entry: ConfigValue) -> RelabelConfig? {
        guard let mapping = entry.mapping() else { return nil }
        defer { mapping.finish() }
        var config = RelabelConfig()
        if let value = mapping.optional("source_labels")?.stringList() { config.sourceLabels = value }
        if let value = mapping.optional("separator")?.string() { config.separator = value }
        if let value = mapping.optional("regex")?.string() { config.regex = value }
        if let value = mapping.optional("modulus")?.int(in: 1...Int.max) { config.modulus = UInt64(value) }
        if let value = mapping.optional("target_label")?.string() { config.targetLabel = value }
        if let value = mapping.optional("replacement")?.string() { config.replacement = value }
        if let value = mapping.optional("action"), let text = value.string() {
            if let action = RelabelConfig.Action(rawValue: text.lowercased()) {
                config.action = action
            } else {
                issue("unknown relabel action \"\(text)\" (one of \(RelabelConfig.Action.allCases.map(\.rawValue).joined(separator: ", ")))", at: value)
                return nil
            }
        }
        return config
    }

    public func tlsSettings(_ value: ConfigValue) -> TLSSettings? {
        guard let mapping = value.mapping() else { return nil }
        defer { mapping.finish() }
        var settings = TLSSettings()
        settings.caFile = mapping.optional("ca_file")?.nonEmptyString().map(resolvePath)
        settings.certFile = mapping.optional("cert_file")?.nonEmptyString().map(resolvePath)
        settings.keyFile = mapping.optional("key_file")?.nonEmptyString().map(resolvePath)
        settings.serverName = mapping.optional("server_name")?.nonEmptyString()
        settings.insecureSkipVerify = mapping.optional("insecure_skip_verify")?.bool() ?? false
        if (settings.certFile == nil) != (settings.keyFile == nil) {
            issue("cert_file and key_file must be given together", at: value)
        }
        for (key, path) in [("ca_file", settings.caFile), ("cert_file", settings.certFile), ("key_file", settings.keyFile)] {
            if let path, !FileManager.default.isReadableFile(atPath: path) {
                issue("\(key): cannot read \(path)", at: mapping.optional(key)!)
            }
        }
        return settings
    }

    /// `basic_auth` or `authorization`, as Prometheus has them.
    public func authSettings(_ mapping: ConfigMapping) -> ScrapeAuth? {
        var auth: ScrapeAuth?
        if let value = mapping.optional("basic_auth"), let basic = value.mapping() {
            let username = basic.required("username")?.string() ?? ""
            let password = secret(basic, inline: "password", file: "password_file", at: value)
            basic.finish()
            auth = .basic(username: username, password: password ?? .inline(""))
        }
        if let value = mapping.optional("authorization"), let authorization = value.mapping() {
            let type = authorization.optional("type")?.nonEmptyString() ?? "Bearer"
            let credentials = secret(authorization, inline: "credentials", file: "credentials_file", at: value)
            authorization.finish()
            if auth != nil {
                issue("basic_auth and authorization are mutually exclusive", at: value)
            } else if let credentials {
                auth = .authorization(type: type, credentials: credentials)
            } else {
                issue("authorization needs credentials or credentials_file", at: value)
            }
        }
        return auth
    }

    private func secret(_ mapping: ConfigMapping, inline: String, file: String, at value: ConfigValue) -> Secret? {
        let text = mapping.optional(inline)?.string()
        let path = mapping.optional(file)?.nonEmptyString().map(resolvePath)
        if text != nil && path != nil {
            issue("\(inline) and \(file) are mutually exclusive", at: value)
        }
        if let path {
            if !FileManager.default.isReadableFile(atPath: path) { issue("\(file): cannot read \(path)", at: mapping.optional(file)!) }
            return .file(path)
        }
        return text.map(Secret.inline)
    }
}
