import Foundation
import Hummingbird
import HummingbirdTesting
import Periskop
import PeriskopHummingbird
import Testing

struct CheckoutBroke: Error, CustomStringConvertible {
    var description: String { "ledger unavailable" }
}

/// An app with the middleware and the exporter, as a service sets them up.
func makeApp(_ collector: ExceptionCollector, bodyLimit: Int? = nil) -> some ApplicationProtocol {
    let router = Router()
    router.add(middleware: PeriskopMiddleware(collector: collector, excludedHeaders: ["X-Api-Key"], bodyLimit: bodyLimit))
    PeriskopEndpoint(collector: collector).addRoutes(to: router)
    router.get("/orders/{id}") { _, _ -> String in throw CheckoutBroke() }
    router.post("/orders") { _, _ -> String in throw CheckoutBroke() }
    router.get("/missing") { _, _ -> String in throw HTTPError(.notFound, message: "no such order") }
    router.get("/unavailable") { _, _ -> String in throw HTTPError(.serviceUnavailable) }
    router.get("/fine") { _, _ in "ok" }
    return Application(router: router)
}

@Suite struct HummingbirdTests {
    @Test func middlewareReportsServerErrorsWithTheRequestAndRethrows() async throws {
        let collector = ExceptionCollector()
        try await makeApp(collector).test(.router) { client in
            let headers: HTTPFields = [
                .authorization: "Bearer secret", .cookie: "session=secret", .init("X-Api-Key")!: "secret",
                .init("X-Request-Id")!: "r-1", .userAgent: "tests",
            ]
            for id in ["1", "2"] {
                try await client.execute(uri: "/orders/\(id)?expand=items", method: .get, headers: headers) { response in
                    #expect(response.status == .internalServerError)
                }
            }
            try await client.execute(uri: "/missing", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/nowhere", method: .get) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/fine", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/unavailable", method: .get) { #expect($0.status == .serviceUnavailable) }
        }
        let payload = collector.payload()
        // One group per error and route (not per URL); 404s are the client's and not reported; a 503 is.
        let orderKey = AggregationKey.make(
            className: "PeriskopClientTests.CheckoutBroke", message: "ledger unavailable", frames: ["GET /orders/{id}"])
        let unavailableKey = AggregationKey.make(
            className: "Hummingbird.HTTPError", message: ErrorDescription.message(of: HTTPError(.serviceUnavailable)), frames: ["GET /unavailable"])
        #expect(payload.totals == [orderKey: 2, unavailableKey: 1])
        let sample = try #require(payload.group(orderKey)?.latestErrors.last)
        let context = try #require(sample.httpContext)
        #expect(context.requestMethod == "GET")
        #expect(context.requestURL == "/orders/2?expand=items")
        #expect(context.requestHeaders["x-request-id"] == "r-1")
        #expect(context.requestHeaders["user-agent"] == "tests")
        #expect(!context.requestHeaders.keys.contains { ["authorization", "cookie", "x-api-key"].contains($0.lowercased()) })
        #expect(!context.requestHeaders.values.contains { $0.contains("secret") })
        #expect(context.requestBody == nil)
        #expect(sample.error.message == "ledger unavailable")
    }

    @Test func bodyOnlyWhenAskedForAndSmall() async throws {
        let collector = ExceptionCollector()
        try await makeApp(collector, bodyLimit: 64).test(.router) { client in
            _ = try await client.execute(uri: "/orders", method: .post, body: ByteBuffer(string: #"{"item":1}"#))
            _ = try await client.execute(uri: "/orders", method: .post, body: ByteBuffer(string: String(repeating: "x", count: 100)))
        }
        let samples = collector.payload().aggregatedErrors.flatMap(\.latestErrors)
        #expect(samples.map { $0.httpContext?.requestBody } == [#"{"item":1}"#, nil])

        let quiet = ExceptionCollector()
        try await makeApp(quiet).test(.router) { client in
            _ = try await client.execute(uri: "/orders", method: .post, body: ByteBuffer(string: "secret"))
        }
        #expect(quiet.payload().aggregatedErrors.first?.latestErrors.first?.httpContext?.requestBody == nil)
    }

    @Test func routeServesThePayloadAsJSON() async throws {
        let collector = ExceptionCollector()
        collector.report(DiskFull(), severity: .warning)
        collector.report(Wrapped(description: "outer", cause: Timeout()), key: "with/cause")
        try await makeApp(collector).test(.router) { client in
            try await client.execute(uri: "/orders/7", method: .get) { _ in }
            try await client.execute(uri: "/-/exceptions", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let decoded = try PayloadDecoder().decode(Array(buffer: response.body))
                #expect(decoded == (try PayloadDecoder().decode(collector.exportJSON())))
                #expect(decoded.targetUUID == collector.targetUUID)
                #expect(decoded.aggregatedErrors.count == 3)
                #expect(decoded.group("with/cause")?.latestErrors.first?.error.cause?.className == "PeriskopClientTests.Timeout")
            }
        }
    }

    @Test func customPath() async throws {
        let collector = ExceptionCollector()
        let router = Router()
        PeriskopEndpoint(collector: collector, path: "/errors").addRoutes(to: router)
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/errors", method: .get) { response in
                let decoded = try PayloadDecoder().decode(Array(buffer: response.body))
                #expect(decoded.aggregatedErrors.isEmpty)
            }
        }
    }
}
