import CanopyTestSupport
import Foundation
import PromQL
import Shared
import Testing

@testable import Hub

/// `/graph` and the links into it on a hub in process, on a real database fed by a real leaf:
/// the form, a parse error with its position, refused parameters, and the overview's and a
/// group's links, whose queries parse. Nothing here evaluates a query (the evaluator is not
/// needed): every request stops at the parser or a parameter check, as the API's do.
@Suite struct HubGraphRouteTests {
    /// A key with what PromQL strings must escape (`"`, `\`) and what HTML must (`<`, `&`).
    static let key = #"card "declined" \ <b>now</b> & then"#

    @Test func theFormErrorsAndLinksIntoTheGraphPage() async throws {
        let prod = FakeTarget()
        let staging = FakeTarget()
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            try await withServices([prod.makeApplication(), staging.makeApplication()]) {
                try await withTemporaryDirectory { directory in
                    prod.report(Self.key, total: 3)
                    staging.report(Self.key, total: 2)
                    let leaf = try HubEndToEndTests.Leaf(
                        team: "payments", service: "checkout", targets: [await prod.address(), await staging.address()],
                        labels: [["env": "prod"], ["env": "staging"]], directory: directory)
                    try await leaf.start()
                    try await withInProcessHub(database: database, cluster: cluster, leafPort: leaf.port, directory: directory) { base in
                        let hub = HTTPTestClient(base: base)
                        try await expectEventually(timeout: .seconds(20)) { (try? await HubEndToEndTests.totals(hub))?.values.first == 5 }
                        try await Self.checkForm(hub)
                        try await Self.checkAPIRefusals(hub)
                        try await Self.checkLinks(hub)
                    }
                    await leaf.stop()
                }
            }
        }
    }

    static func checkForm(_ hub: HTTPTestClient) async throws {
        let form = try await hub.get("/graph")
        #expect(form.status == 200)
        #expect(form.body.contains(#"<form class="filters graph-form" method="get" action="/graph">"#))
        #expect(form.body.contains(#"<a href="/graph" aria-current="page">Graph</a>"#))
        #expect(form.body.contains("No expression yet"))

        // A parse error: 200, the message with its position, the expression still in the box.
        let parse = try await hub.get("/graph?expr=sum%28up%7Benv%3D%7D%29")
        #expect(parse.status == 200)
        #expect(parse.body.contains(#"<strong class="banner-title">Parse error:</strong> <span class="banner-message">1:12: parse error: "#), "\(parse.body)")
        #expect(parse.body.contains(#">sum(up{env=})</textarea>"#))
        #expect(parse.body.contains(#"<pre class="parse-pointer"><code>sum(up{env=})"#))

        // Parameters the graph cannot use are refused, named, and nothing runs.
        let zero = try await hub.get("/graph?expr=up&tab=graph&step=0")
        #expect(zero.status == 200)
        #expect(zero.body.contains("Bad parameter:"))
        #expect(zero.body.contains("zero or negative query resolution step widths are not accepted"))
        let fine = try await hub.get("/graph?expr=up&tab=graph&range=30d&step=1ms")
        #expect(fine.body.contains("more than the 11,000 allowed: use a step of at least 3m56s"))
        #expect(fine.body.contains(#"<option value="30d" selected>30d</option>"#))
        #expect(try await hub.get("/graph?expr=up&tab=graph&range=forever").body.contains(#"invalid parameter &quot;range&quot;: cannot parse &quot;forever&quot;"#))
        #expect(try await hub.get("/graph?expr=up&tab=sideways").body.contains("is neither table nor graph"))
        #expect(try await hub.get("/graph?expr=up&time=soon").body.contains(#"invalid parameter &quot;time&quot;"#))
        let range = try await hub.get("/graph?expr=up%5B5m%5D&tab=graph")
        #expect(range.body.contains("Cannot graph this:"))
        #expect(range.body.contains("invalid expression type &quot;range vector&quot; for range query"))
        // Hostile text in the box is text.
        let hostile = try await hub.get("/graph?expr=%3Cscript%3Ewindow.__pwned%3D1%3C%2Fscript%3E")
        #expect(!hostile.body.contains("<script>window"))
        #expect(hostile.body.contains("&lt;script&gt;window.__pwned=1&lt;/script&gt;</textarea>"))
        #expect(hostile.body.contains("Parse error:"))
    }

    /// The API answers through the same runner: its refusals are unchanged.
    static func checkAPIRefusals(_ hub: HTTPTestClient) async throws {
        func error(_ path: String) async throws -> (status: Int, type: String?, message: String?) {
            let answer = try await hub.get(path)
            let json = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any]
            return (answer.status, json?["errorType"] as? String, json?["error"] as? String)
        }
        let zero = try await error("/api/v1/query_range?query=up&start=0&end=100&step=0")
        #expect(zero.status == 400 && zero.type == "bad_data")
        #expect(zero.message?.hasPrefix(#"invalid parameter "step": zero or negative"#) == true)
        let many = try await error("/api/v1/query_range?query=up&start=0&end=100000&step=0.001")
        #expect(many.message == "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)")
        let type = try await error("/api/v1/query_range?query=up%5B5m%5D&start=0&end=100&step=10")
        #expect(type.status == 400 && type.message == #"invalid expression type "range vector" for range query, must be Scalar or instant Vector"#)
        let parse = try await error("/api/v1/query?query=up%7Benv%3D%7D")
        #expect(parse.status == 400 && parse.message?.contains("1:8: parse error") == true)
        let timeout = try await error("/api/v1/query?query=up&timeout=soon")
        #expect(timeout.status == 400 && timeout.message == #"invalid parameter "timeout": cannot parse "soon" to a valid duration"#)
    }

    /// The first `href` of an element of `cssClass`.
    static func href(_ cssClass: String, in html: String) throws -> String {
        let regex = try Regex(#"class="\#(cssClass)" href="([^"]*)""#)
        return String(try #require(html.firstMatch(of: regex), "no \(cssClass) link").output[1].substring!)
    }

    static func checkLinks(_ hub: HTTPTestClient) async throws {
        // The overview: each team's occurrences per service.
        let overview = try await hub.get("/")
        let (teamQuery, teamItems) = try HubGraphPageTests.expr(ofLink: try href("team-graph", in: overview.body))
        #expect(teamQuery == #"sum by (service) (increase(canopy_exceptions_total{team="payments"}[1h]))"#)
        #expect(try HubGraphPageTests.matcher("team", in: teamQuery) == "payments")
        #expect(teamItems.first { $0.name == "tab" }?.value == "graph")
        #expect(teamItems.first { $0.name == "range" }?.value == "1d")

        // A group: the query behind its bars, and the same by its series' own label (env).
        let page = try await hub.json("/api/v1/groups") as? [String: Any]
        let group = try #require((page?["groups"] as? [[String: Any]])?.first { $0["aggregation_key"] as? String == Self.key })
        let id = try #require(group["id"] as? Int)
        let detail = try await hub.get("/groups/\(id)?range=24h")
        #expect(detail.status == 200)
        let (counts, countItems) = try HubGraphPageTests.expr(ofLink: try href("graph-counts", in: detail.body))
        #expect(counts.hasPrefix("sum(increase(canopy_exceptions_total{"))
        #expect(counts.hasSuffix("}[30m]))"), "one increase per bar of the day's chart")
        #expect(try HubGraphPageTests.matcher("aggregation_key", in: counts) == Self.key)
        #expect(try HubGraphPageTests.matcher("service", in: counts) == "checkout")
        #expect(countItems.first { $0.name == "range" }?.value == "24h")
        #expect(countItems.first { $0.name == "step" }?.value == "30m")
        let (breakdown, _) = try HubGraphPageTests.expr(ofLink: try href("graph-breakdown", in: detail.body))
        #expect(breakdown.hasPrefix("sum by (env) (increase(canopy_exceptions_total{"), "\(breakdown)")
        #expect(try HubGraphPageTests.matcher("aggregation_key", in: breakdown) == Self.key)
        #expect(detail.body.contains(#"<a class="graph-breakdown" href=""#) && detail.body.contains(">By env</a>"))
        // The query is shown as text too, escaped for HTML (with `<wbr>`s to wrap at).
        #expect(detail.body.replacingOccurrences(of: "<wbr>", with: "").contains("<code>sum(increase(canopy_exceptions_total{"))
        #expect(!detail.body.contains("<b>now</b>"))
        // And the links lead to a page that takes their parameters.
        let graph = try await hub.get(try href("graph-counts", in: detail.body).replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&step=30m", with: "&step=0"))
        #expect(graph.status == 200 && graph.body.contains("zero or negative"), "a refused step, so that nothing is evaluated")
        #expect(graph.body.contains(#"aggregation_key=&quot;card \&quot;declined\&quot; \\ &lt;b&gt;now&lt;/b&gt; &amp; then&quot;}[30m]))</textarea>"#))
    }
}
