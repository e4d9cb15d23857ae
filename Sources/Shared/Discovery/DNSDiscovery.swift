import Foundation
import Logging
import NIOCore

/// Prometheus's `dns_sd`: SRV, A or AAAA lookups of each configured name, every
/// `refreshInterval`. One group per name (`source` = the name). NXDOMAIN means no targets; any
/// other failure keeps the name's last good group.
public struct DNSDiscoverer: Discoverer {
    public static let nameLabel = "__meta_dns_name"
    public static let srvTargetLabel = "__meta_dns_srv_record_target"
    public static let srvPortLabel = "__meta_dns_srv_record_port"

    public let config: DNSDiscoveryConfig
    /// For one exchange with one name server; the next one is tried after it.
    public let queryTimeout: Duration
    private let logger: Logger
    private let resolvConfPath: String

    public init(config: DNSDiscoveryConfig, logger: Logger, queryTimeout: Duration = .seconds(5), resolvConfPath: String = "/etc/resolv.conf") {
        self.config = config
        self.logger = logger
        self.queryTimeout = queryTimeout
        self.resolvConfPath = resolvConfPath
    }

    public func run(update: @escaping @Sendable ([TargetGroup]) async -> Void) async throws {
        if config.type != .srv && config.port == nil {
            throw DNSDiscoveryError.missingPort(config.type)
        }
        var known: [String: TargetGroup] = [:]
        var lastSent: [TargetGroup]?
        while !Task.isCancelled {
            do {
                let client = DNSClient(nameservers: try nameservers(), timeout: queryTimeout)
                for (name, result) in await lookUpAll(client: client) {
                    switch result {
                    case .success(let group):
                        known[name] = group
                    case .failure(let error):
                        logger.warning(
                            "DNS lookup failed; keeping the last good targets",
                            metadata: [
                                "discovery.dns.name": "\(name)", "discovery.dns.type": "\(config.type.rawValue)",
                                "discovery.error": "\(error)",
                            ]
                        )
                    }
                }
            } catch {
                logger.warning("No usable DNS name servers", metadata: ["discovery.error": "\(error)"])
            }
            if Task.isCancelled { break }
            let groups = config.names.compactMap { known[$0] }
            if groups != lastSent {
                await update(groups)
                lastSent = groups
            }
            try? await Task.sleep(for: config.refreshInterval)
        }
    }

    /// Every name at once, so that one slow name does not hold up the others.
    private func lookUpAll(client: DNSClient) async -> [(String, Result<TargetGroup, any Error>)] {
        await withTaskGroup(of: (String, Result<TargetGroup, any Error>).self) { group in
            for name in Set(config.names) {
                group.addTask {
                    do {
                        return (name, .success(try await lookUp(name, client: client)))
                    } catch {
                        return (name, .failure(error))
                    }
                }
            }
            var results: [(String, Result<TargetGroup, any Error>)] = []
            for await result in group { results.append(result) }
            return results
        }
    }

    func lookUp(_ name: String, client: DNSClient) async throws -> TargetGroup {
        let recordType: DNSRecordType =
            switch config.type {
            case .srv: .srv
            case .a: .a
            case .aaaa: .aaaa
            }
        let answer = try await client.query(name: name, type: recordType)
        var targets: [Labels] = []
        // NXDOMAIN: the name is gone, and so are its targets.
        if answer.responseCode == .noError {
            for record in answer.answers {
                var target = Labels([Self.nameLabel: name])
                switch (record.data, config.port) {
                case (.srv(_, _, let port, let host), _) where config.type == .srv:
                    // The target is shown without the root's dot; the meta label keeps the name as
                    // sent, as Prometheus does.
                    let trimmed = host.hasSuffix(".") ? String(host.dropLast()) : host
                    // "." means the service is decidedly not available at this name (RFC 2782).
                    guard !trimmed.isEmpty else { continue }
                    target[LabelName.address] = "\(trimmed):\(port)"
                    target[Self.srvTargetLabel] = host
                    target[Self.srvPortLabel] = String(port)
                case (.a(let address), let port?) where config.type == .a:
                    target[LabelName.address] = "\(address):\(port)"
                case (.aaaa(let address), let port?) where config.type == .aaaa:
                    target[LabelName.address] = "[\(address)]:\(port)"
                default:
                    // A CNAME on the way, or a record of another type: not a target.
                    continue
                }
                targets.append(target)
            }
        }
        return TargetGroup(source: name, targets: targets)
    }

    private func nameservers() throws -> [SocketAddress] {
        if !config.nameservers.isEmpty {
            return try config.nameservers.map { try DNSClient.nameserver($0) }
        }
        // Read each time, so that an edited resolv.conf is picked up like the C library does.
        let text = (try? String(contentsOfFile: resolvConfPath, encoding: .utf8)) ?? ""
        return DNSClient.nameservers(resolvConf: text)
    }
}

public enum DNSDiscoveryError: Error, Equatable, Sendable, CustomStringConvertible {
    case missingPort(DNSDiscoveryConfig.RecordType)

    public var description: String {
        switch self {
        case .missingPort(let type): "dns_sd_configs: a port is required for \(type.rawValue) lookups"
        }
    }
}
