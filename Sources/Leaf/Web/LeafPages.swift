import Foundation
import Hummingbird
import Shared

/// The leaf's HTML pages: the team's groups, one group, the targets. Rendered on the server from
/// the same `TeamViews` as the JSON API; GET only, every filter in the URL, so that each view is
/// a link to share and works without JavaScript.
struct LeafPages<Context: RequestContext>: Sendable {
    let views: TeamViews
    let templates: WebTemplates
    /// Groups per page of the list.
    let pageSize: Int

    init(views: TeamViews, pageSize: Int = 50) throws {
        self.views = views
        self.templates = try WebTemplates(pages: LeafPageTemplates.all)
        self.pageSize = pageSize
    }

    /// `GET /`, `/groups`, `/groups/{service}/{key}`. The targets page is served through
    /// `targetsPage`: the router cannot tell `/targets` from Periskop's `/targets/`.
    func addRoutes(to router: Router<Context>) {
        router.get("/") { _, _ in Response.redirect(to: "/groups") }
        router.get("groups") { request, _ in await groupsPage(request) }
        router.get("groups/:service/**") { request, _ in await groupPage(request) }
    }

    /// The page's shell: the team in the brand, the nav, and who made the page when.
    func chrome(title: String, path: String, now: Date) -> PageChrome {
        let identity = views.identity()
        let team = identity.team ?? "local"
        return PageChrome(
            product: "Canopy leaf · \(team)",
            title: title,
            nav: NavItem.items([("Groups", "/groups"), ("Targets", "/targets")], currentPath: path),
            homeHref: "/groups",
            footer: "canopy-leaf \(CanopyVersion.current) · team \(team) · \(identity.name) · made \(WebFormat.absolute(now))"
        )
    }

    func page(_ template: String, _ view: Any, title: String, path: String, now: Date, status: HTTPResponse.Status = .ok) -> Response {
        do {
            return HTMLResponse.make(try templates.page(chrome(title: title, path: path, now: now), template: template, view), status: status)
        } catch {
            // The templates are the binary's own and parsed at start: this is a bug, said plainly.
            return Response(status: .internalServerError, body: ResponseBody(byteBuffer: ByteBuffer(string: "page \(template) failed: \(error)\n")))
        }
    }

    /// A page that only says what went wrong (an unknown group, a bad filter), with a way back.
    func errorPage(status: HTTPResponse.Status, title: String, message: String, back: (label: String, href: String), path: String) -> Response {
        let view = ErrorPageView(banner: ErrorBannerView(title: title, message: message), backLabel: back.label, backHref: back.href)
        return page("leafError", view, title: title, path: path, now: Date(), status: status)
    }
}

struct ErrorPageView {
    let banner: ErrorBannerView
    let backLabel: String
    let backHref: String
}
