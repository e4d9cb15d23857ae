import Foundation
import Hummingbird
import HummingbirdTesting
import Periskop
import Testing

@testable import Shared

@Suite struct WebAssetsTests {
    static let csp =
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    func app() -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: WebSecurityMiddleware())
        StaticAssets.addRoutes(to: router)
        router.get("page") { _, _ in HTMLResponse.make("<!doctype html><p>hi</p>") }
        router.get("missing") { _, _ in HTMLResponse.make("<p>gone</p>", status: .notFound) }
        router.get("api") { _, _ in try JSONResponse.make(["ok": true]) }
        return Application(router: router)
    }

    @Test func htmlResponsesGetTheSecurityHeaders() async throws {
        #expect(WebSecurityMiddleware<BasicRequestContext>.contentSecurityPolicy == Self.csp)
        try await app().test(.router) { client in
            for path in ["/page", "/missing"] {
                let response = try await client.execute(uri: path, method: .get)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                #expect(response.headers[.contentSecurityPolicy] == Self.csp)
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                #expect(response.headers[.init("Referrer-Policy")!] == "same-origin")
            }
            #expect(try await client.execute(uri: "/missing", method: .get).status == .notFound)
            let api = try await client.execute(uri: "/api", method: .get)
            #expect(api.headers[.contentSecurityPolicy] == nil)
            #expect(api.headers[.xContentTypeOptions] == "nosniff")
        }
    }

    @Test func assetsAreServedWithTheirVersion() async throws {
        try await app().test(.router) { client in
            for asset in [StaticAssets.stylesheet, StaticAssets.script] {
                let current = try await client.execute(uri: asset.href, method: .get)
                #expect(current.status == .ok)
                #expect(String(buffer: current.body) == asset.body)
                #expect(current.headers[.eTag] == asset.etag)
                #expect(current.headers[.cacheControl] == "public, max-age=31536000, immutable")
                #expect(current.headers[.xContentTypeOptions] == "nosniff")

                let unversioned = try await client.execute(uri: asset.path, method: .get)
                #expect(unversioned.status == .ok)
                #expect(unversioned.headers[.cacheControl] == "no-cache")

                let revalidated = try await client.execute(uri: asset.path, method: .get, headers: [.ifNoneMatch: asset.etag])
                #expect(revalidated.status == .notModified)
                #expect(revalidated.body.readableBytes == 0)
            }
            let css = try await client.execute(uri: StaticAssets.stylesheet.path, method: .get)
            #expect(css.headers[.contentType] == "text/css; charset=utf-8")
            let js = try await client.execute(uri: StaticAssets.script.path, method: .get)
            #expect(js.headers[.contentType] == "text/javascript; charset=utf-8")
        }
    }

    @Test func versionsAreStableContentHashes() {
        #expect(StaticAssets.stylesheet.version == FNV1a64(Stylesheet.css).hex16)
        #expect(StaticAssets.stylesheet.version.count == 16)
        #expect(StaticAssets.stylesheet.version != StaticAssets.script.version)
    }

    @Test func stylesheetAndScriptKeepToTheirRules() {
        let css = StaticAssets.stylesheet.body
        #expect(css.contains("@media (prefers-color-scheme: dark)"))
        #expect(css.contains(".table-scroll { overflow-x: auto;"))
        for status in StatusBadgeView.known { #expect(css.contains(".status-\(status)"), "\(status)") }
        for severity in ["error", "warning", "info"] { #expect(css.contains(".severity-\(severity)"), "\(severity)") }
        #expect(css.contains(".health-down") && css.contains(".health-stale") && css.contains("tr.row-down"))
        for index in 0..<SVGChart.palette { #expect(css.contains(".series-\(index) { --series: #"), "series-\(index)") }
        // No external fonts or assets: nothing is loaded from elsewhere.
        #expect(!css.contains("url(") && !css.contains("@import") && !css.contains("@font-face"))

        let js = StaticAssets.script.body
        #expect(js.contains("[data-copy]"))
        #expect(js.contains("data-confirm"))
        #expect(js.contains("data-write"))
        #expect(js.contains("data-submit-on-enter"))
        #expect(js.contains("sessionStorage"))
        #expect(js.contains(#""Authorization"] = "Bearer ""#))
        #expect(!js.contains("innerHTML"))
        #expect(!js.contains("eval("))
    }
}
