import CanopyTestSupport
import Foundation
import NIOHTTP1
import Periskop
import Shared
import Testing

@testable import Leaf

/// The leaf's pages over plain HTTP, as a browser without JavaScript gets them: what a submitted
/// form asks for, errors as pages, paging, and the JSON and Periskop routes beside them unchanged.
@Suite struct LeafPagesHTTPTests {
    @Test func formsErrorsAndTheRoutesBesideThePages() async throws {
        try await LeafWebFixture.withLeaf { leaf in
            let client = HTTPTestClient(base: leaf.base)
            // A GET form sends every field, empty ones too.
            let form = try await client.get("/groups?service=search&severity=&status=&q=&sort=")
            #expect(form.status == 200)
            #expect(form.body.contains(#"<option value="search" selected>search</option>"#))
            #expect(form.body.components(separatedBy: #"<a class="error-class""#).count - 1 == 2)
            #expect(form.body.replacingOccurrences(of: "<wbr>", with: "").contains("&lt;script&gt;window.__pwned=1&lt;/script&gt;"))
            #expect(!form.body.contains(LeafWebFixture.script))

            // A group that does not exist, and filters the leaf cannot apply: pages that say so.
            let missing = try await client.get("/groups/checkout/nope%2Fnothing")
            #expect(missing.status == 404)
            #expect(missing.body.hasPrefix("<!doctype html>"))
            #expect(missing.body.contains(#"<div class="banner banner-error" role="alert"><strong class="banner-title">No such group</strong>"#))
            #expect(missing.body.contains("The service checkout has no exception group with the key nope/nothing."))
            let bad = try await client.get("/groups?severity=fatal&sort=size&page=x")
            #expect(bad.status == 400)
            #expect(
                bad.body.contains(
                    "severity must be error, warning or info, not fatal; sort must be first_seen or count, not size; page must be a number from 1, not x"
                ))
            #expect(bad.body.contains(#"<option value="fatal" selected>fatal</option>"#))

            // Resolved groups: hidden by default, shown under `resolved` and `all`.
            #expect(try await client.request("/services/checkout/errors/SlowQuery%402/", method: .DELETE).status == 204)
            func classes(_ query: String) async throws -> Int {
                try await client.get("/groups" + query).body.components(separatedBy: #"<a class="error-class""#).count - 1
            }
            #expect(try await classes("") == 3)
            #expect(try await classes("?status=resolved") == 1)
            #expect(try await classes("?status=all") == 4)
            #expect(try await client.get("/groups?status=resolved").body.contains(#"<span class="badge status-resolved">resolved</span>"#))

            // `/targets` is the page, Periskop's `/targets/` and the API stay JSON; pages carry the CSP.
            #expect(try await client.get("/targets").body.hasPrefix("<!doctype html>"))
            let periskop = try #require(try await client.json("/targets/") as? [String: [[String: String]]])
            #expect(periskop["checkout"]?.first?["endpoint"] == "http://\(leaf.checkout)/-/exceptions")
            #expect((try await client.json("/api/v1/targets") as? [String: Any])?["active_targets"] != nil)
            let root = try await HTTPTestClient(base: leaf.base).request("/", method: .GET)
            #expect(root.status == 200)  // followed to /groups
            #expect(root.body.contains("<title>Groups · Canopy leaf · payments</title>"))
            #expect(try await client.get("/static/canopy.css").status == 200)
        }
    }

    @Test func theListPagesThroughManyGroups() async throws {
        let target = FakeTarget()
        for index in 0..<55 { target.report(String(format: "Key%02d", index), total: index + 1) }
        try await withServices([target.makeApplication()]) {
            let config = try LeafHarness.config(
                """
                global: {scrape_interval: 100ms, scrape_timeout: 100ms, external_labels: {team: core}}
                services:
                - name: api
                  static_configs: [{targets: ['\(await target.address())']}]
                  scraper: {endpoint: /-/exceptions}
                """)
            try await LeafHarness.run(config, dataDir: LeafHarness.temporaryDirectory()) { leaf in
                try await expectEventually { try await leaf.totals(of: "api").count == 55 }
                func rows(_ body: String) -> Int { body.components(separatedBy: #"<a class="error-class""#).count - 1 }
                let first = try await leaf.get("/groups?sort=count").body
                #expect(rows(first) == 50)
                #expect(first.contains(#"<a class="button-link" rel="next" href="/groups?sort=count&amp;page=2">Next page</a>"#))
                #expect(first.contains("1–50 of 55 groups"))
                #expect(!first.contains("First page"))
                let second = try await leaf.get("/groups?sort=count&page=2").body
                #expect(rows(second) == 5)
                #expect(second.contains("51–55 of 55 groups"))
                #expect(second.contains(#"<a class="button-link" href="/groups?sort=count">First page</a>"#))
                #expect(!second.contains("Next page"))
                // Sorted by total, the last page holds the smallest.
                #expect(second.contains(#"<span class="count" title="1">1</span>"#))
                let beyond = try await leaf.get("/groups?page=9").body
                #expect(beyond.contains("No groups on page 9"))
                #expect(beyond.contains(#"<a class="button-link" href="/groups">First page</a>"#))
            }
        }
    }
}
