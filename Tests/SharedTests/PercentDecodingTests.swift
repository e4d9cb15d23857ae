import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import Shared

/// Every encoded character means that character, decoded exactly once, in paths and queries.
@Suite struct PercentDecodingTests {
    @Test func pathsKeepOnlyStructuralEscapesForTheLastStep() {
        #expect(PercentDecoding.predecodedPath("/services/payments%3Acheckout/errors/") == "/services/payments:checkout/errors/")
        #expect(PercentDecoding.predecodedPath("/api/%76%31/teams") == "/api/v1/teams")
        #expect(PercentDecoding.predecodedPath("/k/a%2fb%3Fc%23d%25e%20f") == "/k/a%2Fb%3Fc%23d%25e f")
        #expect(PercentDecoding.predecodedPath("/k/%C3%BCber+x") == "/k/über+x")  // `+` in a path is a plus
        #expect(PercentDecoding.predecodedPath("/k/100%2520") == "/k/100%2520")  // `%25` stays for the last step
        #expect(PercentDecoding.predecodedPath("/k/%ZZ") == nil)
        #expect(PercentDecoding.predecodedPath("/k/%FF") == nil)  // not UTF-8
        #expect(PercentDecoding.predecodedPath("/k/%4") == nil)
        #expect(PercentDecoding.segment("100%2520") == "100%20")
        #expect(PercentDecoding.segment("a%2Fb") == "a/b")
    }

    @Test func queriesDecodeOnceWithFormSpaces() throws {
        let items = try PercentDecoding.QueryItems("q=C%2B%2B&p=100%2520&s=a+b&%71%32=x&empty=&bare")
        #expect(items["q"] == "C++")
        #expect(items["p"] == "100%20")
        #expect(items["s"] == "a b")
        #expect(items["q2"] == "x")
        #expect(items["empty"] == "")
        #expect(items["bare"] == "")
        #expect(items["missing"] == nil)
        #expect(try PercentDecoding.QueryItems("a=1&a=2")["a"] == "1")
        #expect(throws: PercentDecoding.QueryItems.Malformed.self) { try PercentDecoding.QueryItems("ok=1&q=100%ZZ") }
        do {
            _ = try PercentDecoding.QueryItems("ok=1&q=%E2%82")
            Issue.record("a truncated UTF-8 sequence decoded")
        } catch {
            #expect(error.item == "q=%E2%82")
        }
    }

    /// Through a real router: constants and parameters match decoded, malformed escapes are 400s.
    @Test func theResponderDecodesBeforeRouting() async throws {
        let router = Router()
        router.get("services/:name/errors") { request, context in
            "\(try context.parameters.decoded("name"))|\(request.query("q") ?? "-")"
        }
        router.get("keys/**") { request, _ in RawPath.tail(of: request, from: 1) ?? "-" }
        let app = Application(responder: PercentDecodingResponder(router.buildResponder()))
        try await app.test(.router) { client in
            func get(_ uri: String) async throws -> (HTTPResponse.Status, String) {
                let response = try await client.execute(uri: uri, method: .get)
                return (response.status, String(buffer: response.body))
            }
            #expect(try await get("/services/payments%3Acheckout/errors") == (.ok, "payments:checkout|-"))
            #expect(try await get("/%73ervices/a%2Fb%25c/errors?q=C%2B%2B") == (.ok, "a/b%c|C++"))
            #expect(try await get("/services/x/errors?q=100%2520") == (.ok, "x|100%20"))
            #expect(try await get("/services/x/errors?q=two+words") == (.ok, "x|two words"))
            #expect(try await get("/services/x+y/errors") == (.ok, "x+y|-"))
            #expect(try await get("/keys/a%2Fb/c%3Fd%23e") == (.ok, "a/b/c?d#e"))
            let badPath = try await get("/services/%ZZ/errors")
            #expect(badPath.0 == .badRequest)
            #expect(badPath.1.contains(#"invalid percent-encoding in the path \/services\/%ZZ\/errors"#))
            let badQuery = try await get("/services/x/errors?q=%E2%82")
            #expect(badQuery.0 == .badRequest)
            #expect(badQuery.1.contains("invalid percent-encoding in the query parameter q=%E2%82"))
        }
    }
}
