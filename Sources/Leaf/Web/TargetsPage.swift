import Foundation
import Hummingbird
import Shared

/// `GET /targets`: per service, the targets scraped with their labels and health, and those
/// relabelling dropped, like Prometheus's targets page. A target that is down is named in a banner
/// at the top and its row is marked, so that it cannot be missed.
extension LeafPages {
    func targetsPage(_ request: Request) -> Response {
        let now = Date()
        let serviceFilter = request.query("service") ?? ""
        let healthFilter = request.query("health") ?? ""
        let report = views.targets()
        let names = Set(views.configuredServices()).union(report.active.map(\.service)).union(report.dropped.map(\.service)).sorted()

        let down = report.active.filter { $0.health == .down }
        let named = down.prefix(5).map { "\($0.service) \($0.labels["instance"] ?? $0.url)" }.joined(separator: ", ")
        let up = report.active.filter { $0.health == .up }.count
        let services = names.filter { serviceFilter.isEmpty || $0 == serviceFilter }.map { name in
            let active = report.active.filter { $0.service == name }
            // Down first: a failing target heads its service's table.
            let shown = active.filter { healthFilter.isEmpty || $0.health.rawValue == healthFilter }
                .sorted { ($0.health == .down ? 0 : 1, $0.url) < ($1.health == .down ? 0 : 1, $1.url) }
            let dropped = report.dropped.filter { $0.service == name }
            return ServiceTargetsView(
                name: name,
                upSummary: "\(active.filter { $0.health == .up }.count) of \(active.count) up",
                hasTargets: !shown.isEmpty,
                targets: shown.map { Self.targetRow($0, now: now) },
                noTargets: active.isEmpty ? "No targets discovered." : "No targets in this state.",
                hasDropped: !dropped.isEmpty,
                droppedCount: dropped.count,
                dropped: dropped.map { DroppedTargetView(labels: Self.labels($0.discoveredLabels)) }
            )
        }
        let view = TargetsPageView(
            filters: FilterFormView(
                action: "/targets",
                fields: [
                    .select(name: "service", label: "Service", values: names, selected: serviceFilter),
                    .select(
                        name: "health", label: "State", options: [("up", "up"), ("down", "down"), ("unknown", "not scraped yet")],
                        selected: healthFilter),
                ]
            ),
            hasDown: !down.isEmpty,
            down: ErrorBannerView(
                title: "\(down.count) of \(report.active.count) target\(report.active.count == 1 ? "" : "s") down:",
                message: named + (down.count > 5 ? " and \(down.count - 5) more" : "")),
            summary: "\(report.active.count) target\(report.active.count == 1 ? "" : "s") in \(names.count) service\(names.count == 1 ? "" : "s"): "
                + "\(up) up, \(down.count) down, \(report.active.count - up - down.count) not scraped yet; \(report.dropped.count) dropped by relabelling.",
            services: services,
            noServices: EmptyStateView(title: "No services", detail: "The leaf's config names no service to scrape.")
        )
        return page("leafTargets", view, title: "Targets", path: "/targets", now: now)
    }

    static func targetRow(_ target: TargetReport, now: Date) -> TargetRowView {
        let health: HealthBadgeView.Health =
            switch target.health {
            case .up: .up
            case .down: .down
            case .unknown: .unknown
            }
        return TargetRowView(
            url: target.url,
            urlHTML: .breakable(target.url),
            health: HealthBadgeView(health),
            labels: labels(target.labels),
            lastScrape: TimeView(target.lastScrape, now: now),
            interval: target.scrapeInterval,
            duration: target.lastScrape == nil ? "" : WebFormat.duration(seconds: target.lastScrapeDurationSeconds),
            error: target.lastError ?? "",
            errorHTML: .breakable(target.lastError ?? "")
        )
    }

    static func labels(_ labels: Labels) -> [LabelView] {
        labels.sorted.map { LabelView(name: $0.name, value: $0.value) }
    }
}

struct TargetsPageView {
    let filters: FilterFormView
    let hasDown: Bool
    let down: ErrorBannerView
    let summary: String
    let services: [ServiceTargetsView]
    let noServices: EmptyStateView
}

struct ServiceTargetsView {
    let name: String
    let upSummary: String
    let hasTargets: Bool
    let targets: [TargetRowView]
    let noTargets: String
    let hasDropped: Bool
    let droppedCount: Int
    let dropped: [DroppedTargetView]
}

struct TargetRowView {
    let url: String
    /// `url` and `error` wrapping after their `/`, `.`, `:`... (`SafeHTML.breakable`).
    let urlHTML: SafeHTML
    let health: HealthBadgeView
    let labels: [LabelView]
    let lastScrape: TimeView
    let interval: String
    /// "" before the first scrape.
    let duration: String
    /// "" when the last scrape worked.
    let error: String
    let errorHTML: SafeHTML
}

struct DroppedTargetView {
    let labels: [LabelView]
}

struct LabelView {
    let name: String
    let value: String
}
