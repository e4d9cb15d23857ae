import Foundation
import Periskop
import Testing

@testable import Hub

/// The hub's bug fingerprint over stack traces as each Periskop client writes them: what goes
/// (directories, lines, offsets, addresses, generated names' numbers) and what stays.
@Suite struct BugFingerprintTests {
    static let pythonFixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../Fixtures/periskop/python-client-0.2.0_real-export.json").standardizedFileURL

    @Test func pythonTracebacksFromTheRealClient() throws {
        let payload = try PayloadDecoder().decode(Data(contentsOf: Self.pythonFixture))
        let json = try #require(payload.aggregatedErrors.first { $0.latestErrors.first?.error.className == "JSONDecodeError" })
        let trace = try #require(json.latestErrors.first?.error.stacktrace)
        // Innermost first, without source lines, carets and the final message line.
        #expect(BugFingerprint.frames(of: trace) == ["decoder.py:raw_decode", "decoder.py:decode", "__init__.py:loads", "gen.py:parse", "gen.py:<module>"])
        // Another installation of the same code (other directories, other lines, another caller).
        let moved = [
            "Traceback (most recent call last):",
            "  File \"/opt/billing/main.py\", line 99, in handle",
            "    run()",
            "  File \"/opt/billing/gen.py\", line 70, in parse",
            "    return json.loads(body)",
            "  File \"/usr/lib/python3.12/json/__init__.py\", line 340, in loads",
            "    return _default_decoder.decode(s)",
            "  File \"/usr/lib/python3.12/json/decoder.py\", line 330, in decode",
            "    obj, end = self.raw_decode(s, idx=_w(s, 0).end())",
            "  File \"/usr/lib/python3.12/json/decoder.py\", line 350, in raw_decode",
            "    raise JSONDecodeError(\"Expecting value\", s, err.value) from None",
            "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
        ]
        #expect(
            BugFingerprint.make(className: "JSONDecodeError", message: "Expecting value: line 1 column 1 (char 0)", stacktrace: moved)
                == BugFingerprint.make(className: "JSONDecodeError", message: "Expecting value: line 1 column 7 (char 6)", stacktrace: trace))
        #expect(BugFingerprint.make(className: "ValueError", message: "", stacktrace: moved) != BugFingerprint.make(className: "JSONDecodeError", message: "", stacktrace: moved))
        // A chained exception: the frames of the last traceback, the one raised.
        let chained = [
            "Traceback (most recent call last):", "  File \"/a/x.py\", line 3, in first", "KeyError: 'id'", "",
            "During handling of the above exception, another exception occurred:", "",
            "Traceback (most recent call last):", "  File \"/a/y.py\", line 9, in second", "    raise ValueError()", "ValueError",
        ]
        #expect(BugFingerprint.frames(of: chained) == ["y.py:second"])
        // The lines of one traceback may come as one string.
        #expect(BugFingerprint.frames(of: [moved.joined(separator: "\n")]) == BugFingerprint.frames(of: moved))
    }

    /// Every group of every real client's export gets a fingerprint; the Scala spec's two
    /// messages raised at two lines of one frame are one bug, the Ruby fixture's frames read.
    @Test func theClientsFixtures() throws {
        let directory = Self.pythonFixture.deletingLastPathComponent()
        func groups(_ file: String) throws -> [AggregatedError] {
            try PayloadDecoder().decode(Data(contentsOf: directory.appendingPathComponent(file))).aggregatedErrors
        }
        for file in try FileManager.default.contentsOfDirectory(atPath: directory.path) where file.hasSuffix(".json") && !file.hasSuffix("schema.json") {
            for group in (try? groups(file)) ?? [] {
                let error = group.latestErrors.first?.error
                let fingerprint = BugFingerprint.make(className: error?.className ?? "", message: error?.message ?? "", stacktrace: error?.stacktrace ?? [])
                #expect(fingerprint.count == 16 && fingerprint.allSatisfy(\.isHexDigit), "\(file): \(group.aggregationKey)")
            }
        }
        let scala = try groups("scala-client_export-from-ExceptionExporterSpec.json").compactMap(\.latestErrors.first?.error).filter { !$0.stacktrace.isEmpty }
        try #require(scala.count == 2)
        #expect(Set(scala.map { BugFingerprint.make(className: $0.className, message: $0.message, stacktrace: $0.stacktrace) }).count == 1)
        let ruby = try #require(try groups("ruby-client_export-constructed.json").first?.latestErrors.first?.error)
        #expect(BugFingerprint.frames(of: ruby.stacktrace) == ["app.rb:/", "app.rb:div", "app.rb:<main>"])
    }

    @Test func javaAndScalaFrames() {
        let java = [
            "java.lang.IllegalStateException: order 42 has no lines",
            "\tat com.shop.orders.Validator.lambda$check$0(Validator.java:42)",
            "\tat com.shop.orders.Validator$$Lambda$14/0x0000000800c03000.apply(Unknown Source)",
            "\tat java.base/java.util.Optional.map(Optional.java:260)",
            "\tat app//com.shop.Checkout$1.run(Checkout.java:17)",
            "\t... 5 more",
            "Caused by: java.io.IOException: closed",
            "\tat com.shop.Io.read(Io.java:3)",
        ]
        #expect(
            BugFingerprint.frames(of: java) == [
                "com.shop.orders.Validator.lambda$check$", "com.shop.orders.Validator$$Lambda$.apply", "java.util.Optional.map", "com.shop.Checkout$.run",
            ])
        // periskop-scala writes the frames without `at `; `$anonfun` numbers go too.
        #expect(BugFingerprint.frames(of: ["kls.mthd(file:1)", "kls.mthd(file:2)"]) == ["kls.mthd", "kls.mthd"])
        #expect(BugFingerprint.frames(of: ["shop.Orders.$anonfun$load$1(Orders.scala:12)"]) == ["shop.Orders.$anonfun$load$"])
        let rebuilt = java.map { $0.replacingOccurrences(of: "42)", with: "57)").replacingOccurrences(of: "$14/0x0000000800c03000", with: "$31/0x0000000801a0b400") }
        #expect(BugFingerprint.make(className: "IllegalStateException", message: "a", stacktrace: java) == BugFingerprint.make(className: "IllegalStateException", message: "b", stacktrace: rebuilt))
    }

    @Test func goFrames() {
        // periskop-go: a file line, then the name with its source line (when the source is there).
        let periskopGo = [
            "/home/ci/go/src/github.com/shop/orders/validate.go:12", "\tcheck.func1: return errors.New(\"no lines\")",
            "/home/ci/go/src/github.com/shop/orders/validate.go:30", "\t(*Validator).Run: if err := check(o); err != nil {",
            "/usr/local/go/src/net/http/server.go:2136", "\tHandlerFunc.ServeHTTP: f(w, r)",
        ]
        #expect(BugFingerprint.frames(of: periskopGo) == ["validate.go:check.func", "validate.go:(*Validator).Run", "server.go:HandlerFunc.ServeHTTP"])
        // Without the source on the machine: file names alone.
        #expect(BugFingerprint.frames(of: ["/srv/a/validate.go:12", "/srv/a/main.go:9"]) == ["validate.go", "main.go"])
        // debug.Stack's shape: the call, then the file with an offset.
        let stack = [
            "goroutine 7 [running]:", "github.com/shop/orders.check.func2.1(0xc000012345)", "\t/build/orders/validate.go:12 +0x1f",
            "github.com/shop/orders.(*Validator).Run(...)", "\t/build/orders/validate.go:30 +0x8a", "created by net/http.(*Server).Serve",
            "\t/usr/local/go/src/net/http/server.go:3086 +0x5cb",
        ]
        #expect(BugFingerprint.frames(of: stack) == ["validate.go:orders.check.func", "validate.go:orders.(*Validator).Run"])
        // The Go client's fixture has no frame: class and message decide.
        let fixture = ["line 12:", "syntax error"]
        #expect(BugFingerprint.frames(of: fixture).isEmpty)
        #expect(BugFingerprint.make(className: "testing", message: "a", stacktrace: fixture) != BugFingerprint.make(className: "testing", message: "b", stacktrace: fixture))
        #expect(BugFingerprint.make(className: "testing", message: "a", stacktrace: fixture) == BugFingerprint.make(className: "testing", message: "a", stacktrace: []))
    }

    @Test func rubyFrames() {
        // As the Ruby fixture writes them, and as Ruby 3.4 does (quotes, class-qualified names).
        #expect(BugFingerprint.frames(of: ["app.rb:6:in `/'", "app.rb:6:in `div'", "app.rb:10:in `<main>'"]) == ["app.rb:/", "app.rb:div", "app.rb:<main>"])
        #expect(
            BugFingerprint.frames(of: ["/srv/shop/lib/orders.rb:12:in 'block (2 levels) in Orders#load'", "from /srv/shop/lib/orders.rb:20:in 'Orders#load'"])
                == ["orders.rb:block in Orders#load", "orders.rb:Orders#load"])
    }

    @Test func swiftFrames() {
        // This project's client: names in images, file and line added later, inlined lines.
        let located = [
            "[inlined] Orders.check(_:) in app at /src/Sources/App/Orders.swift:40",
            "closure #2 in Orders.load(_:) in app at /src/Sources/App/Orders.swift:12",
            "Checkout.run() in app at /src/Sources/App/Checkout.swift:7",
            "app(+0x1b41)",
        ]
        #expect(BugFingerprint.frames(of: located) == ["closure in Orders.load(_:) in app", "Checkout.run() in app", "app(+0x1b41)"])
        // The first samples of a stack have names only: the same fingerprint.
        let names = ["closure #2 in Orders.load(_:) in app", "Checkout.run() in app", "app(+0x1b41)"]
        #expect(BugFingerprint.make(className: "App.OrderError", message: "", stacktrace: names) == BugFingerprint.make(className: "App.OrderError", message: "", stacktrace: located))
        // `Thread.callStackSymbols` lines, Linux and Darwin.
        #expect(
            BugFingerprint.frames(of: ["/usr/lib/libFoundation.so(foo+0x2e) [0x7f35a1b2c3d4]", "3   MyApp   0x0000000100003f2c $s5MyApp4mainyyF + 44"])
                == ["libFoundation.so(foo)", "MyApp $s5MyApp4mainyyF"])
    }

    @Test func onlyTheInnermostFramesCount() {
        // A library's bug called from two services' code: the same three innermost frames.
        func trace(caller: String) -> [String] {
            [
                "Traceback (most recent call last):", "  File \"/srv/\(caller)/app.py\", line 5, in \(caller)",
                "  File \"/srv/\(caller)/venv/lib/shared_orders/orders.py\", line 20, in load_order",
                "  File \"/srv/\(caller)/venv/lib/shared_orders/orders.py\", line 14, in _validate",
                "  File \"/srv/\(caller)/venv/lib/shared_orders/orders.py\", line 8, in _require", "shared_orders.orders.InvalidOrder: no id",
            ]
        }
        #expect(BugFingerprint.make(className: "InvalidOrder", message: "no id", stacktrace: trace(caller: "checkout"))
            == BugFingerprint.make(className: "InvalidOrder", message: "no id in order 7", stacktrace: trace(caller: "billing")))
        #expect(BugFingerprint.make(className: "InvalidOrder", message: "", stacktrace: trace(caller: "checkout")).count == 16)
        // Stored with newlines, read back the same.
        #expect(BugFingerprint.make(className: "X", message: "m", storedStacktrace: trace(caller: "a").joined(separator: "\n"))
            == BugFingerprint.make(className: "X", message: "m", stacktrace: trace(caller: "a")))
        #expect(BugFingerprint.make(className: "X", message: "m", storedStacktrace: "") == BugFingerprint.make(className: "X", message: "m", stacktrace: []))
    }

    /// The replacements the frames' normalising makes without regexes give what the regexes did,
    /// on many strings made of the characters that matter.
    @Test func numberedReplacementsAgreeWithTheRegexesTheyReplace() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["$", "0", "12", "9", ".", ".func", "/0x", "aF", "g", "closure #", " in", "#", "x", "é"]
        for _ in 0..<3_000 {
            let text = (0..<Int.random(in: 0...12, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            #expect(BugFingerprint.numbered(text, after: "$", with: "$") == text.replacing(#/\$[0-9]+/#, with: "$"), "\(text)")
            #expect(
                BugFingerprint.numbered(text, after: "/0x", digits: BugFingerprint.isHexDigit, with: "") == text.replacing(#/\/0x[0-9a-fA-F]+/#, with: ""),
                "\(text)")
            #expect(BugFingerprint.numbered(text, after: ".func", continued: true, with: ".func") == text.replacing(#/\.func[0-9]+(\.[0-9]+)*/#, with: ".func"), "\(text)")
            #expect(BugFingerprint.numbered(text, after: "closure #", before: " in", with: "closure in") == text.replacing(/closure #[0-9]+ in/, with: "closure in"), "\(text)")
        }
        #expect(BugFingerprint.numbered("main.run.func1.2.3.x", after: ".func", continued: true, with: ".func") == "main.run.func.x")
        #expect(BugFingerprint.numbered("Foo$$Lambda$14/0x0000f00d.apply", after: "/0x", digits: BugFingerprint.isHexDigit, with: "") == "Foo$$Lambda$14.apply")
    }

    /// The cache gives what `make` gives, remembers it, and starts again empty past its bound.
    @Test func theCacheGivesWhatMakeGives() {
        let cache = FingerprintCache(limit: 25)
        let traces = (0..<40).map { "at com.acme.Handler\($0).handle(Handler.java:\($0))\nat com.acme.Server.run(Server.java:1)" }
        for trace in traces + traces {
            #expect(cache.fingerprint(className: "E", message: "m", storedStacktrace: trace) == BugFingerprint.make(className: "E", message: "m", storedStacktrace: trace))
        }
        #expect(cache.count == 80 % 25, "bounded by its entries: \(cache.count)")
        #expect(cache.fingerprint(className: "F", message: "m", storedStacktrace: traces[0]) != cache.fingerprint(className: "E", message: "m", storedStacktrace: traces[0]))
        #expect(cache.fingerprint(className: "E", message: "x", storedStacktrace: "") != cache.fingerprint(className: "E", message: "y", storedStacktrace: ""), "without frames the message counts")
    }
}
