import Foundation
import Periskop

/// Names as long as real ones get, for the layout tests: a team, a service, a leaf, a class, an
/// aggregation key and a request URL that do not fit a phone's line whole.
public enum LongNames {
    public static let team = "notifications-and-messaging-platform-europe"
    public static let service = "notification-delivery-orchestrator-service"
    public static let leaf = "notifications-and-messaging-platform-europe-west-1-primary"
    public static let className = "com.example.notifications.delivery.orchestration.TemplateRenderingFailedException"
    public static let key =
        "com.example.notifications.delivery.orchestration.TemplateRenderingFailedException:TemplateRenderer.renderLocalisedTemplate:templates/transactional/password-reset/de-DE.mustache"
    public static let message =
        "template transactional/password-reset/de-DE.mustache failed to render: variable recipient.preferredDisplayName is undefined"
    public static let url =
        "https://notifications.internal.example.com/api/v2/deliveries/0f6c7a8e-1b2d-4c3e-9f00-123456789abc/render?locale=de-DE&template=transactional%2Fpassword-reset&preview=true"
    public static let smtpKey = "smtp-relay.eu-west-1.mail.example.com:587/connection-timed-out-after-30-seconds"
    /// A target that no resolver knows, so that it is down with a long error.
    public static let unknownHost = "notification-delivery-orchestrator-canary-0.notifications-platform.invalid:8080"

    /// Two groups: the long one (7 occurrences, with a cause and a request) and an SMTP timeout (2).
    public static var payload: ExceptionsPayload {
        let now = Date()
        let cause = ErrorInstance(
            className: "org.thymeleaf.exceptions.TemplateProcessingException",
            message: "Exception evaluating SpringEL expression: \"recipient.preferredDisplayName\" (template: \"transactional/password-reset/de-DE\" - line 12, col 7)",
            stacktrace: ["at org.thymeleaf.spring5.expression.SPELVariableExpressionEvaluator.evaluate(SPELVariableExpressionEvaluator.java:292)"])
        let request = HTTPContext(
            requestMethod: "POST", requestURL: url,
            requestHeaders: ["Content-Type": "application/json", "X-Request-Correlation-Identifier": "notifications-eu-west-1-0f6c7a8e-1b2d-4c3e-9f00-123456789abc"],
            requestBody: "{\"recipient\": \"someone@example.com\"}")
        let render = ErrorWithContext(
            error: ErrorInstance(
                className: className, message: message,
                stacktrace: ["at com.example.notifications.delivery.orchestration.TemplateRenderer.renderLocalisedTemplate(TemplateRenderer.java:118)"], cause: cause),
            uuid: "5a0c0c0c-0000-4000-8000-000000000001", timestamp: now.addingTimeInterval(-120), severity: .error, httpContext: request)
        let smtp = ErrorWithContext(
            error: ErrorInstance(
                className: "jakarta.mail.MessagingException", message: "Could not connect to SMTP host: smtp-relay.eu-west-1.mail.example.com, port: 587",
                stacktrace: ["at jakarta.mail.Transport.send(Transport.java:101)"]),
            uuid: "5a0c0c0c-0000-4000-8000-000000000002", timestamp: now.addingTimeInterval(-600), severity: .warning)
        return ExceptionsPayload(
            targetUUID: UUID().uuidString,
            aggregatedErrors: [
                AggregatedError(aggregationKey: key, totalCount: 7, severity: .error, createdAt: now.addingTimeInterval(-86400), latestErrors: [render]),
                AggregatedError(aggregationKey: smtpKey, totalCount: 2, severity: .warning, createdAt: now.addingTimeInterval(-3600), latestErrors: [smtp]),
            ])
    }
}
