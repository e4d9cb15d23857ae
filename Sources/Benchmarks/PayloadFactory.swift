import Foundation
import Periskop

/// SplitMix64: a seeded generator, so that every run serves the same payloads and two runs
/// measure the same work.
struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func uuid() -> String {
        let high = next()
        let low = next()
        let hex = String(format: "%016llx%016llx", high, low)
        let characters = Array(hex)
        return [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { String(characters[$0]) }.joined(separator: "-")
    }

    mutating func hex(_ digits: Int) -> String {
        String(String(format: "%016llx", next()).prefix(digits))
    }
}

/// One kind of exception as a real service throws it: a class, a message with variable parts
/// (`{n}` becomes a number, `{hex}` an id) and the language its stack traces are written in.
struct ExceptionKind: Sendable {
    enum Language: Sendable { case jvm, go, python }
    var className: String
    var message: String
    var language: Language
    var severity: Severity = .error

    /// What real services throw most: timeouts, nulls, bad input, exhausted pools.
    static let catalogue: [ExceptionKind] = [
        .init(className: "java.net.SocketTimeoutException", message: "Read timed out after {n} ms calling inventory.internal:8443", language: .jvm),
        .init(
            className: "java.lang.NullPointerException",
            message: "Cannot invoke \"com.acme.checkout.model.Cart.getItems()\" because \"cart\" is null (cart {hex})", language: .jvm),
        .init(className: "com.acme.payments.CardDeclinedException", message: "card declined for order {n}: insufficient_funds", language: .jvm, severity: .warning),
        .init(
            className: "org.postgresql.util.PSQLException",
            message: "ERROR: duplicate key value violates unique constraint \"orders_pkey\"\n  Detail: Key (id)=({n}) already exists.", language: .jvm),
        .init(
            className: "java.lang.IllegalStateException", message: "Connection pool exhausted: 50 of 50 connections in use, waited {n} ms",
            language: .jvm),
        .init(
            className: "com.fasterxml.jackson.databind.exc.MismatchedInputException",
            message: "Cannot deserialize value of type `java.math.BigDecimal` from String \"{hex}\": not a valid representation", language: .jvm,
            severity: .warning),
        .init(className: "io.grpc.StatusRuntimeException", message: "UNAVAILABLE: io exception connecting to pricing.internal:50051 after {n} ms", language: .jvm),
        .init(
            className: "akka.pattern.AskTimeoutException", message: "Ask timed out on [Actor[akka://checkout/user/cart-{hex}#{n}]] after [5000 ms]",
            language: .jvm),
        .init(className: "*url.Error", message: "Get \"http://inventory.internal/api/v2/items/{n}\": context deadline exceeded", language: .go),
        .init(className: "*net.OpError", message: "dial tcp 10.2.{n}.17:5432: connect: connection refused", language: .go),
        .init(className: "*errors.errorString", message: "sql: no rows in result set (customer {hex})", language: .go, severity: .info),
        .init(className: "*json.SyntaxError", message: "invalid character '}' looking for beginning of object key string at offset {n}", language: .go),
        .init(className: "KeyError", message: "'customer_id' (request {hex})", language: .python),
        .init(className: "ValueError", message: "invalid literal for int() with base 10: '{hex}'", language: .python, severity: .warning),
        .init(
            className: "requests.exceptions.ConnectionError",
            message: "HTTPConnectionPool(host='fraud.internal', port=80): Max retries exceeded with url: /score/{n}", language: .python),
        .init(
            className: "sqlalchemy.exc.OperationalError", message: "(psycopg2.OperationalError) server closed the connection unexpectedly (pid {n})",
            language: .python),
    ]

    func render(_ rng: inout SeededGenerator) -> String {
        var text = message
        while let range = text.range(of: "{n}") { text.replaceSubrange(range, with: String(Int.random(in: 1000...9_999_999, using: &rng))) }
        while let range = text.range(of: "{hex}") { text.replaceSubrange(range, with: rng.hex(12)) }
        return text
    }
}

/// One aggregation key of the benchmark's service: its code path (stack trace, cause) is fixed,
/// as in a real service, while each occurrence has its own message, time and request.
struct GroupTemplate: Sendable {
    var key: String
    var kind: ExceptionKind
    var stacktrace: [String]
    var cause: ErrorInstance?
    var route: (method: String, path: String)

    func sample(_ rng: inout SeededGenerator, at time: Date) -> ErrorWithContext {
        let error = ErrorInstance(className: kind.className, message: kind.render(&rng), stacktrace: stacktrace, cause: cause)
        return ErrorWithContext(error: error, uuid: rng.uuid(), timestamp: time, severity: kind.severity, httpContext: request(&rng))
    }

    /// A request as a gateway forwards it, credentials included: the leaf scrubs them, as it must
    /// in production, so the benchmark pays for that too.
    private func request(_ rng: inout SeededGenerator) -> HTTPContext {
        let id = String(Int.random(in: 100_000...999_999, using: &rng))
        let url = "https://checkout.acme.internal" + route.path.replacingOccurrences(of: "{id}", with: id) + "?currency=EUR&locale=de-DE"
        var headers = [
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate, br",
            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
            "X-Request-Id": rng.uuid(),
            "X-Forwarded-For": "203.0.113.\(Int.random(in: 1...254, using: &rng)), 10.0.0.12",
            "Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.\(rng.hex(16))\(rng.hex(16)).\(rng.hex(16))",
        ]
        var body: String?
        if route.method != "GET" {
            headers["Content-Type"] = "application/json"
            body = "{\"sku\":\"SKU-\(id)\",\"quantity\":\(Int.random(in: 1...5, using: &rng)),\"payment_token\":\"tok_\(rng.hex(16))\"}"
        }
        return HTTPContext(requestMethod: route.method, requestURL: url, requestHeaders: headers, requestBody: body)
    }
}

/// Makes the groups of one imaginary service and the payload each of its processes serves. All
/// processes share the aggregation keys (they run the same code), so the leaf merges them into
/// the same groups, as it does in production.
struct PayloadFactory: Sendable {
    static let samplesPerGroup = 10
    let templates: [GroupTemplate]

    /// As many groups of `samplesPerGroup` samples each as come closest to `payloadBytes` of encoded JSON.
    init(payloadBytes: Int, seed: UInt64 = 0xC0FFEE) {
        var rng = SeededGenerator(seed: seed)
        var templates: [GroupTemplate] = []
        var size = 0
        let encoder = PayloadEncoder()
        while true {
            let template = Self.template(templates.count, &rng)
            var probe = rng
            let group = Self.group(template, targetIndex: 0, &probe, now: Date())
            let groupSize = encoder.encode(ExceptionsPayload(targetUUID: nil, aggregatedErrors: [group])).count
            guard templates.isEmpty || size + groupSize / 2 <= payloadBytes else { break }
            size += groupSize
            templates.append(template)
        }
        self.templates = templates
    }

    /// What target `index` serves before anything changes.
    func payload(targetIndex index: Int, now: Date = Date()) -> (payload: ExceptionsPayload, rng: SeededGenerator) {
        var rng = SeededGenerator(seed: 0x5EED_0000 &+ UInt64(index))
        let uuid = rng.uuid()
        let groups = templates.map { Self.group($0, targetIndex: index, &rng, now: now) }
        return (ExceptionsPayload(targetUUID: uuid, aggregatedErrors: groups), rng)
    }

    private static func group(_ template: GroupTemplate, targetIndex: Int, _ rng: inout SeededGenerator, now: Date) -> AggregatedError {
        // Oldest first, as clients append them; spread over the last hour.
        let samples = (0..<samplesPerGroup).map { offset in
            template.sample(&rng, at: now.addingTimeInterval(-3600 + Double(offset) * 300 + Double.random(in: 0..<60, using: &rng)))
        }
        return AggregatedError(
            aggregationKey: template.key, totalCount: Int.random(in: 10...50_000, using: &rng), severity: template.kind.severity,
            createdAt: now.addingTimeInterval(-86_400 - Double(targetIndex) * 60), latestErrors: samples)
    }

    private static let routes: [(String, String)] = [
        ("POST", "/api/v1/carts/{id}/items"), ("GET", "/api/v1/orders/{id}"), ("POST", "/api/v1/payments/{id}/capture"),
        ("GET", "/api/v1/customers/{id}/addresses"), ("PUT", "/api/v1/carts/{id}"), ("DELETE", "/api/v1/sessions/{id}"),
    ]

    private static func template(_ index: Int, _ rng: inout SeededGenerator) -> GroupTemplate {
        let kind = ExceptionKind.catalogue[index % ExceptionKind.catalogue.count]
        let frames = Int.random(in: 3...9, using: &rng)
        let stacktrace = (0..<frames).map { _ in frame(kind.language, &rng) }
        // JVM clients (Scala) send the cause chain; wrapping exceptions are the norm there.
        let cause =
            kind.language == .jvm && index % 4 == 0
            ? ErrorInstance(
                className: "java.io.IOException", message: "Connection reset by peer",
                stacktrace: (0..<Int.random(in: 3...6, using: &rng)).map { _ in frame(.jvm, &rng) })
            : nil
        // The key as the Go client makes it: class and a hash of the stack trace.
        let key = "\(kind.className)@\(rng.hex(8))"
        return GroupTemplate(key: key, kind: kind, stacktrace: stacktrace, cause: cause, route: routes[index % routes.count])
    }

    private static let packages = ["checkout", "payments", "inventory", "pricing", "customers", "shipping", "fraud"]
    private static let types = ["CartService", "OrderRepository", "PaymentGateway", "PriceCalculator", "RetryPolicy", "HttpHandler", "Worker"]
    private static let methods = ["addItem", "findById", "capture", "calculate", "execute", "handle", "process", "apply"]

    private static func frame(_ language: ExceptionKind.Language, _ rng: inout SeededGenerator) -> String {
        let package = packages.randomElement(using: &rng)!
        let type = types.randomElement(using: &rng)!
        let method = methods.randomElement(using: &rng)!
        let line = Int.random(in: 20...900, using: &rng)
        switch language {
        case .jvm: return "at com.acme.\(package).service.\(type).\(method)(\(type).java:\(line))"
        case .go: return "github.com/acme/\(package)/internal/\(package).(*\(type)).\(method.capitalized)\n\t/src/internal/\(package)/\(type.lowercased()).go:\(line) +0x\(rng.hex(3))"
        case .python: return "File \"/app/\(package)/\(type.lowercased()).py\", line \(line), in \(method)"
        }
    }
}
