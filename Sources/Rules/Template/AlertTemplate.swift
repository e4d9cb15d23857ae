/// The template of one label or annotation of an alerting rule, expanded as Prometheus 2.42
/// expands it (`rules/alerting.go`, `template/template.go`): Go's `text/template` with
/// `missingkey=zero`, Prometheus's functions, and the definitions `$labels`, `$externalLabels`,
/// `$externalURL` and `$value` put in front of the text.
///
/// Parse once when the rule is loaded (so that `check-config` reports errors), render at each
/// evaluation. The template is named `__alert_<alert name>`, as Prometheus names it, and errors
/// are Go's: `template: __alert_X:1: function "nope" not defined`. The definitions are joined to
/// the text without a newline, so lines are the text's own; columns on the first line count
/// the definitions too, as in Prometheus's messages.
public struct AlertTemplate: Sendable {
    /// What Prometheus puts before every alert template.
    public static let definitions =
        "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$externalURL := .ExternalURL}}{{$value := .Value}}"

    /// The text as written in the rule.
    public let text: String
    /// The Go template's name: `__alert_` and the alert's name.
    public let templateName: String
    public let limits: TemplateLimits
    private let fullText: String
    private let trees: [String: [TemplateNode]]

    /// `name` is the alerting rule's name (its `alert:`).
    public init(_ text: String, name: String, limits: TemplateLimits = .standard) throws(TemplateError) {
        self.text = text
        self.templateName = "__alert_" + name
        self.limits = limits
        if text.utf8.count > limits.maximumTextBytes {
            throw TemplateError(
                stage: .parse,
                message: "template: \(templateName): the template is \(text.utf8.count) bytes, more than the limit of \(limits.maximumTextBytes)")
        }
        fullText = Self.definitions + text
        trees = try TemplateParser.parse(fullText, name: templateName, functions: Self.functionNames)
    }

    /// The expanded text, or the error Go's `Execute` would return.
    public func render(_ data: TemplateData, querier: (any TemplateQuerier)?) async throws(TemplateError) -> String {
        let execution = TemplateExecution(
            trees: trees, text: fullText, name: templateName, data: data, querier: querier, limits: limits, functions: Self.functions)
        do {
            return try await execution.run()
        } catch {
            throw TemplateError(stage: .execute, message: error.message)
        }
    }

    /// What Prometheus puts in the label or annotation: the expansion, or on failure
    /// `<error expanding template: error executing template NAME: …>`.
    public func expand(_ data: TemplateData, querier: (any TemplateQuerier)?) async -> String {
        do {
            return try await render(data, querier: querier)
        } catch {
            return "<error expanding template: \(error.prometheusText(templateName: templateName))>"
        }
    }

    static let functions: [String: TemplateFunction] = TemplateBuiltins.all.merging(TemplateFunctions.all) { _, prometheus in prometheus }
    static let functionNames = Set(functions.keys)
}

/// What an alert template sees: `.Labels` (`$labels`), `.ExternalLabels`, `.ExternalURL` and
/// `.Value` (`$value`, the alert's sample value).
public struct TemplateData: Sendable, Equatable {
    public var labels: [String: String]
    public var externalLabels: [String: String]
    /// The server's external URL, as configured; the `externalURL` function returns it as well
    /// (Go would re-serialize a parsed URL: the same text for any well-formed one) and
    /// `pathPrefix` its path.
    public var externalURL: String
    public var value: Double

    public init(labels: [String: String], externalLabels: [String: String], externalURL: String, value: Double) {
        self.labels = labels
        self.externalLabels = externalLabels
        self.externalURL = externalURL
        self.value = value
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.labels == rhs.labels && lhs.externalLabels == rhs.externalLabels && lhs.externalURL == rhs.externalURL
            && lhs.value.bitPattern == rhs.value.bitPattern
    }
}

/// Runs the template function `query`.
public protocol TemplateQuerier: Sendable {
    /// An instant query at the evaluation time. A thrown error's description is what the
    /// template's error shows (`error calling query: …`).
    func query(_ expression: String) async throws -> [TemplateSample]
}

/// One series of a query's result, as templates see it (`.Labels`, `.Value`; `__name__` included).
public struct TemplateSample: Sendable, Equatable {
    public var labels: [String: String]
    public var value: Double

    public init(labels: [String: String], value: Double) {
        self.labels = labels
        self.value = value
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.labels == rhs.labels && lhs.value.bitPattern == rhs.value.bitPattern
    }
}

/// A template that does not parse or does not execute, with Go's message.
public struct TemplateError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Stage: Sendable, Equatable {
        case parse
        case execute
    }

    public var stage: Stage
    /// Go's text: `template: NAME:LINE: …` for parse errors, `template: NAME:LINE:COL: executing
    /// "NAME" at <…>: …` for execution errors.
    public var message: String

    public init(stage: Stage, message: String) {
        self.stage = stage
        self.message = message
    }

    public var description: String { message }

    /// Prometheus's wording in an expansion's result: `error parsing template NAME: …` or
    /// `error executing template NAME: …`.
    public func prometheusText(templateName: String) -> String {
        (stage == .parse ? "error parsing template " : "error executing template ") + templateName + ": " + message
    }
}

/// Bounds on one template, so that no rule can make the hub run away.
public struct TemplateLimits: Sendable, Equatable {
    /// The longest template text.
    public var maximumTextBytes: Int
    /// The longest expansion.
    public var maximumOutputBytes: Int
    /// How deep `{{template}}` calls may nest.
    public var maximumTemplateDepth: Int
    /// Nodes walked, commands evaluated and range iterations, all together.
    public var maximumSteps: Int
    /// `query` calls in one expansion.
    public var maximumQueries: Int

    public init(maximumTextBytes: Int, maximumOutputBytes: Int, maximumTemplateDepth: Int, maximumSteps: Int, maximumQueries: Int) {
        self.maximumTextBytes = maximumTextBytes
        self.maximumOutputBytes = maximumOutputBytes
        self.maximumTemplateDepth = maximumTemplateDepth
        self.maximumSteps = maximumSteps
        self.maximumQueries = maximumQueries
    }

    /// 64 KiB of text and of output, 100 nested `template` calls, 100,000 steps, 20 queries.
    public static let standard = TemplateLimits(
        maximumTextBytes: 64 * 1024, maximumOutputBytes: 64 * 1024, maximumTemplateDepth: 100, maximumSteps: 100_000, maximumQueries: 20)
}
