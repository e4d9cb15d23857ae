import Foundation
import Periskop
import Testing

@Suite struct CollectorTests {
    /// 64 tasks × 1,000 reports over 5 error types from one call site: 5 groups with exact totals,
    /// each with exactly 10 samples in the order they were kept.
    @Test func concurrentReportsCountExactly() async throws {
        let collector = ExceptionCollector()
        let errors: [any Error] = [DiskFull(), Timeout(), ParseFailure.badToken("x"), Declined(), NSError(domain: "io", code: 5)]
        await withTaskGroup(of: Void.self) { group in
            for task in 0..<64 {
                group.addTask {
                    for index in 0..<1_000 {
                        reportFromSiteA(collector, errors[(task + index) % errors.count])
                    }
                }
            }
        }
        let payload = collector.payload()
        #expect(payload.aggregatedErrors.count == 5)
        #expect(payload.aggregatedErrors.map(\.totalCount) == Array(repeating: 12_800, count: 5))
        for group in payload.aggregatedErrors {
            #expect(group.latestErrors.count == 10)
            #expect(Set(group.latestErrors.map(\.uuid)).count == 10)
            let times = group.latestErrors.compactMap(\.timestamp)
            #expect(times == times.sorted(), "samples are kept oldest first")
            #expect(group.createdAt! <= times[0])
        }
        #expect(Set(payload.aggregatedErrors.map { $0.latestErrors[0].error.className }).count == 5)
    }

    @Test func keepsTheTenNewestSamples() {
        let collector = ExceptionCollector()
        for number in 0..<25 { collector.report(Numbered(number: number), key: "numbered") }
        let group = try! #require(collector.payload().group("numbered"))
        #expect(group.totalCount == 25)
        #expect(group.latestErrors.map(\.error.message) == (15..<25).map { "failure \($0)" })
    }

    @Test func keyHasTheDocumentedShapeAndIsStableAcrossCollectors() throws {
        let one = ExceptionCollector()
        let two = ExceptionCollector()
        #expect(one.targetUUID != two.targetUUID)
        // One call site (the frames above it included, so one line in a loop).
        for collector in [one, two, one] { reportFromSiteA(collector, DiskFull()) }
        let key = try #require(one.payload().aggregatedErrors.first?.aggregationKey)
        #expect(two.payload().aggregatedErrors.first?.aggregationKey == key)
        #expect(key.wholeMatch(of: /PeriskopClientTests\.DiskFull@[0-9a-f]{8}/) != nil, "\(key)")

        // Another message at the same site, the same message at another site: other keys.
        for (error, site) in [(Numbered(number: 1), 0), (DiskFull(), 1)] as [(any Error, Int)] {
            if site == 0 { reportFromSiteA(one, error) } else { reportFromSiteB(one, error) }
        }
        let payload = one.payload()
        #expect(payload.aggregatedErrors.count == 3)
        #expect(payload.group(key)?.totalCount == 2)
        #expect(Set(payload.aggregatedErrors.map(\.aggregationKey)).count == 3)

        // The key is exactly the documented hash of the message and the top 4 frames.
        let sample = try #require(payload.group(key)?.latestErrors.first)
        let frames = keyFrames(of: sample.error.stacktrace)
        #expect(AggregationKey.make(className: "PeriskopClientTests.DiskFull", message: "disk full", frames: frames) == key)
    }

    @Test func fnv1aMatchesTheReferenceVectors() {
        // FNV-1a 64 of "" is cbf29ce484222325, of "a" af63dc4c8601ec8c.
        #expect(AggregationKey.make(className: "E", message: "", frames: []) == "E@cbf29ce4")
        #expect(AggregationKey.make(className: "E", message: "a", frames: []) == "E@af63dc4c")
        #expect(FNV1a64("").hex16 == "cbf29ce484222325")
        #expect(FNV1a64("a").hex16 == "af63dc4c8601ec8c")
        #expect(FNV1a64("foobar").hex16 == "85944171f73967e8")
    }

    @Test func framesLoseAddressesAndOffsets() {
        #expect(
            AggregationKey.normalise(
                frame: "/opt/swift/usr/lib/swift/linux/libFoundation.so($s10Foundation6ThreadC16callStackSymbolsSaySSGvgZ+0x2e) [0x7f35637799de]")
                == "libFoundation.so($s10Foundation6ThreadC16callStackSymbolsSaySSGvgZ)")
        #expect(AggregationKey.normalise(frame: "/srv/app/bin/checkout(+0x1b41) [0x55d6280e1b41]") == "checkout(+0x1b41)")
        #expect(
            AggregationKey.normalise(frame: "/lib/x86_64-linux-gnu/libc.so.6(__libc_start_main+0x85) [0x7f356286c305]")
                == "libc.so.6(__libc_start_main)")
        #expect(AggregationKey.normalise(frame: "3   MyApp                0x0000000100003f2c $s5MyApp4mainyyF + 44") == "MyApp $s5MyApp4mainyyF")
        // The collector's own frames are skipped: the first frame is the caller's.
        let collector = ExceptionCollector()
        reportFromSiteA(collector, Timeout())
        let stack = collector.payload().aggregatedErrors[0].latestErrors[0].error.stacktrace
        #expect(!stack.isEmpty)
        #expect(!stack.contains { $0.contains("callStackSymbols") || $0.contains("ExceptionCollector") })
        #expect(stack[0].contains("reportFromSiteA"), "\(stack[0])")
        #expect(!stack.contains { $0.contains("[0x") })
    }

    @Test func boundsTheNumberOfKeys() {
        let collector = ExceptionCollector(maxKeys: 3)
        for index in 0..<10 { collector.report(Numbered(number: index), key: "k\(index)") }
        collector.report(Timeout(), key: "k1")
        let payload = collector.payload()
        #expect(payload.totals == ["k0": 1, "k1": 2, "k2": 1, ExceptionCollector.overflowKey: 7])
        // The overflow samples say what overflowed.
        #expect(payload.group(ExceptionCollector.overflowKey)?.latestErrors.map(\.error.message) == (3..<10).map { "failure \($0)" })
    }

    @Test func messagesAndClassNames() {
        let collector = ExceptionCollector()
        collector.report(Declined(), key: "a")
        collector.report(ParseFailure.badToken("}"), key: "b")
        collector.report(NSError(domain: "db", code: 7, userInfo: [NSLocalizedDescriptionKey: "connection refused"]), key: "c")
        collector.report(hiddenError(), key: "d")
        let errors = collector.payload().aggregatedErrors.map { $0.latestErrors[0].error }
        #expect(errors.map(\.message) == ["card declined", "badToken(\"}\")", "connection refused", "Hidden()"])
        #expect(
            errors.map(\.className) == [
                "PeriskopClientTests.Declined", "PeriskopClientTests.ParseFailure", "Foundation.NSError", "PeriskopClientTests.Hidden",
            ])
    }

    @Test func causeChains() throws {
        let collector = ExceptionCollector()
        let root = NSError(domain: "posix", code: 61, userInfo: [NSLocalizedDescriptionKey: "connection refused"])
        let middle = NSError(domain: "db", code: 1, userInfo: [NSLocalizedDescriptionKey: "query failed", NSUnderlyingErrorKey: root])
        collector.report(Wrapped(description: "checkout failed", cause: middle), key: "chain")
        collector.report(Loop(), key: "loop")
        collector.report(Timeout(), key: "none")
        let payload = collector.payload()
        let chain = try #require(payload.group("chain")?.latestErrors.first?.error)
        #expect(chain.message == "checkout failed")
        #expect(chain.cause?.message == "query failed")
        #expect(chain.cause?.cause?.message == "connection refused")
        #expect(chain.cause?.cause?.className == "Foundation.NSError")
        #expect(chain.causeDepth == 2)
        #expect(chain.cause?.stacktrace == [])
        #expect(payload.group("loop")?.latestErrors.first?.error.causeDepth == ErrorDescription.maxCauseDepth)
        #expect(payload.group("none")?.latestErrors.first?.error.cause == nil)
    }

    @Test func severityAndHTTPContextPerSample() throws {
        let collector = ExceptionCollector()
        let context = HTTPContext(requestMethod: "POST", requestURL: "/pay", requestHeaders: ["x-request-id": "42"])
        collector.report(Timeout(), key: "t", severity: .info)
        collector.report(Timeout(), key: "t", severity: .warning, httpContext: context)
        collector.report(Timeout(), key: "t", severity: .info)
        collector.report(Timeout(), key: "u")
        let payload = collector.payload()
        let group = try #require(payload.group("t"))
        #expect(group.severity == .warning, "the most severe seen")
        #expect(group.latestErrors.map(\.severity) == [.info, .warning, .info])
        #expect(group.latestErrors[1].httpContext == context)
        #expect(group.latestErrors[0].httpContext == nil)
        #expect(payload.group("u")?.severity == .error, "error by default")
    }

    @Test func exportIsWhatTheDecoderReadsAndStableWhileNothingHappens() throws {
        let collector = ExceptionCollector()
        collector.report(Wrapped(description: "outer \"quoted\" ✓", cause: DiskFull()), severity: .warning)
        collector.report(Timeout(), key: "odd/key@v2 ü", httpContext: HTTPContext(requestMethod: "GET", requestURL: "/x?y=1"))
        let json = collector.exportJSON()
        #expect(json == collector.exportJSON())
        let decoded = try PayloadDecoder().decode(json)
        #expect(decoded.targetUUID == collector.targetUUID)
        #expect(decoded.totals == collector.payload().totals)
        #expect(decoded == (try PayloadDecoder().decode(PayloadEncoder().encode(decoded))))
        let original = collector.payload()
        for (got, want) in zip(decoded.aggregatedErrors, original.aggregatedErrors) {
            #expect(got.latestErrors.map(\.error) == want.latestErrors.map(\.error))
            #expect(got.latestErrors.map(\.uuid) == want.latestErrors.map(\.uuid))
            #expect(got.latestErrors.map(\.httpContext) == want.latestErrors.map(\.httpContext))
        }
    }

    @Test func longMessagesAreCut() {
        let collector = ExceptionCollector()
        collector.report(Wrapped(description: String(repeating: "é", count: 20_000), cause: nil), key: "long")
        let message = collector.payload().aggregatedErrors[0].latestErrors[0].error.message
        #expect(message.utf8.count == ErrorDescription.maxMessageLength)
    }
}

