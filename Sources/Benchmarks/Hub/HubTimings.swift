import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Shared

/// Times the hub's API endpoints over one keep-alive HTTP connection: a warm-up, then rounds in
/// which every endpoint is requested once, so that noise from elsewhere spreads over all of them.
struct HubTimings {
    struct Endpoint: Sendable {
        var name: String
        var path: String
    }

    struct Result: Sendable {
        var endpoint: Endpoint
        var milliseconds: [Double]
        var bytes: Int

        var sorted: [Double] { milliseconds.sorted() }
        var median: Double { Summary(milliseconds).median }
        var minimum: Double { sorted.first ?? .nan }
        var maximum: Double { sorted.last ?? .nan }
        var p90: Double {
            let values = sorted
            guard !values.isEmpty else { return .nan }
            return values[max(0, Int((0.9 * Double(values.count)).rounded(.up)) - 1)]
        }
    }

    let base: String
    let client: HTTPClient

    /// GETs `path`; throws unless the answer is 200. Returns the body and the wall time from
    /// sending the request to the last byte of the body.
    func get(_ path: String) async throws -> (body: ByteBuffer, milliseconds: Double) {
        let start = ContinuousClock.now
        let response = try await client.execute(HTTPClientRequest(url: base + path), timeout: .seconds(120))
        let body = try await response.body.collect(upTo: 256 * 1024 * 1024)
        let elapsed = ContinuousClock.now - start
        guard response.status == .ok else {
            throw BenchError("GET \(path): \(response.status.code) \(String(buffer: body).prefix(500))")
        }
        return (body, elapsed.seconds * 1000)
    }

    func json(_ path: String) async throws -> Any {
        let body = try await get(path).body
        return try JSONSerialization.jsonObject(with: Data(body.readableBytesView))
    }

    /// The endpoints issue 3 names, with realistic parameters; `deepCursor` is the cursor of the
    /// 21st page of the default list.
    static func endpoints(
        team: String, service: String, hotGroup: Int64, hotKey: (team: String, service: String, key: String)?, searchText: String, weekAgo: Date,
        deepCursor: String
    ) -> [Endpoint] {
        let cursor = deepCursor.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? deepCursor
        return [
            Endpoint(name: "teams", path: "/api/v1/teams"),
            Endpoint(name: "services", path: "/api/v1/teams/\(team)/services"),
            Endpoint(name: "groups", path: "/api/v1/groups"),
            Endpoint(name: "groups-team-service", path: "/api/v1/groups?team=\(team)&service=\(service)"),
            Endpoint(name: "groups-severity-status", path: "/api/v1/groups?severity=warning&status=unresolved"),
            Endpoint(name: "groups-total", path: "/api/v1/groups?sort=total"),
            Endpoint(name: "groups-window-1h", path: "/api/v1/groups?sort=window&window=1h"),
            Endpoint(name: "groups-window-24h", path: "/api/v1/groups?sort=window&window=24h"),
            Endpoint(name: "groups-text", path: "/api/v1/groups?q=\(searchText)"),
            Endpoint(name: "groups-last-seen-7d", path: "/api/v1/groups?last_seen_from=\(Int(weekAgo.timeIntervalSince1970))"),
            Endpoint(name: "groups-page-21", path: "/api/v1/groups?cursor=\(cursor)"),
            Endpoint(name: "group", path: "/api/v1/groups/\(hotGroup)"),
            Endpoint(name: "occurrences-30d-1h", path: "/api/v1/groups/\(hotGroup)/occurrences?range=30d&step=1h"),
            Endpoint(name: "occurrences-1h-1m", path: "/api/v1/groups/\(hotGroup)/occurrences?range=1h&step=1m"),
            Endpoint(name: "leaves", path: "/api/v1/leaves"),
            Endpoint(name: "scrapes", path: "/api/v1/scrapes"),
        ] + queries(team: team, service: service, hotGroup: hotKey)
    }

    /// The PromQL queries issue 10 sets goals for, and the group `hotKey` names.
    static func queries(team: String, service: String, hotGroup key: (team: String, service: String, key: String)?) -> [Endpoint] {
        func instant(_ name: String, _ query: String) -> Endpoint {
            Endpoint(name: name, path: "/api/v1/query?query=" + (query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query))
        }
        let now = Int(Date().timeIntervalSince1970)
        var endpoints = [
            instant("promql-topk-1h", "topk(10, sum by (team, service, aggregation_key) (increase(canopy_exceptions_total[1h])))"),
            instant("promql-team-24h", "sum by (team) (increase(canopy_exceptions_total[24h]))"),
            Endpoint(
                name: "promql-range-7d-1h",
                path: "/api/v1/query_range?query=" + ("sum by (team) (rate(canopy_exceptions_total[1h]))".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
                    + "&start=\(now - 7 * 86400)&end=\(now)&step=3600"),
            // The same with its steps on the hour, as Grafana aligns them.
            Endpoint(
                name: "promql-range-7d-1h-aligned",
                path: "/api/v1/query_range?query=" + ("sum by (team) (rate(canopy_exceptions_total[1h]))".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
                    + "&start=\(now / 3600 * 3600 - 7 * 86400)&end=\(now / 3600 * 3600)&step=3600"),
        ]
        if let key {
            func quoted(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
            let selector = "canopy_exceptions_total{team=\(quoted(key.team)),service=\(quoted(key.service)),aggregation_key=\(quoted(key.key))}"
            endpoints.append(
                Endpoint(
                    name: "promql-group-30d-1h",
                    path: "/api/v1/query_range?query=" + (selector.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
                        + "&start=\(now - 30 * 86400)&end=\(now)&step=3600"))
        }
        return endpoints
    }

    func measure(_ endpoints: [Endpoint], warmup: Int, rounds: Int) async throws -> [Result] {
        for _ in 0..<warmup {
            for endpoint in endpoints { _ = try await get(endpoint.path) }
        }
        var results = endpoints.map { Result(endpoint: $0, milliseconds: [], bytes: 0) }
        for _ in 0..<rounds {
            for index in endpoints.indices {
                let (body, milliseconds) = try await get(endpoints[index].path)
                results[index].milliseconds.append(milliseconds)
                results[index].bytes = body.readableBytes
            }
        }
        return results
    }

    static func table(_ results: [Result]) -> String {
        func ms(_ value: Double) -> String { String(format: "%.1f", value) }
        var lines = [row("endpoint", "median ms", "p90", "min", "max", "KB")]
        for result in results {
            lines.append(
                row(
                    "GET " + result.endpoint.path.prefix(70), ms(result.median), ms(result.p90), ms(result.minimum), ms(result.maximum),
                    String(format: "%.1f", Double(result.bytes) / 1024)))
        }
        return lines.joined(separator: "\n")
    }

    private static func row(_ columns: String...) -> String {
        let widths = [78, 10, 8, 8, 8, 8]
        return zip(columns, widths).enumerated().map { index, pair in
            index == 0 ? pair.0.padding(toLength: pair.1, withPad: " ", startingAt: 0) : String(repeating: " ", count: max(pair.1 - pair.0.count, 1)) + pair.0
        }.joined()
    }
}
