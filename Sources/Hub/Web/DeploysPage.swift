import Foundation
import Shared

/// `/teams/{team}/services/{service}/deploys` (the API's path without `/api/v1`): a service's deploys, newest first, each with the groups
/// first seen in it and the groups whose rate rose or fell sharply after it (`DeployAnalysis`).
/// Drawing is pure: the view is made from the API's `ServiceDeploys`.
enum DeploysPage {
    static func path(team: String, service: String) -> String {
        "/teams/\(PageLink.segment(team))/services/\(PageLink.segment(service))/deploys"
    }

    struct View {
        let team: String
        let teamHref: String
        let service: String
        let serviceHref: String
        let apiHref: String
        let hasDeploys: Bool
        let deploys: [Deploy]
        let empty: EmptyStateView
    }

    struct Deploy {
        let id: String
        let title: String
        let at: TimeView
        let detail: String
        let hasNewGroups: Bool
        let newGroups: [GroupLink]
        let hasRateChanges: Bool
        let rateChanges: [RateRow]
        let rateNote: String
    }

    struct GroupLink {
        let href: String
        /// Class and key wrap after their `.`, `/`, `:` and between camel-case humps (`SafeHTML.breakable`).
        let classHTML: SafeHTML
        /// Wrapping after its `.`, `/`, `:`... (`SafeHTML.breakable`).
        let keyHTML: SafeHTML
        let firstSeen: TimeView
    }

    struct RateRow {
        let href: String
        let classHTML: SafeHTML
        let keyHTML: SafeHTML
        let change: String
        let changeClass: String
        let before: CountView
        let after: CountView
    }

    static func view(_ report: ServiceDeploys, now: Date) -> View {
        let deploys = report.deploys.map { deploy in
            let window = deploy.windowSeconds.map { WebFormat.duration(seconds: $0) }
            return Deploy(
                id: deploy.id, title: deploy.version.map { "\(deploy.label ?? "version") \($0)" } ?? "Restart", at: TimeView(deploy.at, now: now),
                detail: "\(deploy.instances) \(deploy.instances == 1 ? "instance" : "instances")",
                hasNewGroups: !deploy.newGroups.isEmpty,
                newGroups: deploy.newGroups.map {
                    GroupLink(href: "/groups/\($0.id)", classHTML: .breakable($0.className), keyHTML: .breakable($0.aggregationKey), firstSeen: TimeView($0.firstSeen, now: now))
                },
                hasRateChanges: !deploy.rateChanges.isEmpty,
                rateChanges: deploy.rateChanges.map {
                    RateRow(
                        href: "/groups/\($0.id)", classHTML: .breakable($0.className), keyHTML: .breakable($0.aggregationKey), change: $0.change == .rose ? "rose" : "fell",
                        changeClass: $0.change == .rose ? "health-down" : "health-up", before: CountView($0.before), after: CountView($0.after))
                },
                rateNote: window.map {
                    "Occurrences in the \($0) after the deploy against the \($0) before: at least \(Int(DeployAnalysis.ratio))× more or fewer, "
                        + "\(DeployAnalysis.minimumCount) or more in the two."
                } ?? "Too soon after the deploy to compare rates.")
        }
        return View(
            team: report.team, teamHref: PageLink.href("/groups", query: [("team", report.team)]), service: report.service,
            serviceHref: PageLink.href("/groups", query: [("team", report.team), ("service", report.service)]),
            apiHref: "/api/v1" + path(team: report.team, service: report.service),
            hasDeploys: !deploys.isEmpty, deploys: deploys,
            empty: EmptyStateView(
                title: "No deploys seen yet",
                detail: "A leaf sees a deploy when a target's version label (version or release, or the leaf's deploys.label) takes a new value, "
                    + "or, without one, when targets restart with new target_uuids."))
    }

    static let template = """
        <dl class="facts">
        <div><dt>Team · service</dt><dd><a href="{{teamHref}}">{{team}}</a> · <a href="{{serviceHref}}">{{service}}</a></dd></div>
        <div><dt>API</dt><dd><a class="mono" href="{{apiHref}}">JSON</a></dd></div>
        </dl>
        {{#hasDeploys}}
        {{#deploys}}
        <section class="deploy" data-deploy="{{id}}">
        <h2 class="deploy-title">{{title}}</h2>
        <p class="muted">{{#at}}{{>time}}{{/at}} · {{detail}}</p>
        <h3>New groups</h3>
        {{#hasNewGroups}}<ul class="deploy-new">
        {{#newGroups}}<li><a href="{{href}}">{{{classHTML}}}</a> <span class="mono">{{{keyHTML}}}</span> <span class="muted">first seen {{#firstSeen}}{{>time}}{{/firstSeen}}</span></li>
        {{/newGroups}}</ul>{{/hasNewGroups}}
        {{^hasNewGroups}}<p class="muted">None.</p>{{/hasNewGroups}}
        <h3>Rates that changed</h3>
        <p class="muted">{{rateNote}}</p>
        {{#hasRateChanges}}
        <div class="table-scroll"><table class="deploy-rates">
        <thead><tr><th scope="col">Group</th><th scope="col">Change</th><th scope="col" class="num">Before</th><th scope="col" class="num">After</th></tr></thead>
        <tbody>
        {{#rateChanges}}<tr><td><a href="{{href}}">{{{classHTML}}}</a><br><span class="mono">{{{keyHTML}}}</span></td><td><span class="badge {{changeClass}}">{{change}}</span></td>
        <td class="num">{{#before}}{{>count}}{{/before}}</td><td class="num">{{#after}}{{>count}}{{/after}}</td></tr>
        {{/rateChanges}}
        </tbody></table></div>
        {{/hasRateChanges}}
        </section>
        {{/deploys}}
        {{/hasDeploys}}
        {{^hasDeploys}}{{#empty}}{{>emptyState}}{{/empty}}{{/hasDeploys}}

        """
}
