import Foundation
import Hummingbird
import Periskop
import Shared

/// `GET /groups/{service}/{key}`: one group, one of its samples (`?sample=uuid`, the newest by
/// default), and the processes that report it.
extension LeafPages {
    func groupPage(_ request: Request) async -> Response {
        let now = Date()
        // Read from the raw path, as the JSON API does: the key is one percent-encoded segment
        // that may decode to slashes.
        let segments = RawPath.segments(of: request)
        guard segments.count > 2, let key = RawPath.tail(of: request, from: 2) else {
            return errorPage(
                status: .notFound, title: "No such group", message: "This address names no group.", back: ("All groups", "/groups"), path: "/groups/")
        }
        let id = GroupID(service: segments[1], key: key)
        guard let detail = await views.group(id) else {
            return errorPage(
                status: .notFound, title: "No such group", message: "The service \(id.service) has no exception group with the key \(key).",
                back: ("All groups", "/groups"), path: "/groups/")
        }
        let group = detail.group
        let href = Self.groupHref(service: id.service, key: id.key)

        let wanted = request.query("sample") ?? ""
        let index = detail.samples.firstIndex { $0.uuid == wanted } ?? 0
        let sampleLinks = detail.samples.enumerated().map { offset, sample in
            SampleLinkView(
                href: PageLink.href(href, query: [("sample", sample.uuid)]),
                label: "\(offset + 1) · " + (sample.timestamp.map { WebFormat.relative($0, now: now) } ?? "no time"),
                current: offset == index)
        }
        let missing = !wanted.isEmpty && !detail.samples.contains { $0.uuid == wanted }
        let reporting = detail.instances.filter(\.current).count
        let view = GroupDetailView(
            service: id.service,
            serviceHref: PageLink.href("/groups", query: [("service", id.service)]),
            key: id.key,
            keyHTML: .breakable(id.key),
            message: group.message,
            severity: SeverityBadgeView(group.severity),
            status: StatusBadgeView(status: group.resolved ? "resolved" : "unresolved"),
            firstSeen: TimeView(group.firstSeen, now: now),
            lastSeen: TimeView(group.lastSeen, now: now),
            total: CountView(Int64(group.total)),
            instancesSummary: "\(reporting) reporting now, \(detail.instances.count) process\(detail.instances.count == 1 ? "" : "es") in all",
            hasSampleError: missing,
            sampleError: ErrorBannerView(
                title: "That sample is no longer kept.", message: "The leaf keeps the newest \(detail.samples.count); this is the newest."),
            hasSampleNav: detail.samples.count > 1,
            sampleLinks: sampleLinks,
            hasSample: !detail.samples.isEmpty,
            sample: detail.samples.isEmpty ? SampleView(Self.placeholderSample, now: now) : SampleView(detail.samples[index], now: now),
            noSamples: EmptyStateView(title: "No samples", detail: "The service reported a count but no sample of it."),
            hasInstances: !detail.instances.isEmpty,
            instances: detail.instances.map { Self.instanceRow($0, now: now) },
            noInstances: EmptyStateView(
                title: "No process reports it now", detail: "The processes that did were forgotten after a week without a scrape.")
        )
        let title = group.className.isEmpty ? group.aggregationKey : group.className
        return page("leafGroup", view, title: title, path: href, now: now)
    }

    static func instanceRow(_ report: InstanceReport, now: Date) -> InstanceRowView {
        InstanceRowView(
            instance: report.instance,
            url: report.url,
            urlHTML: .breakable(report.url),
            targetUUID: report.targetUUID ?? "none sent",
            count: CountView(Int64(report.count)),
            lastSeen: TimeView(report.lastSeen, now: now),
            state: report.current ? HealthBadgeView(.up, label: "current") : HealthBadgeView(.unknown, label: "restarted or gone")
        )
    }

    /// Stands in for `sample` when there is none (`hasSample` false): the view has no optionals.
    static var placeholderSample: ErrorWithContext { ErrorWithContext(error: ErrorInstance(className: ""), uuid: "") }
}

struct GroupDetailView {
    let service: String
    let serviceHref: String
    let key: String
    /// `key` wrapping after its `.`, `/`, `:`... (`SafeHTML.breakable`).
    let keyHTML: SafeHTML
    let message: String
    let severity: SeverityBadgeView
    let status: StatusBadgeView
    let firstSeen: TimeView
    let lastSeen: TimeView
    let total: CountView
    let instancesSummary: String
    let hasSampleError: Bool
    let sampleError: ErrorBannerView
    let hasSampleNav: Bool
    let sampleLinks: [SampleLinkView]
    let hasSample: Bool
    let sample: SampleView
    let noSamples: EmptyStateView
    let hasInstances: Bool
    let instances: [InstanceRowView]
    let noInstances: EmptyStateView
}

struct SampleLinkView {
    let href: String
    let label: String
    let current: Bool
}

struct InstanceRowView {
    let instance: String
    let url: String
    let urlHTML: SafeHTML
    let targetUUID: String
    let count: CountView
    let lastSeen: TimeView
    let state: HealthBadgeView
}
