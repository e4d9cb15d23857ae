import CanopyTestSupport
import Foundation
import Periskop
import Testing

@testable import Shared

/// The `sample` partial: a service's exception with its causes and request, every field escaped,
/// and a curl line that a shell reads back as exactly the recorded request.
@Suite struct WebSampleTests {
    let templates: WebTemplates

    init() throws { templates = try WebTemplates() }

    static func sample(
        className: String = "java.io.IOException",
        message: String = "connection reset",
        stacktrace: [String] = ["at a.B.c(B.java:1)", "at a.B.main(B.java:9)"],
        cause: ErrorInstance? = nil,
        uuid: String = "0f6c1f7e-0000-4000-8000-000000000001",
        httpContext: HTTPContext? = nil
    ) -> ErrorWithContext {
        ErrorWithContext(
            error: ErrorInstance(className: className, message: message, stacktrace: stacktrace, cause: cause),
            uuid: uuid,
            timestamp: WebFixtures.now.addingTimeInterval(-120),
            severity: .warning,
            httpContext: httpContext
        )
    }

    func render(_ sample: ErrorWithContext) throws -> String {
        try templates.render("sample", SampleView(sample, now: WebFixtures.now)).html
    }

    @Test func showsTimeSeverityClassMessageAndStackTrace() throws {
        let html = try render(Self.sample())
        #expect(html.contains(#"<span class="severity severity-warning">warning</span>"#))
        #expect(html.contains(#"<time datetime="2025-05-03T13:58:00Z" title="2025-05-03 13:58:00 UTC">2 min ago</time>"#))
        #expect(html.contains(#"<strong class="sample-class">java.<wbr>io.<wbr>IOException</strong> <span class="sample-message">connection reset</span>"#))
        #expect(html.contains("<pre class=\"stacktrace\"><code>at a.B.c(B.java:1)\nat a.B.main(B.java:9)</code></pre>"))
        #expect(html.contains("0f6c1f7e-0000-4000-8000-000000000001"))

        var untimed = Self.sample(stacktrace: [])
        untimed.timestamp = nil
        let bare = try render(untimed)
        #expect(bare.contains(#"<span class="muted">no time</span>"#))
        #expect(!bare.contains("<time"))
        #expect(!bare.contains("stacktrace"))
    }

    @Test func hostileStringsInEveryFieldRenderAsText() throws {
        let hostile = [
            WebFixtures.script, WebFixtures.image, WebFixtures.alertScript, WebFixtures.alertImage, #"" onmouseover="alert(1)"#,
            "'><svg onload=alert(1)>", "</code></pre><script>alert(1)</script>",
        ]
        for text in hostile {
            let context = HTTPContext(requestMethod: text, requestURL: text, requestHeaders: [text: text, "X": text], requestBody: text)
            let cause = ErrorInstance(className: text, message: text, stacktrace: [text], cause: ErrorInstance(className: text, message: text))
            let html = try render(
                Self.sample(className: text, message: text, stacktrace: [text, text], cause: cause, uuid: text, httpContext: context))
            #expect(!html.contains("<script>"), "\(text)")
            #expect(!html.contains("<img"), "\(text)")
            #expect(!html.contains("<svg"), "\(text)")
            #expect(!html.contains(#"" onmouseover"#), "\(text)")
            #expect(!html.contains("'>"), "\(text)")
            #expect(html.components(separatedBy: "</code></pre>").count - 1 == 4, "\(text): only the kit's own <pre> blocks")
            // Class, message, trace, cause (twice), uuid, method, URL, header name and values, body, curl.
            #expect(html.components(separatedBy: HTMLEscape.text(text)).count - 1 >= 14, "\(text)")
        }
    }

    @Test func curlLineQuotesForTheShell() throws {
        let context = HTTPContext(
            requestMethod: "PUT",
            requestURL: "https://shop.example/cart?item=1&note=it's",
            requestHeaders: ["X-Note": #"O'Brien said "hi" $HOME `id`"#, "Content-Type": "application/json", "Content-Length": "999"],
            requestBody: "{\"name\": \"O'Brien\",\n \"cmd\": \"$(rm -rf /)\"}\n'; echo pwned; '"
        )
        let curl = CurlCommand.make(context)
        #expect(
            curl == #"""
                curl -X PUT 'https://shop.example/cart?item=1&note=it'\''s' \
                  -H 'Content-Type: application/json' \
                  -H 'X-Note: O'\''Brien said "hi" $HOME `id`' \
                  --data-raw '{"name": "O'\''Brien",
                 "cmd": "$(rm -rf /)"}
                '\''; echo pwned; '\'''
                """#
        )
        // A shell reads it back as exactly these arguments (curl replaced by a function that prints them).
        let arguments = try Self.shellArguments(of: curl)
        #expect(
            arguments == [
                "-X", "PUT", "https://shop.example/cart?item=1&note=it's", "-H", "Content-Type: application/json",
                "-H", #"X-Note: O'Brien said "hi" $HOME `id`"#, "--data-raw", context.requestBody!,
            ]
        )

        #expect(CurlCommand.shellQuote("plain-word_1.2/x:y@z=%+,") == "plain-word_1.2/x:y@z=%+,")
        #expect(CurlCommand.shellQuote("") == "''")
        #expect(CurlCommand.shellQuote("~root *") == "'~root *'")
        #expect(CurlCommand.shellQuote("'") == #"''\'''"#)
        // GET without a body and POST with one name no method; a URL like an option is given with --url.
        #expect(CurlCommand.make(HTTPContext(requestMethod: "GET", requestURL: "http://a/b")) == "curl http://a/b")
        #expect(
            CurlCommand.make(HTTPContext(requestMethod: "POST", requestURL: "http://a/", requestBody: "x")) == "curl http://a/ \\\n  --data-raw x")
        #expect(CurlCommand.make(HTTPContext(requestMethod: "GET", requestURL: "http://a/", requestBody: "x")).hasPrefix("curl -X GET http://a/"))
        #expect(CurlCommand.make(HTTPContext(requestMethod: "GET", requestURL: "-o/tmp/x")) == "curl --url -o/tmp/x")
        #expect(try Self.shellArguments(of: CurlCommand.make(HTTPContext(requestMethod: "GET", requestURL: "-o/tmp/x"))) == ["--url", "-o/tmp/x"])

        // On the page: escaped once, inside the copy element.
        let html = try render(Self.sample(httpContext: context))
        #expect(html.contains("<code data-copy>" + HTMLEscape.text(curl) + "</code>"))
        // The table shows every recorded header; the curl line leaves out the one curl computes.
        #expect(html.contains(#"<th scope="row" class="mono">Content-Length</th><td class="mono">999</td>"#))
        #expect(!curl.contains("Content-Length"))
        #expect(
            html.contains(
                #"<span class="request-method">PUT</span> <span class="request-url">https://<wbr>shop.<wbr>example/<wbr>cart?<wbr>item=<wbr>1&amp;<wbr>note=<wbr>it&#39;s</span>"#))
        #expect(html.contains(#"<tr><th scope="row" class="mono">Content-Type</th><td class="mono">application/<wbr>json</td></tr>"#))
        #expect(html.contains(#"<pre class="request-body"><code>{&quot;name&quot;: &quot;O&#39;Brien&quot;,"#))
    }

    @Test func aSampleWithoutHTTPContextHasNoRequestSection() throws {
        let html = try render(Self.sample())
        #expect(!html.contains("http-context"))
        #expect(!html.contains("data-copy"))
        #expect(!html.contains("Request"))
        let view = SampleView(Self.sample(), now: WebFixtures.now)
        #expect(!view.hasHTTP)

        // A request without headers or body: the request line and the curl, nothing empty.
        let bare = try render(Self.sample(httpContext: HTTPContext(requestMethod: "GET", requestURL: "http://a/health")))
        #expect(bare.contains(#"<span class="request-method">GET</span> <span class="request-url">http://<wbr>a/<wbr>health</span>"#))
        #expect(!bare.contains("request-headers"))
        #expect(!bare.contains("request-body"))
        #expect(bare.contains("<code data-copy>curl http://a/health</code>"))
    }

    @Test func aThreeLevelCauseChainShowsEveryCauseInOrder() throws {
        let root = ErrorInstance(className: "java.net.SocketException", message: "reset by peer", stacktrace: ["at Socket.read"])
        let middle = ErrorInstance(className: "java.io.IOException", message: "read failed", stacktrace: ["at Stream.read"], cause: root)
        let top = ErrorInstance(className: "db.QueryException", message: "query failed", stacktrace: [], cause: middle)
        let sample = Self.sample(className: "app.CheckoutException", message: "checkout failed", cause: top)
        let view = SampleView(sample, now: WebFixtures.now)
        #expect(view.causes.map(\.errorClass) == ["db.QueryException", "java.io.IOException", "java.net.SocketException"])
        #expect(view.causes.map(\.depth) == [1, 2, 3])
        #expect(view.causes.map(\.hasStacktrace) == [false, true, true])

        let html = try render(sample)
        #expect(html.components(separatedBy: #"<section class="cause">"#).count - 1 == 3)
        let order = [
            "app.CheckoutException", "db.QueryException", "query failed", "java.io.IOException", "at Stream.read", "java.net.SocketException",
            "at Socket.read",
        ]
        // Class names wrap at their dots (`<wbr>`); the order is the text's.
        let text = html.replacingOccurrences(of: "<wbr>", with: "")
        let positions = order.map { text.range(of: $0)?.lowerBound }
        #expect(positions.allSatisfy { $0 != nil })
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())
        #expect(SampleView.list([sample, Self.sample()], now: WebFixtures.now).map(\.causes.count) == [3, 0])
    }

    /// The words `sh` splits `command` into, after `curl`.
    static func shellArguments(of command: String) throws -> [String] {
        let (status, output) = try ChildProcess.run("/bin/sh", ["-c", #"curl() { for a in "$@"; do printf '%s\0' "$a"; done; }; "# + command])
        guard status == 0 else { throw TestFailure("sh exited with \(status)") }
        return output.split(separator: "\0", omittingEmptySubsequences: false).dropLast().map(String.init)
    }
}
