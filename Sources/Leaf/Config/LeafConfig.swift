import Foundation
import Shared

/// The leaf's configuration: a Periskop server config (`services:`) with Prometheus's `global:`
/// and per-service scrape options on top.
struct LeafConfig: Sendable, Equatable {
    var global = GlobalScrapeConfig()
    var externalLabels: Labels
    var scrub = ScrubConfig()
    /// Which target labels make the series the leaf counts and federates (`federation:`).
    var series = SeriesRule()
    /// Which target label names a deploy's version (`deploys:`).
    var deploys = DeployRule()
    var services: [ServiceConfig] = []

    var team: String { externalLabels[LabelName.team] ?? "" }

    /// What a leaf runs with when it is given no config file: no targets, team `local`.
    static let defaults = LeafConfig(externalLabels: [LabelName.team: "local"])
}

struct ScrubConfig: Sendable, Equatable {
    var headers: [String] = []
    var fields: [String] = []
}

struct ServiceConfig: Sendable, Equatable {
    var job: ScrapeJobConfig
    /// A target reporting more groups than this fails its scrape (Prometheus's `sample_limit`).
    var aggregateLimit: Int?
    /// Samples kept per group at the leaf, newest first.
    var sampleLimit: Int

    var name: String { job.name }
}

extension LeafConfig {
    static let defaultSampleLimit = 10

    /// Loads and checks a config file; throws every problem found, each with line and key.
    static func load(file: String) throws(ConfigError) -> LeafConfig {
return try parse(try ConfigReader.text(of: file), file: file)
    }

    static func parse(_ text: String, file: String) throws(ConfigError) -> LeafConfig {
        let reader = ConfigReader(file: file)
        var config = LeafConfig(externalLabels: Labels())
        if let root = reader.root(of: text), let top = root.mapping() {
            let global = top.optional("global")?.mapping()
            config.global = reader.globalScrapeConfig(global)
            if let labels = global?.optional("external_labels") {
                config.externalLabels = labels.labels() ?? Labels()
                if config.externalLabels[LabelName.team] == nil {
                    reader.issue("external_labels must include team: every leaf belongs to one team", at: labels)
                }
            } else {
                reader.issue("missing global.external_labels.team: every leaf belongs to one team", at: global?.value ?? top.value)
            }
            global?.finish()
            // The Periskop server's storage setting: accepted so its configs load unchanged.
            top.ignore("repository")
            if let scrub = top.optional("scrub")?.mapping() {
                config.scrub.headers = scrub.optional("headers")?.stringList() ?? []
                config.scrub.fields = scrub.optional("fields")?.stringList() ?? []
                scrub.finish()
            }
            if let federation = top.optional("federation")?.mapping() {
                config.series.dropLabels = Set(federation.optional("drop_labels")?.stringList() ?? [])
                config.series.maxSeriesPerGroup = federation.optional("max_series_per_group")?.int(in: 1...10_000) ?? SeriesRule.defaultMaxSeriesPerGroup
                federation.finish()
            }
            if let deploys = top.optional("deploys")?.mapping() {
                if let label = deploys.optional("label") {
                    if let name = label.nonEmptyString() {
                        if LabelNameRules.isValid(name) { config.deploys.label = name } else { reader.issue("invalid label name \"\(name)\"", at: label) }
                    }
                }
                config.deploys.restartWindow = deploys.optional("restart_window")?.duration() ?? DeployRule.defaultRestartWindow
                deploys.finish()
            }
            var names: Set<String> = []
            for entry in top.optional("services")?.sequence() ?? [] {
                guard let mapping = entry.mapping() else { continue }
                let aggregateLimit = mapping.optional("aggregate_limit")?.int(in: 1...10_000_000)
                let sampleLimit = mapping.optional("sample_limit")?.int(in: 1...1000) ?? defaultSampleLimit
                let job = reader.scrapeJob(mapping, global: config.global, defaultEndpoint: nil)
                mapping.finish()
                guard let job else { continue }
                if !names.insert(job.name).inserted {
                    reader.issue("duplicate service name \"\(job.name)\"", at: mapping.optional("name") ?? entry)
                }
                do {
                    _ = try TargetBuilder(job: job)
                } catch {
                    let entries = entry.mapping()?.optional("relabel_configs")?.sequence() ?? []
                    reader.issue(error.reason, at: error.index < entries.count ? entries[error.index] : entry)
                }
                config.services.append(ServiceConfig(job: job, aggregateLimit: aggregateLimit, sampleLimit: sampleLimit))
            }
            top.finish()
        }
        try reader.finish()
        return config
    }
}
