import Foundation
import Periskop

/// What a demo service does wrong, and how often: a list of error kinds. Adding a profile is
/// adding an entry to `Profile.all`.
struct Profile: Sendable {
    var name: String
    var summary: String
    var kinds: [ErrorKind]

    static func named(_ name: String) -> Profile? { all.first { $0.name == name } }

    static let all: [Profile] = [payments, search, indexer, notifications, push]
}

/// One kind of exception of a profile.
struct ErrorKind: Sendable {
    /// Used in `POST /simulate/{name}` and as the group's key where the message varies.
    var name: String
    var severity: Severity
    /// Occurrences per minute in ordinary traffic (the service's mood and incidents scale it).
    var perMinute: Double
    /// How often an incident of this kind starts (its rate ×8 to ×20 for 20 to 90 seconds).
    var incidentsPerHour: Double = 0
    /// The outermost error first, then what caused it.
    var chain: [Link]
    /// The message embeds ids, amounts or the user's input: group under the kind's own key (one
    /// group per kind) instead of the key derived from the message, which would make one group
    /// per distinct message.
    var varyingMessage: Bool = false
    /// The request being served when it happened, if any.
    var request: (@Sendable (inout DemoRandom) -> HTTPContext)? = nil

    /// The error, with its causes.
    func makeError(_ random: inout DemoRandom) -> any Error {
        var cause: (any Error)?
        for link in chain.reversed() {
            cause = link.type.init(message: link.message(&random), cause: cause)
        }
        return cause!
    }
}

struct Link: Sendable {
    var type: any DemoFailure.Type
    var message: @Sendable (inout DemoRandom) -> String

    init(_ type: any DemoFailure.Type, _ message: @escaping @Sendable (inout DemoRandom) -> String) {
        self.type = type
        self.message = message
    }

    init(_ type: any DemoFailure.Type, _ message: String) {
        self.init(type) { _ in message }
    }
}

// MARK: - Shared request parts

private let userAgents = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "shop-ios/7.12.0 (iPhone15,3; iOS 17.5.1)",
    "okhttp/4.12.0",
]

private func requestID(_ random: inout DemoRandom) -> String {
    "req_\(random.hex(16))"
}

// MARK: - payments

private func chargeRequest(_ random: inout DemoRandom) -> HTTPContext {
    let amount = random.pick([499, 1250, 2999, 4999, 8900, 15000, 23999])
    let card = random.pick(["4242 4242 4242 4242", "4111 1111 1111 1111", "5555 5555 5555 4444"])
    let body = """
        {"amount":\(amount),"currency":"\(random.pick(["EUR", "GBP", "USD"]))","customer_id":"cus_\(random.hex(12))",\
        "card":{"card_number":"\(card)","exp":"\(random.int(1...12))/\(random.int(26...30))","cvc":"\(random.int(100...999))"},\
        "idempotency_key":"\(random.hex(8))-\(random.hex(4))"}
        """
    return HTTPContext(
        requestMethod: "POST", requestURL: "/charge",
        requestHeaders: [
            "Authorization": "Bearer demo-token",
            "Content-Type": "application/json",
            "User-Agent": random.pick(userAgents),
            "X-Request-Id": requestID(&random),
        ],
        requestBody: body)
}

private let payments = Profile(
    name: "payments", summary: "card payments: declines, a slow ledger, a crash on customers without a payment method",
    kinds: [
        ErrorKind(
            name: "card_declined", severity: .warning, perMinute: 8, incidentsPerHour: 2,
            chain: [
                Link(CardDeclinedError.self) { random in
                    let code = random.pick(["insufficient_funds", "do_not_honor", "expired_card", "incorrect_cvc", "card_velocity_exceeded"])
                    return "card declined by the issuer: \(code) (charge ch_\(random.hex(14)))"
                }
            ],
            varyingMessage: true, request: chargeRequest),
        ErrorKind(
            name: "ledger_timeout", severity: .error, perMinute: 1.5, incidentsPerHour: 4,
            chain: [
                Link(LedgerWriteError.self) { random in "could not record charge ch_\(random.hex(14)) in the ledger" },
                Link(LedgerTimeoutError.self, "ledger-db did not answer within 2000 ms (INSERT INTO ledger_entries)"),
                Link(ConnectionPoolExhaustedError.self, "connection pool exhausted: 20 of 20 connections in use, waited 1500 ms"),
            ],
            varyingMessage: true),
        ErrorKind(
            name: "nil_payment_method", severity: .error, perMinute: 0.6, incidentsPerHour: 1,
            chain: [
                Link(
                    UnexpectedNilError.self,
                    "Fatal error: Unexpectedly found nil while unwrapping an Optional value: customer.defaultPaymentMethod (ChargeHandler.swift:214)")
            ],
            request: chargeRequest),
        ErrorKind(
            name: "idempotency_conflict", severity: .warning, perMinute: 1,
            chain: [Link(IdempotencyConflictError.self, "idempotency key reused with a different request body")],
            request: { random in
                HTTPContext(
                    requestMethod: "POST", requestURL: "/refunds",
                    requestHeaders: [
                        "Content-Type": "application/json", "Idempotency-Key": "\(random.hex(8))-\(random.hex(4))",
                        "X-Request-Id": requestID(&random), "User-Agent": "okhttp/4.12.0",
                    ],
                    requestBody: #"{"charge":"ch_\#(random.hex(14))","amount":\#(random.int(1...90))00,"reason":"requested_by_customer"}"#)
            }),
        ErrorKind(
            name: "stale_exchange_rate", severity: .info, perMinute: 3,
            chain: [
                Link(StaleExchangeRateWarning.self) { random in
                    "exchange rate \(random.pick(["EUR/GBP", "EUR/USD", "USD/JPY"])) is \(random.int(11...40)) min old (limit 10 min): using the cached rate"
                }
            ],
            varyingMessage: true),
    ])

// MARK: - search

private func searchRequest(_ query: String, _ random: inout DemoRandom) -> HTTPContext {
    let encoded = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query
    return HTTPContext(
        requestMethod: "GET", requestURL: "/search?q=\(encoded)&page=\(random.int(1...4))",
        requestHeaders: ["Accept": "application/json", "User-Agent": random.pick(userAgents), "X-Request-Id": requestID(&random)])
}

private let badQueries: [(query: String, column: Int, expected: String)] = [
    ("brand:(nike OR adidas", 22, "')'"),
    ("price:[10 TO", 13, "a number"),
    ("\"red dress", 11, "'\"'"),
    ("size:42 AND AND color:blue", 13, "a term"),
    ("category:shoes^", 16, "a boost factor"),
]

private let search = Profile(
    name: "search", summary: "product search: unavailable index shards, queries that do not parse, slow queries",
    kinds: [
        ErrorKind(
            name: "shard_unavailable", severity: .error, perMinute: 2, incidentsPerHour: 3,
            chain: [
                Link(ShardUnavailableError.self) { random in "index shard products-\(random.int(0...5)) unavailable: 0 of 2 replicas reachable" },
                Link(ConnectionRefusedError.self) { random in "connect to 10.0.4.\(random.int(10...30)):9300 failed: Connection refused (errno 111)" },
            ],
            varyingMessage: true,
            request: { random in searchRequest(random.pick(["running shoes", "rain jacket", "usb-c cable", "desk lamp"]), &random) }),
        ErrorKind(
            name: "query_parse_error", severity: .warning, perMinute: 6, incidentsPerHour: 1,
            chain: [
                Link(QueryParseError.self) { random in
                    let bad = random.pick(badQueries)
                    return "cannot parse query \"\(bad.query)\" at column \(bad.column): expected \(bad.expected)"
                }
            ],
            varyingMessage: true,
            request: { random in searchRequest(random.pick(badQueries).query, &random) }),
        ErrorKind(
            name: "slow_query", severity: .info, perMinute: 4,
            chain: [
                Link(SlowQueryWarning.self) { random in
                    "query took \(random.int(1100...4800)) ms (budget 1000 ms): \(random.pick(["category:shoes AND size:[40 TO 44]", "*jacket*", "brand:* AND in_stock:true"]))"
                }
            ],
            varyingMessage: true),
        ErrorKind(
            name: "cache_decoding", severity: .error, perMinute: 0.3,
            chain: [Link(CacheDecodingError.self, #"cannot decode cached result page: keyNotFound("facets") in SearchPage (schema v3, cache written by v2)"#)]),
    ])

private let indexer = Profile(
    name: "indexer", summary: "search indexer: rejected documents, failing bulk requests, oversized batches",
    kinds: [
        ErrorKind(
            name: "document_rejected", severity: .warning, perMinute: 5, incidentsPerHour: 2,
            chain: [
                Link(DocumentRejectedError.self) { random in
                    "document sku-\(random.int(10000...99999)) rejected: field price is not a number (\"\(random.int(1...99)),\(random.int(10...99))\")"
                }
            ],
            varyingMessage: true),
        ErrorKind(
            name: "bulk_index_failed", severity: .error, perMinute: 1, incidentsPerHour: 4,
            chain: [
                Link(BulkIndexError.self) { random in "bulk request of 500 documents to products-v42 failed: \(random.int(3...120)) items rejected" },
                Link(ShardUnavailableError.self, "primary shard products-v42/2 is not active (cluster state: yellow)"),
            ],
            varyingMessage: true),
        ErrorKind(
            name: "batch_too_large", severity: .error, perMinute: 0.4,
            chain: [Link(BatchTooLargeError.self, "batch exceeds the 32 MB request limit of the cluster: split it")]),
    ])

// MARK: - notifications

private let notifications = Profile(
    name: "notifications", summary: "e-mail: SMTP timeouts, missing templates, bounces, a provider's rate limit",
    kinds: [
        ErrorKind(
            name: "smtp_timeout", severity: .error, perMinute: 2, incidentsPerHour: 3,
            chain: [
                Link(SMTPDeliveryError.self) { random in "delivery of <\(random.hex(12))@mailer.internal> to smtp-relay.internal:587 failed" },
                Link(SocketTimeoutError.self, "read timed out after 30 s waiting for 250 after DATA"),
            ],
            varyingMessage: true),
        ErrorKind(
            name: "template_missing", severity: .error, perMinute: 1,
            chain: [
                Link(TemplateNotFoundError.self) { random in
                    "template \(random.pick(["password-reset", "order-shipped", "invoice"])) not found for locale \(random.pick(["pt-BR", "nl-BE", "fr-CA"]))"
                }
            ],
            varyingMessage: true,
            request: { random in
                HTTPContext(
                    requestMethod: "POST", requestURL: "/v1/send",
                    requestHeaders: ["Content-Type": "application/json", "X-Api-Key": "demo-\(random.hex(20))", "X-Request-Id": requestID(&random)],
                    requestBody: #"{"template":"password-reset","locale":"pt-BR","to":"ana@example.org","reset_token":"\#(random.hex(32))"}"#)
            }),
        ErrorKind(
            name: "hard_bounce", severity: .info, perMinute: 4,
            chain: [
                Link(HardBounceNotice.self) { random in
                    "hard bounce for \(random.pick(["j.doe", "info", "sales", "m.rossi"]))@\(random.pick(["example.org", "example.com"])): 550 5.1.1 user unknown"
                }
            ],
            varyingMessage: true),
        ErrorKind(
            name: "provider_rate_limited", severity: .warning, perMinute: 1.5, incidentsPerHour: 2,
            chain: [Link(ProviderRateLimitedError.self) { random in "mail provider answered 429 Too Many Requests: retrying in \(random.int(2...30)) s" }],
            varyingMessage: true),
    ])

private let push = Profile(
    name: "push", summary: "push notifications: expired device tokens, oversized payloads, rate limits",
    kinds: [
        ErrorKind(
            name: "invalid_device_token", severity: .warning, perMinute: 5, incidentsPerHour: 1,
            chain: [Link(InvalidDeviceTokenError.self) { random in "APNs rejected device token \(random.hex(16))…: 410 Unregistered" }],
            varyingMessage: true),
        ErrorKind(
            name: "payload_too_large", severity: .error, perMinute: 0.5,
            chain: [Link(PushPayloadTooLargeError.self) { random in "push payload of \(random.int(4097...6000)) bytes exceeds the 4096-byte APNs limit" }],
            varyingMessage: true),
        ErrorKind(
            name: "fcm_rate_limited", severity: .warning, perMinute: 1, incidentsPerHour: 3,
            chain: [
                Link(ProviderRateLimitedError.self, "FCM quota exceeded for project shop-prod"),
                Link(SocketTimeoutError.self, "HTTP/2 stream reset by peer after 10 s"),
            ]),
    ])
