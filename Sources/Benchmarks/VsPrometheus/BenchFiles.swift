import Foundation
import Periskop

/// The bodies nginx serves, as files: for every distinct target a Periskop body and a Prometheus
/// exposition of the same size, each twice: `fixed/` with plain numbers, `changing/` with a
/// placeholder where every count (every sample value) goes, which nginx replaces on each request
/// with a number that grows (see `NginxConfig`).
struct BenchFiles: Sendable {
    /// Where a count goes in `changing/`: as long as the numbers nginx puts there (9 digits), so
    /// that both modes serve bodies of the same size.
    static let countToken = "QxCOUNTxQ"
    /// Where the target's uuid goes when targets share files (see `sharedUUIDs`).
    static let uuidToken = "QxTARGETUUIDxQ"

    let directory: URL
    /// Distinct files per kind: one per target, or fewer for many targets.
    let distinct: Int
    /// Whether the Periskop bodies carry `uuidToken` for nginx to fill in per address, because
    /// several targets share one file (and every target must still be its own process).
    let sharedUUIDs: Bool
    /// Size of the first target's bodies as served (after the placeholders are filled in).
    let periskopBytes: Int
    let expositionBytes: Int
    /// Samples in one exposition: the series each target adds to Prometheus.
    let expositionSeries: Int

    /// `fixed/periskop/3.json`, `changing/exposition/3.prom`: the URI nginx serves for a file.
    static func uri(periskop: Bool, index: Int) -> String {
        periskop ? "/periskop/\(index).json" : "/exposition/\(index).prom"
    }

    /// Writes the files for `targets` targets into `directory`, at most `maxDistinct` of each kind.
    static func write(into directory: URL, targets: Int, maxDistinct: Int, payloadBytes: Int) throws -> BenchFiles {
        let distinct = min(targets, maxDistinct)
        let sharedUUIDs = targets > distinct
        let factory = PayloadFactory(payloadBytes: payloadBytes)
        for mode in ["fixed", "changing"] {
            for kind in ["periskop", "exposition"] {
                try FileManager.default.createDirectory(
                    at: directory.appendingPathComponent("\(mode)/\(kind)"), withIntermediateDirectories: true,
                    attributes: [.posixPermissions: 0o755])
            }
        }
        // nginx's workers run as nobody when the bench is root: everything must be world-readable.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        var sizes: (periskop: Int, exposition: Int, series: Int) = (0, 0, 0)
        for index in 0..<distinct {
            let periskop = periskopTemplate(factory: factory, index: index, uuidToken: sharedUUIDs)
            let exposition = ExpositionFactory(targetBytes: periskop.utf8.count).template(index: index)
            var rng = SeededGenerator(seed: 0xF1_0000 &+ UInt64(index))
            for (kind, template) in [("periskop", periskop), ("exposition", exposition.text)] {
                let fixed = filled(template, &rng)
                try write(fixed, to: directory.appendingPathComponent("fixed" + uri(periskop: kind == "periskop", index: index)))
                try write(template, to: directory.appendingPathComponent("changing" + uri(periskop: kind == "periskop", index: index)))
                if index == 0 {
                    let served = fixed.replacingOccurrences(of: uuidToken, with: "00000000-0000-4000-8000-000000000000").utf8.count
                    if kind == "periskop" { sizes.periskop = served } else { sizes.exposition = served }
                }
            }
            if index == 0 { sizes.series = exposition.series }
        }
        return BenchFiles(
            directory: directory, distinct: distinct, sharedUUIDs: sharedUUIDs, periskopBytes: sizes.periskop, expositionBytes: sizes.exposition,
            expositionSeries: sizes.series)
    }

    /// The target's Periskop body with `countToken` for every group's `total_count`.
    static func periskopTemplate(factory: PayloadFactory, index: Int, uuidToken: Bool) -> String {
        // A count no group has, to find in the encoded text: the encoder writes integers only.
        let marker = 987_654_321_012_345
        var (payload, _) = factory.payload(targetIndex: index)
        if uuidToken { payload.targetUUID = Self.uuidToken }
        for group in payload.aggregatedErrors.indices { payload.aggregatedErrors[group].totalCount = marker }
        let text = String(decoding: PayloadEncoder().encode(payload), as: UTF8.self)
        return text.replacingOccurrences(of: "\"total_count\":\(marker)", with: "\"total_count\":\(countToken)")
    }

    /// The template with each count a different 9-digit number, the size nginx's numbers have.
    static func filled(_ template: String, _ rng: inout SeededGenerator) -> String {
        let parts = template.components(separatedBy: countToken)
        var text = parts[0]
        for part in parts.dropFirst() {
            text += String(Int.random(in: 100_000_000...199_999_999, using: &rng))
            text += part
        }
        return text
    }

    private static func write(_ text: String, to url: URL) throws {
        try Data(text.utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: url.path)
    }
}

/// A Prometheus exposition as a JVM web service serves it: HTTP server histograms by route and
/// status, client and consumer counters with several labels, pool and memory gauges. Every
/// sample value is `BenchFiles.countToken`.
struct ExpositionFactory {
    /// The size to reach, ±2 % once the values are filled in.
    let targetBytes: Int

    private struct Family {
        var name: String
        var type: String
        var help: String
        var lines: [String] = []
    }

    private static let routes = [
        ("POST", "/api/v1/carts/{id}/items"), ("GET", "/api/v1/orders/{id}"), ("POST", "/api/v1/payments/{id}/capture"),
        ("GET", "/api/v1/customers/{id}/addresses"), ("PUT", "/api/v1/carts/{id}"), ("DELETE", "/api/v1/sessions/{id}"),
    ]
    private static let statuses = ["200", "201", "204", "400", "401", "404", "409", "429", "500", "502", "503", "504"]
    private static let buckets = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]
    private static let clients = ["inventory", "pricing", "payments", "fraud", "customers", "shipping", "search", "recommendations"]
    private static let topics = ["orders.created", "orders.paid", "carts.updated", "inventory.reserved", "payments.captured", "shipments.dispatched"]

    func template(index: Int) -> (text: String, series: Int) {
        let value = BenchFiles.countToken
        let served = { (text: String) in text.utf8.count }
        var families = [
            Family(name: "http_server_requests_seconds", type: "histogram", help: "Duration of HTTP server request handling"),
            Family(name: "http_client_requests_total", type: "counter", help: "Requests made to downstream services"),
            Family(name: "kafka_consumer_records_consumed_total", type: "counter", help: "Records consumed per topic and partition"),
            Family(name: "db_client_connections", type: "gauge", help: "Connections of the database pools by state"),
            Family(name: "cache_gets_total", type: "counter", help: "Cache lookups by cache and result"),
        ]
        let common = "application=\"checkout\",env=\"prod\",region=\"eu-west-1\",pod=\"checkout-7d9f8c6b5-\(String(index, radix: 36))\""
        var size = families.reduce(0) { $0 + served("# HELP \($1.name) \($1.help)\n# TYPE \($1.name) \($1.type)\n") }
        var series = 0
        var round = 0
        while size < targetBytes {
            let (method, path) = Self.routes[round % Self.routes.count]
            let status = Self.statuses[(round / Self.routes.count) % Self.statuses.count]
            let version = 1 + round / (Self.routes.count * Self.statuses.count)
            let route = path.replacingOccurrences(of: "/v1/", with: "/v\(version)/")
            let labels = "\(common),method=\"\(method)\",uri=\"\(route)\",status=\"\(status)\",outcome=\"\(status.hasPrefix("2") ? "SUCCESS" : status.hasPrefix("4") ? "CLIENT_ERROR" : "SERVER_ERROR")\""
            var additions: [(Int, [String])] = [
                (
                    0,
                    Self.buckets.map { "http_server_requests_seconds_bucket{\(labels),le=\"\($0)\"} \(value)" }
                        + ["http_server_requests_seconds_sum{\(labels)} \(value)", "http_server_requests_seconds_count{\(labels)} \(value)"]
                ),
                (
                    1,
                    [
                        "http_client_requests_total{\(common),client=\"\(Self.clients[round % Self.clients.count])\",method=\"\(method)\",uri=\"\(route)\",status=\"\(status)\"} \(value)"
                    ]
                ),
                (
                    2,
                    [
                        "kafka_consumer_records_consumed_total{\(common),topic=\"\(Self.topics[round % Self.topics.count])\",partition=\"\(round / Self.topics.count)\",client_id=\"checkout-consumer-\(round % 4)\"} \(value)"
                    ]
                ),
            ]
            if round < 12 {
                additions.append((3, ["db_client_connections{\(common),pool=\"pool-\(round / 3)\",state=\"\(["active", "idle", "pending"][round % 3])\"} \(value)"]))
            }
            if round < 40 {
                additions.append((4, ["cache_gets_total{\(common),cache=\"cache-\(round / 2)\",result=\"\(round % 2 == 0 ? "hit" : "miss")\"} \(value)"]))
            }
            for (family, lines) in additions where size < targetBytes {
                families[family].lines += lines
                size += lines.reduce(0) { $0 + served($1) + 1 }
                series += lines.count
            }
            round += 1
        }
        let text = families.map { family in
            (["# HELP \(family.name) \(family.help)", "# TYPE \(family.name) \(family.type)"] + family.lines).joined(separator: "\n")
        }.joined(separator: "\n") + "\n"
        return (text, series)
    }
}
