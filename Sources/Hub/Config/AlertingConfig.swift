import Foundation
import Shared

/// `alerting:` in the hub config, in Prometheus's shape: where alerts go and how their labels
/// are rewritten on the way.
struct AlertingConfig: Sendable, Equatable {
    /// Applied to every alert's labels before it is queued; an alert they drop is not sent.
    var alertRelabelConfigs: [RelabelConfig] = []
    var alertmanagers: [AlertmanagerConfig] = []
}

/// One `alertmanagers` entry: a set of Alertmanagers found the same way and reached the same way.
struct AlertmanagerConfig: Sendable, Equatable {
    /// Discovery, relabelling of the discovered targets, scheme, TLS, credentials and the timeout,
    /// as a scrape job has them; its endpoint is the alerts path (`path_prefix` + `/api/v2/alerts`).
    var job: ScrapeJobConfig
    /// Applied, after the global ones, to the alerts sent to this set only (as in Prometheus 3).
    var alertRelabelConfigs: [RelabelConfig] = []

    static let alertsPath = "/api/v2/alerts"
    /// The discovered label that holds the alerts path, as Prometheus names it.
    static let pathLabel = "__alerts_path__"
    static let defaultTimeout: Duration = .seconds(10)
    /// How much of an answer is read: the list of a busy Alertmanager's silences fits.
    static let bodySizeLimit = 16 << 20

    /// `path_prefix` joined to the API path as Go's `path.Join("/", prefix, "/api/v2/alerts")`.
    static func alertsPath(prefix: String) -> String {
        let parts = prefix.split(separator: "/").map(String.init)
        return "/" + (parts + ["api", "v2", "alerts"]).joined(separator: "/")
    }
}

extension ConfigReader {
    /// Reads `alerting:`; every problem is recorded with its line and key.
    func alertingConfig(_ value: ConfigValue) -> AlertingConfig {
        var config = AlertingConfig()
        guard let mapping = value.mapping() else { return config }
        defer { mapping.finish() }
        if let entries = mapping.optional("alert_relabel_configs")?.sequence() {
            config.alertRelabelConfigs = alertRelabelConfigs(entries)
        }
        for (index, entry) in (mapping.optional("alertmanagers")?.sequence() ?? []).enumerated() {
            if let alertmanager = alertmanagerConfig(entry, index: index) { config.alertmanagers.append(alertmanager) }
        }
        return config
    }

    /// Relabel configs whose regular expressions are checked now, each error at its own entry.
    private func alertRelabelConfigs(_ entries: [ConfigValue]) -> [RelabelConfig] {
        let configs = entries.compactMap { relabelConfig($0) }
        do {
            _ = try Relabeler(configs)
        } catch {
            issue(error.reason, at: error.index < entries.count ? entries[error.index] : entries[0])
        }
        return configs
    }

    private func alertmanagerConfig(_ entry: ConfigValue, index: Int) -> AlertmanagerConfig? {
        guard let mapping = entry.mapping() else { return nil }
        defer { mapping.finish() }
        var scheme = "http"
        if let value = mapping.optional("scheme"), let text = value.string() {
            if text == "http" || text == "https" { scheme = text } else { issue("scheme must be http or https, found \"\(text)\"", at: value) }
        }
        let prefix = mapping.optional("path_prefix")?.string() ?? ""
        let timeout = mapping.optional("timeout")?.duration() ?? AlertmanagerConfig.defaultTimeout
        if let value = mapping.optional("api_version"), let text = value.string() {
            switch text {
            case "v2": break
            case "v1": issue("api_version v1 is not supported: Alertmanager removed its v1 API in 0.27; use v2", at: value)
            default: issue("api_version must be v2, found \"\(text)\"", at: value)
            }
        }
        let tls = mapping.optional("tls_config").flatMap { tlsSettings($0) }
        let auth = authSettings(mapping)
        for key in ["oauth2", "sigv4", "proxy_url", "proxy_from_environment", "proxy_connect_header", "no_proxy"] where mapping.has(key) {
            mapping.ignore(key)
            issue("\(key) is not supported by Canopy", path: mapping.path(of: key), mark: mapping.keyMark(key))
        }
        // An interval is part of every scrape job; nothing here runs on one.
        var job = ScrapeJobConfig(
            name: "alertmanagers[\(index)]", endpoint: AlertmanagerConfig.alertsPath(prefix: prefix), interval: timeout, timeout: timeout,
            scheme: scheme, tls: tls, auth: auth, bodySizeLimit: AlertmanagerConfig.bodySizeLimit, labels: Labels())
        discoveryConfigs(mapping, into: &job)
        if let entries = mapping.optional("relabel_configs")?.sequence() {
            job.relabelConfigs = entries.compactMap { relabelConfig($0) }
            do {
                _ = try TargetBuilder(job: job, jobLabel: nil, pathLabel: AlertmanagerConfig.pathLabel)
            } catch {
                issue(error.reason, at: error.index < entries.count ? entries[error.index] : entry)
            }
        }
        var config = AlertmanagerConfig(job: job)
        if let entries = mapping.optional("alert_relabel_configs")?.sequence() {
            config.alertRelabelConfigs = alertRelabelConfigs(entries)
        }
        return config
    }
}
