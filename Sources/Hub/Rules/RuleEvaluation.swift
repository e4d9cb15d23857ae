import Foundation
import Logging
import PromQL
import Rules
import Shared

/// One evaluation of one rule group at one time, as Prometheus's `Group.Eval`: the rules in
/// order, each failing alone (its health says why) without stopping the others. Recording rules
/// write their series; alerting rules advance their alerts, write `ALERTS` and
/// `ALERTS_FOR_STATE`, keep their state and hand what needs sending to Alertmanager.
struct RuleEvaluation: Sendable {
    let runner: QueryRunner
    let series: RuleSeriesStore
    let states: AlertStateStore
    let board: RuleBoard
    let sender: (any AlertSender)?
    let externalURL: String
    let logger: Logger

    /// The annotation linking an alert about one group to the group's page.
    static let groupLink = "canopy_group_url"

    /// Prometheus's resend delay: firing alerts go to Alertmanager again at most this often.
    static let resendDelay: Duration = .seconds(60)

    func evaluate(_ group: RuleGroup, interval: Duration, externalLabels: [String: String], at time: Date) async {
        let started = ContinuousClock.now
        var failures = 0
        var databaseFailures = 0
        for (rule, key) in zip(group.rules, RuleKey.keys(group)) {
            let ruleStarted = ContinuousClock.now
            var failure: String?
            do {
                switch rule.kind {
                case .recording(let name):
                    try await record(rule, name: name, key: key, limit: group.limit, at: time)
                case .alerting(let name, let holdFor, let keepFiringFor):
                    try await alert(
                        rule, name: name, key: key, holdFor: holdFor, keepFiringFor: keepFiringFor, limit: group.limit, interval: interval,
                        externalLabels: externalLabels, at: time)
                }
            } catch {
                // Stopping (shutdown or a reload) is no failure of the rule.
                if Task.isCancelled { return }
                failures += 1
                failure = Self.describe(error)
                // A rule that failed changed no alert: nothing resolves or fires on data that could not be read.
                if DatabaseUnavailable(classifying: error) != nil {
                    databaseFailures += 1
                } else {
                    logger.warning(
                        "evaluating a rule failed", metadata: ["rules.group": "\(group.name)", "rules.rule": "\(rule.name)", "error": "\(failure ?? "")"])
                }
            }
            await board.recordRule(key, at: time, seconds: (ContinuousClock.now - ruleStarted).seconds, error: failure)
        }
        // An outage fails every rule at every tick: said once when it starts, and once when evaluation resumes.
        if await board.notePaused(key(group), databaseFailures > 0) {
            if databaseFailures > 0 {
                logger.warning(
                    "rule evaluation is paused: the database is unreachable (each rule shows the error until it answers again)",
                    metadata: ["rules.group": "\(group.name)"])
            } else {
                logger.notice("rule evaluation resumed: the database answers again", metadata: ["rules.group": "\(group.name)"])
            }
        }
        await board.recordGroup(key(group), at: time, seconds: (ContinuousClock.now - started).seconds, failures: failures)
    }

    private func key(_ group: RuleGroup) -> String { RuleKey.group(group) }

    /// The expression's value at `time` as a vector: a scalar is one element without labels.
    private func vector(_ rule: Rule, at time: Date) async throws -> [VectorElement] {
        switch try await runner.instant(rule.expr, at: QueryTime.timestamp(time)) {
        case .vector(let elements): return elements
        case .scalar(let sample): return [VectorElement(labels: PromQL.Labels(), sample: sample)]
        default: throw RuleFailure("rule result is not a vector or scalar")
        }
    }

    private func record(_ rule: Rule, name: String, key: RuleKey, limit: Int, at time: Date) async throws {
        var samples: [(labels: PromQL.Labels, value: Double)] = []
        var seen: Set<PromQL.Labels> = []
        for element in try await vector(rule, at: time) {
            var labels = element.labels
            labels[PromQL.Labels.metricName] = name
            for (label, value) in rule.labels { labels[label] = value }
            guard seen.insert(labels).inserted else {
                throw RuleFailure("vector contains metrics with the same labelset after applying rule labels")
            }
            samples.append((labels, element.sample.v))
        }
        if limit > 0 && samples.count > limit { throw RuleFailure("exceeded limit of \(limit) with \(samples.count) series") }
        try await series.append(samples, ended: await board.ended(key, now: seen), at: time)
    }

    private func alert(
        _ rule: Rule, name: String, key: RuleKey, holdFor: Duration, keepFiringFor: Duration, limit: Int, interval: Duration,
        externalLabels: [String: String], at time: Date
    ) async throws {
        var results: [Alert] = []
        let querier = RuleQuerier(runner: runner, time: time)
        for element in try await vector(rule, at: time) {
            let resultLabels = element.labels.droppingMetricName.dictionary
            let data = TemplateData(labels: resultLabels, externalLabels: externalLabels, externalURL: externalURL, value: element.sample.v)
            var labels = resultLabels
            for (label, text) in rule.labels { labels[label] = await rule.labelTemplates[label]?.expand(data, querier: querier) ?? text }
            labels["alertname"] = name
            var annotations: [String: String] = [:]
            for (annotation, text) in rule.annotations {
                annotations[annotation] = await rule.annotationTemplates[annotation]?.expand(data, querier: querier) ?? text
            }
            if annotations[Self.groupLink] == nil, let team = labels["team"], let service = labels["service"], let key = labels["aggregation_key"] {
                annotations[Self.groupLink] = externalURL + "/groups/lookup?team=\(Self.queryEncoded(team))&service=\(Self.queryEncoded(service))&aggregation_key=\(Self.queryEncoded(key))"
            }
            results.append(Alert(labels: labels, annotations: annotations, value: element.sample.v, activeAt: time))
        }
        var state = await board.alertState(key)
        // Past the limit the state is emptied and the evaluation fails: keep the emptied state.
        let evaluated = Result { try state.evaluate(results, at: time, holdFor: holdFor, keepFiringFor: keepFiringFor, limit: limit) }
        await board.setAlertState(state, for: key)
        try evaluated.get()
        let written = state.series(ruleLabels: rule.labels).map { (labels: PromQL.Labels($0.labels), value: $0.value) }
        try await series.append(written, ended: await board.ended(key, now: Set(written.map(\.labels))), at: time)
        let due = state.alertsToSend(at: time, resendDelay: Self.resendDelay, interval: interval)
        await board.setAlertState(state, for: key)
        try await states.save(state, for: key, at: time)
        guard let sender, !due.isEmpty else { return }
        let generator = externalURL + "/graph?tab=table&expr=" + Self.queryEncoded(rule.expression)
        sender.send(
            due.map { alert in
                PostableAlert(
                    labels: externalLabels.merging(alert.labels) { $1 }, annotations: alert.annotations,
                    startsAt: alert.firedAt ?? alert.activeAt, endsAt: alert.resolvedAt ?? alert.validUntil, generatorURL: generator)
            })
    }


    static func queryEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }


    static func describe(_ error: any Error) -> String {
        if let error = error as? QueryError { return error.message }
        return String(describing: error)
    }
}

/// The templates' `query`: an instant query at the evaluation's time, through the same runner
/// (limits and timeout) as the rules' own.
struct RuleQuerier: TemplateQuerier {
    let runner: QueryRunner
    let time: Date

    func query(_ expression: String) async throws -> [TemplateSample] {
        switch try await runner.instant(try PromQLParser.parse(expression), at: QueryTime.timestamp(time)) {
        case .vector(let elements): return elements.map { TemplateSample(labels: $0.labels.dictionary, value: $0.sample.v) }
        case .scalar(let sample): return [TemplateSample(labels: [:], value: sample.v)]
        default: throw RuleFailure("query result is not a vector or scalar")
        }
    }
}

/// Why a rule's evaluation failed, in Prometheus's words where it has them.
struct RuleFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
