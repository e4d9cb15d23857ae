import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Prometheus's `http_sd`: GET the URL every `refreshInterval`; a 200 `application/json` body of
/// target groups replaces the list. Any failure keeps the last good list.
public struct HTTPDiscoverer: Discoverer {
    public static let maxBodySize = 16 << 20
    public static let urlLabel = "__meta_url"

    public let config: HTTPDiscoveryConfig
    /// For the whole request, body included.
    public let timeout: Duration
    private let httpClient: HTTPClient
    private let logger: Logger

    /// `httpClient` belongs to the caller, who shuts it down.
    public init(config: HTTPDiscoveryConfig, httpClient: HTTPClient, logger: Logger, timeout: Duration = .seconds(30)) {
        self.config = config
        self.httpClient = httpClient
        self.logger = logger
        self.timeout = timeout
    }

    public func run(update: @escaping @Sendable ([TargetGroup]) async -> Void) async throws {
        var lastSent: [TargetGroup]?
        while !Task.isCancelled {
            do {
                let groups = try await fetch()
                if groups != lastSent {
                    await update(groups)
                    lastSent = groups
                }
            } catch {
                if Task.isCancelled { break }
                logger.warning(
                    "HTTP discovery failed; keeping the last good targets",
                    metadata: ["discovery.url": "\(config.url)", "discovery.error": "\(error)"]
                )
                // Still report once at start, so that the consumer knows there is nothing yet.
                if lastSent == nil {
                    await update([])
                    lastSent = []
                }
            }
            try? await Task.sleep(for: config.refreshInterval)
        }
    }

    /// One refresh: the groups the URL answers now, each with `__meta_url` and the source `<url>:<index>`.
    public func fetch() async throws -> [TargetGroup] {
        var request = HTTPClientRequest(url: config.url)
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Canopy")
        // Prometheus sends this, and some SD servers use it to size their caches.
        let seconds = config.refreshInterval.seconds
        request.headers.add(name: "X-Prometheus-Refresh-Interval-Seconds", value: String(format: "%g", seconds))

        let client = httpClient
        let url = config.url
        let finishedRequest = request
        let body = try await withDiscoveryTimeout(timeout) {
            let response = try await client.execute(finishedRequest, timeout: .hours(1))
            guard response.status == .ok else { throw HTTPDiscoveryError.status(response.status.code) }
            let contentType = response.headers.first(name: "Content-Type") ?? ""
            let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard mediaType == "application/json" else { throw HTTPDiscoveryError.contentType(contentType) }
            do {
                return try await response.body.collect(upTo: Self.maxBodySize)
            } catch is NIOTooManyBytesError {
                throw HTTPDiscoveryError.bodyTooLarge(limit: Self.maxBodySize)
            }
        }
        let groups: [TargetGroup]
        do {
            groups = try TargetGroupParser.parse(Data(body.readableBytesView), format: .json, source: url)
        } catch {
            throw HTTPDiscoveryError.invalid(error)
        }
        return groups.map { group in
            var group = group
            group.labels[Self.urlLabel] = url
            return group
        }
    }
}

/// Why an HTTP discovery refresh failed.
public enum HTTPDiscoveryError: Error, Equatable, Sendable, CustomStringConvertible {
    case status(UInt)
    case contentType(String)
    case bodyTooLarge(limit: Int)
    case invalid(TargetGroupParseError)

    public var description: String {
        switch self {
        case .status(let code): "server returned HTTP status \(code), expected 200"
        case .contentType(let type): "server returned Content-Type \"\(type)\", expected application/json"
        case .bodyTooLarge(let limit): "response body is larger than \(limit / (1 << 20)) MiB"
        case .invalid(let error): error.message
        }
    }
}
