import CanopyTestSupport
import Foundation
import Rules
import Shared
import Testing

@testable import Hub

/// The hub's `/alerts` and `/rules` pages on a hub in process, on a real database fed by a real
/// leaf scraping two targets, with rules evaluated every second: a firing alert about a group, a
/// pending one about a team, a broken rule's error, the filters, the nav's count and the empty
/// states. The pages' pure parts (the URL, the order, the drawing) are tested without a hub.
@Suite struct HubAlertPagesTests {
    /// A key with what HTML must escape.
    static let key = #"card <declined> & "retried""#

    static let rules = """
        groups:
          - name: exceptions
            rules:
              - record: team:canopy_exceptions:total
                expr: sum by (team) (canopy_exceptions_total)
              - alert: GroupOverThree
                expr: sum by (team, service, aggregation_key) (canopy_exceptions_total) > 3
                labels: {severity: page}
                annotations:
                  summary: "<b>too many</b> card declines"
                  description: more than three of one group
                  runbook_url: https://runbooks.example/declines
              - alert: TeamSlowBurn
                expr: sum by (team) (canopy_exceptions_total) > 1
                for: 1h
                keep_firing_for: 5m
              - alert: Broken
                expr: canopy_exceptions_total + on(team) canopy_exceptions_total
        """

    /// A hub evaluating `rules` every second over one group (5 occurrences in prod, 2 in
    /// staging), once the first alert fires, the second waits (both at 7) and the broken rule
    /// has failed.
    static func withAlertingHub(
        key: String = Self.key, rules: String = Self.rules, _ body: (_ hub: HTTPTestClient, _ ruleFile: String) async throws -> Void
    ) async throws {
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            let prod = FakeTarget()
            let staging = FakeTarget()
            prod.report(key, total: 5)
            staging.report(key, total: 2)
            try await withServices([prod.makeApplication(), staging.makeApplication()]) {
                try await withTemporaryDirectory { directory in
                    let leaf = try HubEndToEndTests.Leaf(
                        team: "payments", service: "checkout", targets: [await prod.address(), await staging.address()],
                        labels: [["env": "prod"], ["env": "staging"]], directory: directory)
                    try await leaf.start()
                    let ruleFile = directory + "/alerts.rules.yml"
                    try rules.write(toFile: ruleFile, atomically: true, encoding: .utf8)
                    try await withInProcessHub(
                        database: database, cluster: cluster, leaves: [("payments", leaf.port)], directory: directory, ruleFiles: [ruleFile],
                        evaluationInterval: "1s"
                    ) { base in
                        let hub = HTTPTestClient(base: base)
                        let ready = try await eventually(timeout: .seconds(30)) {
                            let alerts = try await HubRulesTests.alerts(hub)
                            let states = alerts.compactMap { $0["state"] as? String }.sorted()
                            // Both targets counted: the leaf may have sent one before the other.
                            let values = Set(alerts.compactMap { $0["value"] as? String })
                            let broken = try await HubRulesTests.rules(hub)["Broken"]?["health"] as? String
                            return states == ["firing", "pending"] && values == ["7e+00"] && broken == "err"
                        }
                        try #require(ready, "an alert fires, one waits and the broken rule fails")
                        try await body(hub, ruleFile)
                    }
                    await leaf.stop()
                }
            }
        }
    }

    /// Each alert card of a page by its alert's name.
    static func cards(_ html: String) -> [String: String] {
        var cards: [String: String] = [:]
        for card in html.components(separatedBy: #"<li class="alert-card"#).dropFirst() {
            // The page lets long names and values wrap at `<wbr>`s; the text is what counts here.
            let card = card.replacingOccurrences(of: "<wbr>", with: "")
            guard let start = card.range(of: #"<span class="alert-title">"#), let end = card[start.upperBound...].range(of: "</span>") else { continue }
            cards[String(card[start.upperBound..<end.lowerBound])] = card.components(separatedBy: "\n</li>").first ?? card
        }
        return cards
    }

    /// Each rule card of the rules page by its rule's name.
    static func ruleCards(_ html: String) -> [String: String] {
        var cards: [String: String] = [:]
        for card in html.components(separatedBy: #"<li class="rule-card"#).dropFirst() {
            // The page lets long names and values wrap at `<wbr>`s; the text is what counts here.
            let card = card.replacingOccurrences(of: "<wbr>", with: "")
            guard let start = card.range(of: #"<span class="rule-title">"#), let end = card[start.upperBound...].range(of: "</span>") else { continue }
            cards[String(card[start.upperBound..<end.lowerBound])] = card.components(separatedBy: "\n</li>").first ?? card
        }
        return cards
    }

    static let groupOverThree = "sum by (team, service, aggregation_key) (canopy_exceptions_total) > 3"
    static let groupOverThreeHref = "/graph?tab=table&amp;expr=sum%20by%20%28team%2C%20service%2C%20aggregation_key%29%20%28canopy_exceptions_total%29%20%3E%203"

    @Test func theAlertsAndRulesPagesShowWhatTheRulesFound() async throws {
        try await Self.withAlertingHub { hub, ruleFile in
            try await Self.checkAlerts(hub)
            try await Self.checkFilters(hub)
            try await Self.checkRules(hub, ruleFile: ruleFile)
        }
    }

    static func checkAlerts(_ hub: HTTPTestClient) async throws {
        let page = try await hub.get("/alerts")
        #expect(page.status == 200)
        let html = page.body
        // Firing first, then pending, each a section with its count.
        let firing = try #require(html.range(of: #"<h2 id="alerts-firing">Firing <span class="muted section-count">1</span></h2>"#), "\(html)")
        let pending = try #require(html.range(of: #"<h2 id="alerts-pending">Pending <span class="muted section-count">1</span></h2>"#))
        #expect(firing.lowerBound < pending.lowerBound)
        #expect(html.contains(#"<p class="result-summary alerts-summary">1 firing, 1 pending</p>"#))
        let cards = Self.cards(html)
        #expect(cards.keys.sorted() == ["GroupOverThree", "TeamSlowBurn"])

        // The firing alert: state, summary over description, its labels as chips, value, start, links.
        let group = try #require(cards["GroupOverThree"])
        #expect(group.hasPrefix(#" alert-card-firing">"#))
        #expect(group.contains(#"<span class="badge alert-state alert-firing">firing</span> <span class="alert-title">GroupOverThree</span>"#))
        #expect(group.contains(#"<p class="alert-summary">&lt;b&gt;too many&lt;/b&gt; card declines</p>"#), "\(group)")
        #expect(group.contains(#"<p class="alert-description">more than three of one group</p>"#))
        #expect(group.contains(#"<dt>runbook_url</dt><dd>https://runbooks.example/declines</dd>"#))
        let chips = [
            #"<li><span class="label-name">aggregation_key</span>=<span class="label-value">card &lt;declined&gt; &amp; &quot;retried&quot;</span></li>"#,
            #"<li><span class="label-name">service</span>=<span class="label-value">checkout</span></li>"#,
            #"<li><span class="label-name">severity</span>=<span class="label-value">page</span></li>"#,
            #"<li><span class="label-name">team</span>=<span class="label-value">payments</span></li>"#,
        ]
        #expect(group.contains(#"<ul class="label-list label-chips" aria-label="Labels">"# + chips.joined() + "</ul>"), "\(group)")
        #expect(!group.contains(#"<span class="label-name">alertname</span>"#), "the name is the card's title")
        #expect(group.contains(#"<dd class="mono alert-value" title="7">7</dd>"#))
        #expect(group.contains(#"<dd class="alert-since"><time datetime=""#))
        #expect(group.contains(#" UTC</span></dd>"#), "the absolute time beside the relative one")
        #expect(group.contains(#"<a class="alert-graph" href="\#(Self.groupOverThreeHref)">"#), "\(group)")
        #expect(group.contains(#"<div class="alert-silence"></div>"#), "the place for silences is there, empty")

        // Its group's page, found by the group's labels.
        let groups = try #require(try await hub.json("/api/v1/groups") as? [String: Any])
        let id = try #require((groups["groups"] as? [[String: Any]])?.first?["id"] as? Int)
        #expect(group.contains(#" · <a class="alert-group" href="/groups/\#(id)">The group's page</a>"#), "\(group)")
        let groupPage = try await hub.get("/groups/\(id)")
        #expect(groupPage.status == 200 && groupPage.body.contains("card &lt;declined&gt;"))
        // The expression link runs the rule's expression on the graph page.
        let graph = try await hub.get(Self.groupOverThreeHref.replacingOccurrences(of: "&amp;", with: "&"))
        #expect(graph.body.contains(">\(Self.groupOverThree.replacingOccurrences(of: ">", with: "&gt;"))</textarea>"), "\(graph.body)")
        #expect(graph.body.contains(#"<table class="query-result">"#), "it evaluates: \(graph.body)")

        // The pending alert: about a team, so no group link.
        let team = try #require(cards["TeamSlowBurn"])
        #expect(team.hasPrefix(#" alert-card-pending">"#))
        #expect(team.contains(#"<span class="badge alert-state alert-pending">pending</span>"#))
        #expect(team.contains(#"<li><span class="label-name">team</span>=<span class="label-value">payments</span></li></ul>"#))
        #expect(!team.contains("alert-summary") && !team.contains("alert-group"))
        #expect(team.contains(#"title="7">7</dd>"#))

        // The nav counts the firing alert on every page, and marks this one.
        let count = #"<span class="nav-count" title="1 firing, 1 pending" aria-hidden="true">1</span><span class="visually-hidden"> (1 firing, 1 pending)</span>"#
        #expect(html.contains(#"<a href="/alerts" aria-current="page">Alerts "# + count + "</a>"), "\(html)")
        for path in ["/", "/groups", "/rules", "/graph", "/leaves", "/groups/\(id)", "/groups/0"] {
            let other = try await hub.get(path).body
            #expect(other.contains(#"<a href="/alerts">Alerts "# + count), "\(path)")
            #expect(other.contains(#"<a href="/rules""#), "\(path)")
        }
    }

    static func checkFilters(_ hub: HTTPTestClient) async throws {
        func shown(_ query: String) async throws -> [String] { Self.cards(try await hub.get("/alerts" + query).body).keys.sorted() }
        #expect(try await shown("?state=firing") == ["GroupOverThree"])
        #expect(try await shown("?state=pending") == ["TeamSlowBurn"])
        #expect(try await shown("?q=TeamSlow") == ["TeamSlowBurn"])
        #expect(try await shown("?q=severity%3Dpage") == ["GroupOverThree"])
        // Every word must be in a label: both alerts are the team's, one is a page.
        #expect(try await shown("?q=payments") == ["GroupOverThree", "TeamSlowBurn"])
        #expect(try await shown("?q=PAYMENTS+page") == ["GroupOverThree"])
        #expect(try await shown("?state=pending&q=page") == [])
        let filtered = try await hub.get("/alerts?state=firing&q=payments").body
        #expect(filtered.contains(#"<option value="firing" selected>firing</option>"#))
        #expect(filtered.contains(#"<input type="search" name="q" value="payments""#))
        #expect(filtered.contains("1 firing, 1 pending; 1 matches the filters"))
        #expect(!filtered.contains(#"id="alerts-pending""#))

        let none = try await hub.get("/alerts?q=nothing-like-this").body
        #expect(none.contains(#"<p class="empty-title">No alerts match</p>"#), "\(none)")
        #expect(none.contains(#"<a class="button-link" href="/alerts">Reset the filters</a>"#))
        let bad = try await hub.get("/alerts?state=resolved").body
        #expect(bad.contains(#"<strong class="banner-title">Bad parameter:</strong> <span class="banner-message">invalid parameter &quot;state&quot;: &quot;resolved&quot; is neither firing nor pending</span>"#))
        #expect(Self.cards(bad).count == 2, "an unknown state filters nothing")
    }

    static func checkRules(_ hub: HTTPTestClient, ruleFile: String) async throws {
        let page = try await hub.get("/rules")
        #expect(page.status == 200)
        let html = page.body
        #expect(html.contains(#"<a href="/rules" aria-current="page">Rules</a>"#))
        #expect(html.contains(#"<p class="result-summary">4 rules in 1 group, 1 failing</p>"#), "\(html)")
        // The failing rule is named at the top, its group marked, its card marked and its error shown whole.
        #expect(html.contains(##"<strong class="banner-title">A rule fails:</strong> <a href="#rule-0-3">Broken (exceptions)</a></div>"##), "\(html)")
        #expect(html.contains(#"<h2 id="group-0">exceptions <span class="badge health-down">1 failing</span></h2>"#))
        // The path wraps after its slashes and dots on a phone.
        #expect(html.contains(#"<div class="fact-wide"><dt>File</dt><dd class="mono">\#(SafeHTML.breakable(ruleFile).html)</dd></div>"#))
        #expect(html.contains(#"<div><dt>Interval</dt><dd>1s</dd></div>"#))
        let groupFacts = try #require(html.components(separatedBy: #"<dl class="facts rule-group-facts">"#).last?.components(separatedBy: "</dl>").first)
        #expect(groupFacts.contains(#"<div><dt>Last evaluation</dt><dd><time datetime=""#), "\(groupFacts)")

        let cards = Self.ruleCards(html)
        #expect(cards.keys.sorted() == ["Broken", "GroupOverThree", "TeamSlowBurn", "team:canopy_exceptions:total"])
        let broken = try #require(cards["Broken"])
        #expect(broken.hasPrefix(#" rule-err" id="rule-0-3">"#), "\(broken)")
        #expect(broken.contains(#"<span class="badge health-down">err</span>"#))
        let error = try #require(try await HubRulesTests.rules(hub)["Broken"]?["lastError"] as? String)
        #expect(error.contains("many-to-many"))
        #expect(broken.contains(#"<div class="rule-error"><strong>Last error:</strong><pre><code>\#(HTMLEscape.text(error))</code></pre></div>"#), "\(broken)")

        let group = try #require(cards["GroupOverThree"])
        #expect(group.hasPrefix(#"" id="rule-0-1">"#), "a healthy card is not marked: \(group)")
        #expect(group.contains(#"<span class="badge rule-type">alert</span> <span class="rule-title">GroupOverThree</span> <span class="badge health-up">ok</span>"#))
        #expect(group.contains(#"<pre class="rule-expr"><a href="\#(Self.groupOverThreeHref)" title="Run on the graph page"><code>sum by (team, service, aggregation_key) (canopy_exceptions_total) &gt; 3</code></a></pre>"#))
        #expect(group.contains(#"<div><dt>For</dt><dd>0s</dd></div><div><dt>Keep firing for</dt><dd>0s</dd></div>"#))
        #expect(group.contains(#"<a class="rule-alerts" href="/alerts?q=GroupOverThree">1 firing, 0 pending</a>"#))
        #expect(group.contains(#"<li><span class="label-name">severity</span>=<span class="label-value">page</span></li>"#))
        #expect(group.contains(#"<div><dt>summary</dt><dd>&lt;b&gt;too many&lt;/b&gt; card declines</dd></div>"#))
        #expect(group.contains(#"<div><dt>Last evaluation</dt><dd><time datetime=""#))
        #expect(!group.contains("rule-error"))

        let team = try #require(cards["TeamSlowBurn"])
        #expect(team.contains(#"<div><dt>For</dt><dd>1h</dd></div><div><dt>Keep firing for</dt><dd>5m</dd></div>"#))
        #expect(team.contains(#"<a class="rule-alerts" href="/alerts?q=TeamSlowBurn">0 firing, 1 pending</a>"#))
        #expect(!team.contains("label-chips"), "no labels, no chips")

        let record = try #require(cards["team:canopy_exceptions:total"])
        #expect(record.contains(#"<span class="badge rule-type">record</span>"#))
        #expect(!record.contains("rule-alerts") && !record.contains("<dt>For</dt>"))
        // The link from a rule to its alerts shows them.
        #expect(Self.cards(try await hub.get("/alerts?q=GroupOverThree").body).keys.sorted() == ["GroupOverThree"])
    }

    /// A hub whose rule never fires says that nothing is firing, and its nav counts nothing;
    /// without rule files the rules page says none are loaded.
    @Test func nothingFiringAndNoRulesAreSaid() async throws {
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            try await withTemporaryDirectory { directory in
                let ruleFile = directory + "/quiet.rules.yml"
                try "groups:\n  - name: quiet\n    rules:\n      - alert: NeverFires\n        expr: vector(1) < 0\n".write(toFile: ruleFile, atomically: true, encoding: .utf8)
                try await withInProcessHub(
                    database: database, cluster: cluster, leaves: [], directory: directory, ruleFiles: [ruleFile], evaluationInterval: "1s"
                ) { base in
                    let hub = HTTPTestClient(base: base)
                    try await expectEventually(timeout: .seconds(20)) { try await HubRulesTests.rules(hub)["NeverFires"]?["health"] as? String == "ok" }
                    let alerts = try await hub.get("/alerts").body
                    #expect(alerts.contains(#"<p class="empty-title">Nothing is firing</p>"#), "\(alerts)")
                    #expect(alerts.contains(#"<p class="empty-detail">No alert is firing or pending. The 1 alerting rule is evaluated and quiet.</p>"#))
                    #expect(alerts.contains(#"<a class="button-link" href="/rules">See the rules</a>"#))
                    #expect(!alerts.contains("alert-card") && !alerts.contains("alerts-summary"))
                    #expect(alerts.contains(#"<a href="/alerts" aria-current="page">Alerts</a>"#), "no count when nothing fires")
                    let rules = try await hub.get("/rules").body
                    #expect(rules.contains(#"<p class="result-summary">1 rule in 1 group, 0 failing</p>"#))
                    #expect(rules.contains(#"<a class="rule-alerts" href="/alerts?q=NeverFires">none firing or pending</a>"#))
                    #expect(!rules.contains("banner-error"))

                    // Reloaded without rule files: nothing can fire, and the rules page says why.
                    let config = directory + "/hub.yml"
                    let text = try String(contentsOfFile: config, encoding: .utf8)
                    try text.replacingOccurrences(of: "rule_files: ['\(ruleFile)']", with: "rule_files: []").write(toFile: config, atomically: true, encoding: .utf8)
                    #expect(try await hub.request("/-/reload", method: .POST).status == 200)
                    let empty = try await hub.get("/rules").body
                    #expect(empty.contains(#"<p class="empty-title">No rules loaded</p>"#), "\(empty)")
                    #expect(!empty.contains("rule-card") && !empty.contains("result-summary"))
                    #expect(try await hub.get("/alerts").body.contains(#"<p class="empty-title">Nothing is firing: no alerting rules are loaded</p>"#))
                }
            }
        }
    }

    // MARK: Without a hub

    static let now = Date(timeIntervalSince1970: 1_746_280_800)  // 2025-05-03 14:00:00 UTC

    /// A board whose rules of `text` have the alerts `alerts` (by rule name: labels and how long
    /// ago each became active; those older than the rule's `for` fire), and the given failures.
    static func report(_ text: String, alerts: [String: [(labels: [String: String], since: Double)]] = [:], errors: [String: String] = [:]) async throws
        -> RuleReport
    {
        let file = try RuleFile.parse(text, file: "rules.yml")
        let board = RuleBoard()
        for group in file.groups {
            for (rule, key) in zip(group.rules, RuleKey.keys(group)) {
                if let error = errors[rule.name] { await board.recordRule(key, at: now, seconds: 0.002, error: error) }
                guard case .alerting(let name, let holdFor, _) = rule.kind, let list = alerts[name] else { continue }
                var state = AlertingRuleState()
                for (labels, since) in list {
                    let activeAt = now.addingTimeInterval(-since)
                    var all = labels
                    all["alertname"] = name
                    try state.evaluate(
                        state.active.values.filter { $0.state != .inactive } + [Alert(labels: all, annotations: [:], value: 1, activeAt: activeAt)],
                        at: activeAt, holdFor: holdFor, keepFiringFor: .zero, limit: 0)
                }
                let current = state.active.values.map { Alert(labels: $0.labels, annotations: [:], value: 1, activeAt: now) }
                try state.evaluate(current, at: now, holdFor: holdFor, keepFiringFor: .zero, limit: 0)
                await board.setAlertState(state, for: key)
            }
        }
        return await board.report(RuleSettings(files: ["rules.yml"], groups: file.groups, evaluationInterval: .seconds(60)))
    }

    static let threeRules = """
        groups:
          - name: g
            rules:
              - alert: Zeta
                expr: up == 0
              - alert: Alpha
                expr: up == 0
                for: 10m
              - record: job:up:sum
                expr: sum by (job) (up)
        """

    @Test func firingComesFirstThenPendingEachByNameAndLabels() async throws {
        let report = try await Self.report(
            Self.threeRules,
            alerts: [
                "Zeta": [(["job": "b"], 60), (["job": "a"], 60)],
                "Alpha": [(["job": "x"], 3600), (["job": "y"], 60)],
            ])
        let order = AlertsPage.items(report).map { "\($0.alert.state.rawValue) \($0.alert.labels["alertname"] ?? "") \($0.alert.labels["job"] ?? "")" }
        #expect(order == ["firing Alpha x", "firing Zeta a", "firing Zeta b", "pending Alpha y"])
        #expect(AlertsPage.items(report).first?.expression == "up == 0")
        #expect(await RuleBoard().alertCounts() == AlertCounts())
    }

    @Test func theFilterReadsStateAndWordsInLabels() throws {
        func filter(_ query: String) throws -> AlertsPage.Filter { AlertsPage.Filter(try PercentDecoding.QueryItems(query[...]).items) }
        let alert = Alert(labels: ["alertname": "CanopyNewException", "team": "payments", "service": "checkout"], annotations: ["summary": "hidden"], value: 1, activeAt: Self.now)
        #expect(try filter("").matches(alert) && !filter("").isActive)
        #expect(try filter("q=payments").matches(alert))
        #expect(try filter("q=team%3Dpay").matches(alert))
        #expect(try filter("q=canopynew+CHECKOUT").matches(alert))
        #expect(try !filter("q=canopynew+search").matches(alert), "every word must be found")
        #expect(try !filter("q=hidden").matches(alert), "annotations are not labels")
        #expect(try !filter("q=team%3Dcheckout").matches(alert), "a name=value word is one label's")
        #expect(try filter("state=pending").matches(alert), "a new alert is pending")
        #expect(try !filter("state=firing").matches(alert))
        #expect(try filter("state=inactive").problems == [#"invalid parameter "state": "inactive" is neither firing nor pending"#])
        #expect(try filter("state=inactive").matches(alert))
        // The group an alert is about needs all three of its labels.
        #expect(AlertsPage.group(of: alert) == nil)
        var grouped = alert
        grouped.labels["aggregation_key"] = "k"
        #expect(AlertsPage.group(of: grouped) == HubQueries.GroupIdentity(team: "payments", service: "checkout", key: "k"))
    }

    @Test func hostileLabelsAndAnnotationsAreText() async throws {
        let hostile = #"<script>window.__pwned=1</script><img src=x onerror="x()">"#
        var alert = Alert(labels: ["alertname": "A", "team": hostile], annotations: ["summary": hostile, "x": hostile], value: .nan, activeAt: Self.now)
        alert.state = .firing
        let item = AlertsPage.Item(alert: alert, expression: #"up{job="<b>"} == 0"#, ruleGroup: hostile)
        let view = AlertsPage.view(AlertsPage.Filter([]), [item], alertingRules: 1, groupIDs: [:], groupLookup: "connection refused", now: Self.now)
        let html = try WebTemplates(pages: HubPageTemplates.all).page(HubPages.chrome("Alerts", path: "/alerts"), template: "hubAlerts", view)
        #expect(!html.contains("<script>window") && !html.contains("<img"))
        #expect(html.contains("&lt;script&gt;window.__pwned=1&lt;/script&gt;"))
        #expect(html.contains(#"title="NaN">NaN</dd>"#))
        #expect(html.contains(#"href="/graph?tab=table&amp;expr=up%7Bjob%3D%22%3Cb%3E%22%7D%20%3D%3D%200""#))
        #expect(html.contains(#"<strong class="banner-title">No links to the groups:</strong> <span class="banner-message">connection refused</span>"#))
        #expect(html.contains(#"<a href="/alerts" aria-current="page">Alerts</a>"#), "the static chrome counts nothing")
    }

    @Test func aRuleNeverEvaluatedIsUnknownAndFailuresAreListed() async throws {
        let report = try await Self.report(Self.threeRules, errors: ["Zeta": "query timed out", "job:up:sum": #"bad "thing""#])
        let view = RulesPage.view(report, now: Self.now)
        #expect(view.summary == "3 rules in 1 group, 2 failing")
        #expect(view.failingTitle == "2 rules fail:")
        #expect(view.failing.map(\.name) == ["Zeta (g)", "job:up:sum (g)"])
        #expect(view.failing.map(\.last) == [false, true])
        let alpha = try #require(view.groups.first?.rules.first { $0.name == "Alpha" })
        #expect(alpha.cardClass == "rule-card rule-unknown" && alpha.health.label == "unknown" && !alpha.hasError)
        #expect(!alpha.lastEvaluation.known && alpha.duration == "")
        #expect(alpha.holdFor == "10m" && alpha.alertsText == "none firing or pending")
        let zeta = try #require(view.groups.first?.rules.first { $0.name == "Zeta" })
        #expect(zeta.cardClass == "rule-card rule-err" && zeta.lastError == "query timed out" && zeta.duration == "2 ms")
        #expect(view.groups.first?.interval == "1m" && view.groups.first?.lastEvaluation.known == false)
        let html = try WebTemplates(pages: HubPageTemplates.all).page(HubPages.chrome("Rules", path: "/rules"), template: "hubRules", view)
        #expect(html.contains(##"<a href="#rule-0-0">Zeta (g)</a>, <a href="#rule-0-2">job:up:sum (g)</a></div>"##), "\(html)")
        #expect(html.contains(#"<pre><code>bad &quot;thing&quot;</code></pre>"#))
        #expect(html.contains(#"<div><dt>Last evaluation</dt><dd><span class="muted">never</span></dd></div>"#))
    }
}

/// The alerts and rules pages in a real headless Chromium at a wide desktop and a phone, on a
/// hub whose alert has a long key without spaces and whose rule has a long expression: the nav
/// reaches both pages, nothing makes the page scroll sideways, the text keeps the contrast of
/// the rest of the UI in both colour schemes, and the links between them work.
@Suite(.serialized) struct HubAlertPagesBrowserTests {
    static let screenshots = HubWebTests.screenshots
    static let key = "com.example.payments.checkout.CardDeclinedException:" + String(repeating: "PaymentProcessorRetryHandler.", count: 6) + "charge"
    static let rules = HubAlertPagesTests.rules.replacingOccurrences(
        of: "expr: sum by (team, service, aggregation_key) (canopy_exceptions_total) > 3",
        with: #"expr: sum by (team, service, aggregation_key) (canopy_exceptions_total{aggregation_key=~"com\\.example\\.payments\\.checkout\\..*PaymentProcessorRetryHandler.*|never-this-one-or-any-other-group-of-the-teams"}) > 3"#)

    /// How far the page is wider than the viewport, and the elements (by selector) whose right
    /// edge passes it.
    static let overflowScript = """
        const width = document.documentElement.clientWidth;
        const out = [document.documentElement.scrollWidth - width];
        for (const selector of arguments[0]) {
          for (const element of document.querySelectorAll(selector)) {
            if (element.getBoundingClientRect().right > width + 0.5) out.push(selector);
          }
        }
        return out;
        """

    /// The elements (by selector) whose text has less than 4.5:1 contrast with the first opaque
    /// background behind it (WCAG AA for body text).
    static let contrastScript = """
        function rgb(text) {
          const m = text.match(/rgba?\\(([^)]+)\\)/);
          if (!m) return null;
          const p = m[1].split(/[ ,\\/]+/).filter(x => x).map(parseFloat);
          return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
        }
        function luminance(c) {
          const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
          return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
        }
        function background(element) {
          for (let e = element; e; e = e.parentElement) {
            const c = rgb(getComputedStyle(e).backgroundColor);
            if (c && c.a > 0.5) return c;
          }
          return rgb(getComputedStyle(document.documentElement).backgroundColor) || {r: 255, g: 255, b: 255, a: 1};
        }
        const low = [];
        let checked = 0;
        for (const selector of arguments[0]) {
          for (const element of document.querySelectorAll(selector)) {
            const a = luminance(rgb(getComputedStyle(element).color)), b = luminance(background(element));
            const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
            checked += 1;
            if (ratio < 4.5) low.push(selector + ' ' + ratio.toFixed(2));
          }
        }
        return [checked].concat(low);
        """

    static func overflow(_ browser: Browser, _ selectors: [String]) async throws -> [String] {
        let value = try await browser.execute(Self.overflowScript, [.array(selectors.map { .string($0) })])
        let parts = value.array ?? []
        var problems: [String] = []
        if let extra = parts.first?.number, extra > 0 { problems.append("the page is \(extra) px too wide") }
        problems += parts.dropFirst().compactMap(\.string)
        return problems
    }

    /// The selectors whose text lacks contrast; throws when none of them is on the page.
    static func lowContrast(_ browser: Browser, _ selectors: [String]) async throws -> [String] {
        let parts = try await browser.execute(Self.contrastScript, [.array(selectors.map { .string($0) })]).array ?? []
        #expect((parts.first?.number ?? 0) >= Double(selectors.count), "every selector is on the page: \(parts)")
        return parts.dropFirst().compactMap(\.string)
    }

    @Test func theNavReachesBothPagesAndTheyFitADesktopAndAPhone() async throws {
        try FileManager.default.createDirectory(atPath: Self.screenshots, withIntermediateDirectories: true)
        try await HubAlertPagesTests.withAlertingHub(key: Self.key, rules: Self.rules) { hub, _ in
            let base = hub.base
            try await Browser.withBrowser { browser in
                for width in [1400, 390] {
                    try await browser.resize(BrowserWindow(width: width, height: 900))
                    try await browser.emulateColorScheme(dark: false)
                    // From the overview, the nav's Alerts link (with its count) opens the alerts.
                    try await browser.open(base + "/")
                    let link = try await browser.find("nav.site-nav a[href='/alerts']")
                    #expect(try await browser.find("nav.site-nav a[href='/alerts'] .nav-count").text() == "1", "at \(width) px")
                    try await link.click()
                    _ = try await browser.waitFor("li.alert-card")
                    #expect(try await browser.currentURL() == base + "/alerts")
                    #expect(try await browser.find("main h1").text() == "Alerts")
                    #expect(try await browser.find("nav.site-nav a[aria-current=page]").attribute("href") == "/alerts")
                    #expect(try await browser.findAll("#alerts-firing + ol > li.alert-card").count == 1, "at \(width) px")
                    #expect(try await browser.findAll("#alerts-pending + ol > li.alert-card").count == 1, "at \(width) px")
                    #expect(try await browser.find("li.alert-card-firing .alert-summary").text() == "<b>too many</b> card declines")
                    let chip = try await browser.find("li.alert-card-firing .label-chips li:first-child").text()
                    #expect(chip == "aggregation_key=" + Self.key)
                    let alertBoxes = ["li.alert-card", ".label-chips li", ".alert-facts dd", "form.filters", ".alert-links a"]
                    #expect(try await Self.overflow(browser, alertBoxes) == [], "at \(width) px")
                    #expect(try await Self.lowContrast(browser, [".alert-firing", ".alert-pending", ".nav-count", ".alert-summary", ".label-chips li"]) == [])
                    try await browser.screenshot(to: Self.screenshots + "/hub-alerts-\(width).png")

                    // The nav's Rules link: the broken rule stands out with its error; the long expression wraps.
                    try await browser.find("nav.site-nav a[href='/rules']").click()
                    _ = try await browser.waitFor("li.rule-card")
                    #expect(try await browser.currentURL() == base + "/rules")
                    #expect(try await browser.find("main h1").text() == "Rules")
                    #expect(try await browser.findAll("li.rule-card").count == 4)
                    #expect(try await browser.find("li.rule-err .rule-title").text() == "Broken")
                    #expect(try await browser.find("li.rule-err .rule-error").text().contains("many-to-many"))
                    #expect(try await browser.find("li.rule-err .badge.health-down").cssValue("background-color") != "rgba(0, 0, 0, 0)")
                    let ruleBoxes = ["li.rule-card", "pre.rule-expr", ".rule-error pre", ".facts", ".rules-failing", ".label-chips li"]
                    #expect(try await Self.overflow(browser, ruleBoxes) == [], "at \(width) px")
                    #expect(try await browser.factsAwayFromTheirLabels() == [], "at \(width) px")
                    #expect(try await Self.lowContrast(browser, [".rule-error", ".health-down", ".health-up", ".rule-expr a", ".rule-type"]) == [])
                    try await browser.screenshot(to: Self.screenshots + "/hub-rules-\(width).png")
                    try await browser.execute("document.querySelector('li.rule-err').scrollIntoView()")
                    try await browser.screenshot(to: Self.screenshots + "/hub-rules-error-\(width).png")
                }

                // The dark scheme keeps the contrast.
                try await browser.resize(BrowserWindow(width: 1400, height: 900))
                try await browser.emulateColorScheme(dark: true)
                try await browser.open(base + "/alerts")
                #expect(try await Self.lowContrast(browser, [".alert-firing", ".alert-pending", ".nav-count", ".alert-summary", ".label-chips li"]) == [])
                try await browser.screenshot(to: Self.screenshots + "/hub-alerts-dark.png")
                try await browser.open(base + "/rules")
                #expect(try await Self.lowContrast(browser, [".rule-error", ".health-down", ".health-up", ".rule-expr a", ".rule-type"]) == [])
                try await browser.screenshot(to: Self.screenshots + "/hub-rules-dark.png")
                try await browser.emulateColorScheme(dark: false)

                // A rule's alerts link opens the alerts page filtered to it; the filter form narrows by state.
                try await browser.find("a.rule-alerts[href='/alerts?q=TeamSlowBurn']").click()
                _ = try await browser.waitFor("li.alert-card")
                #expect(try await browser.currentURL() == base + "/alerts?q=TeamSlowBurn")
                #expect(try await browser.findAll("li.alert-card").count == 1)
                try await browser.find("input[name=q]").clear()
                try await browser.find("select[name=state] option[value=firing]").click()
                try await browser.find("form.filters button[type=submit]").click()
                let filtered = try await eventually(timeout: .seconds(10)) { try await browser.currentURL().contains("state=firing") }
                #expect(filtered)
                #expect(try await browser.findAll("li.alert-card-firing").count == 1)
                #expect(try await browser.findAll("li.alert-card-pending").isEmpty)
                // The firing alert's links reach its group's page and the graph page.
                try await browser.find("a.alert-group").click()
                _ = try await browser.waitFor(".group-status")
                #expect(try await browser.find(".group-key").text() == Self.key)
                try await browser.open(base + "/alerts?state=firing")
                try await browser.find("a.alert-graph").click()
                _ = try await browser.waitFor("table.query-result")
                #expect(try await browser.findAll("table.query-result tbody tr").count == 1)
            }
        }
    }
}
