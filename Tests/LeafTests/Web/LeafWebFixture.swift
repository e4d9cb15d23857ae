import CanopyTestSupport
import Foundation
import Periskop
import Shared
import Testing

@testable import Leaf

/// A real leaf of team `payments` scraping real targets for the page tests: `checkout` (one
/// target with a request, a cause chain and secrets to scrub; one more target dropped by
/// relabelling) and `search` (one target whose exception is markup, and one that is down).
enum LeafWebFixture {
    static let script = "<script>window.__pwned=1</script>"
    static let image = #"<img src=x onerror="window.__pwned=1">"#
    static let hostileKey = "hostile/key with spaces & ?x=1"
    static let screenshots = "/tmp/canopy-web-screenshots"

    /// The running leaf's base URL and addresses.
    struct Running: Sendable {
        let base: String
        let checkout: String
        let search: String
        let dead = "127.0.0.1:9"  // the discard port: nothing listens there
    }

    static func screenshot(_ name: String) -> String {
        try? FileManager.default.createDirectory(atPath: screenshots, withIntermediateDirectories: true)
        return screenshots + "/" + name
    }

    static var checkoutPayload: ExceptionsPayload {
        let now = Date()
        let chain = ErrorInstance(
            className: "gateway.GatewayTimeout", message: "gateway did not answer in 5 s", stacktrace: ["at gateway.Client.call(Client.scala:88)"],
            cause: ErrorInstance(
                className: "java.net.SocketTimeoutException", message: "Read timed out",
                stacktrace: ["at java.net.SocketInputStream.read(SocketInputStream.java:150)"]))
        let request = HTTPContext(
            requestMethod: "POST", requestURL: "https://shop.example/pay?order=17&api_key=k3y",
            requestHeaders: ["Authorization": "Bearer t0ken", "Content-Type": "application/json", "X-Note": #"it's "quoted""#],
            requestBody: "{\"user\": \"O'Brien\",\n \"password\": \"hunter2\"}")
        let newest = ErrorWithContext(
            error: ErrorInstance(
                className: "app.PaymentException", message: "card declined",
                stacktrace: ["at app.Checkout.pay(Checkout.scala:42)", "at app.Checkout.run(Checkout.scala:7)"], cause: chain),
            uuid: "6d1b6b64-0000-4000-8000-000000000002", timestamp: now.addingTimeInterval(-90), severity: .error, httpContext: request)
        let older = ErrorWithContext(
            error: ErrorInstance(className: "app.PaymentException", message: "card declined", stacktrace: ["at app.Checkout.pay(Checkout.scala:40)"]),
            uuid: "6d1b6b64-0000-4000-8000-000000000001", timestamp: now.addingTimeInterval(-3600), severity: .error)
        let slow = ErrorWithContext(
            error: ErrorInstance(className: "db.SlowQuery", message: "slow query: 2.3 s", stacktrace: ["at db.Pool.run(Pool.scala:12)"]),
            uuid: "6d1b6b64-0000-4000-8000-000000000003", timestamp: now.addingTimeInterval(-600), severity: .warning)
        return ExceptionsPayload(
            targetUUID: UUID().uuidString,
            aggregatedErrors: [
                AggregatedError(
                    aggregationKey: "PaymentError@1", totalCount: 7, severity: .error, createdAt: now.addingTimeInterval(-86400),
                    latestErrors: [older, newest]),
                AggregatedError(
                    aggregationKey: "SlowQuery@2", totalCount: 3, severity: .warning, createdAt: now.addingTimeInterval(-7200), latestErrors: [slow]),
            ])
    }

    static var searchPayload: ExceptionsPayload {
        let now = Date()
        let hostile = ErrorWithContext(
            error: ErrorInstance(className: script, message: image, stacktrace: [script, image]),
            uuid: "7e2c7c75-0000-4000-8000-000000000001", timestamp: now.addingTimeInterval(-30), severity: .error,
            httpContext: HTTPContext(requestMethod: "GET", requestURL: "https://search.example/?q=" + script, requestHeaders: ["X-Evil": image]))
        let miss = ErrorWithContext(
            error: ErrorInstance(className: "cache.Miss", message: "cache miss for user:42"),
            uuid: "7e2c7c75-0000-4000-8000-000000000002", timestamp: now.addingTimeInterval(-1200), severity: .info)
        return ExceptionsPayload(
            targetUUID: UUID().uuidString,
            aggregatedErrors: [
                AggregatedError(aggregationKey: hostileKey, totalCount: 2, severity: .error, latestErrors: [hostile]),
                AggregatedError(aggregationKey: "CacheMiss", totalCount: 1, severity: .info, latestErrors: [miss]),
            ])
    }

    /// Runs the leaf and its targets; `body` starts once every group is counted and the dead
    /// target is marked down.
    static func withLeaf(_ body: @Sendable (Running) async throws -> Void) async throws {
        let checkout = FakeTarget()
        let search = FakeTarget()
        checkout.payload = checkoutPayload
        search.payload = searchPayload
        try await withServices([checkout.makeApplication(), search.makeApplication()]) {
            let checkoutAddress = await checkout.address()
            let searchAddress = await search.address()
            let config = try LeafHarness.config(
                """
                global: {scrape_interval: 500ms, scrape_timeout: 450ms, external_labels: {team: payments}}
                services:
                - name: checkout
                  static_configs:
                  - {targets: ['\(checkoutAddress)'], labels: {env: prod}}
                  - {targets: ['10.0.0.99:8080'], labels: {env: staging}}
                  relabel_configs: [{source_labels: [env], regex: staging, action: drop}]
                  scraper: {endpoint: /-/exceptions}
                - name: search
                  static_configs: [{targets: ['\(searchAddress)', '127.0.0.1:9'], labels: {env: prod}}]
                  scraper: {endpoint: /-/exceptions}
                """)
            try await LeafHarness.run(config, dataDir: LeafHarness.temporaryDirectory()) { leaf in
                // Generous: a loaded machine (a build beside the tests) slows the first scrapes.
                try await expectEventually("every group counted", timeout: .seconds(30)) {
                    let checkout = try await leaf.totals(of: "checkout")
                    let search = try await leaf.totals(of: "search")
                    return checkout == ["PaymentError@1": 7, "SlowQuery@2": 3] && search == [hostileKey: 2, "CacheMiss": 1]
                }
                try await expectEventually("the dead target is down", timeout: .seconds(30)) {
                    try await leaf.target("http://127.0.0.1:9/-/exceptions")?["health"] as? String == "down"
                }
                try await body(Running(base: leaf.base, checkout: checkoutAddress, search: searchAddress))
            }
        }
    }
}

extension Browser {
    /// The groups table as a person reads it: class, message, service and total of each row.
    func groupRows() async throws -> [[String]] {
        let value = try await execute(
            """
            return Array.from(document.querySelectorAll('table.groups tbody tr')).map(function (row) {
              return [row.querySelector('.error-class').textContent, row.querySelector('.message').textContent,
                      row.querySelector('.service').textContent, row.querySelectorAll('td.num')[0].textContent];
            });
            """)
        return (value.array ?? []).map { ($0.array ?? []).map { $0.string ?? "" } }
    }

    /// Whether the page is no wider than the window (nothing scrolls sideways but boxes made to).
    func fitsTheWindow() async throws -> Bool {
        let widths = try await execute("return [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth];")
        let numbers = (widths.array ?? []).compactMap(\.number)
        return numbers.count == 3 && numbers[0] <= numbers[2] && numbers[1] <= numbers[2]
    }

    /// Chooses `value` in the select `name` and submits the filter form, as a person would.
    func choose(_ value: String, in name: String) async throws {
        try await find("select[name=\(name)] option[value=\"\(value)\"]").click()
        try await find("form.filters button[type=submit]").click()
    }
}
