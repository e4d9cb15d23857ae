import Foundation
import NIOCore
import NIOPosix

/// A minimal stub resolver: one question per query over UDP, again over TCP when the answer is
/// truncated, each name server in turn until one answers. All of the NIO channel handling of DNS
/// discovery is here.
struct DNSClient: Sendable {
    var nameservers: [SocketAddress]
    /// For one exchange with one name server.
    var timeout: Duration
    var eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

    init(nameservers: [SocketAddress], timeout: Duration) {
        self.nameservers = nameservers
        self.timeout = timeout
    }

    /// The first answer that is NOERROR or NXDOMAIN, trying the name servers in order; anything
    /// else (SERVFAIL, REFUSED, a timeout, a garbled reply) moves on to the next one.
    func query(name: String, type: DNSRecordType) async throws -> DNSMessage {
        var failures: [String] = []
        for server in nameservers {
            do {
                let answer = try await query(name: name, type: type, server: server)
                switch answer.responseCode {
                case .noError, .nameError: return answer
                default: failures.append("\(Self.describe(server)): \(answer.responseCode)")
                }
            } catch {
                if Task.isCancelled { throw CancellationError() }
                failures.append("\(Self.describe(server)): \(error)")
            }
        }
        throw DNSClientError.allServersFailed(failures)
    }

    func query(name: String, type: DNSRecordType, server: SocketAddress) async throws -> DNSMessage {
        let id = UInt16.random(in: .min ... .max)
        let query = try DNSMessage.query(id: id, name: name, type: type)
        let timeout = self.timeout
        let group = eventLoopGroup
        let answer = try await withDiscoveryTimeout(timeout) {
            try await Self.exchangeUDP(query, id: id, server: server, group: group)
        }
        try Self.check(answer, id: id, name: name, type: type)
        guard answer.isTruncated else { return answer }
        let full = try await withDiscoveryTimeout(timeout) {
            try await Self.exchangeTCP(query, server: server, group: group)
        }
        try Self.check(full, id: id, name: name, type: type)
        return full
    }

    private static func check(_ message: DNSMessage, id: UInt16, name: String, type: DNSRecordType) throws(DNSClientError) {
        let expected = name.hasSuffix(".") ? name : name + "."
        guard message.isResponse, message.id == id,
            message.questions.count == 1,
            message.questions[0].name.lowercased() == expected.lowercased(),
            message.questions[0].type == type.rawValue
        else { throw DNSClientError.mismatchedResponse }
    }

    /// A connected UDP socket: the kernel drops datagrams from anyone but the server, and a
    /// closed port fails at once (ICMP port unreachable) instead of waiting for the timeout.
    static func exchangeUDP(_ query: ByteBuffer, id: UInt16, server: SocketAddress, group: any EventLoopGroup) async throws -> DNSMessage {
        let channel = try await DatagramBootstrap(group: group).connect(to: server) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<AddressedEnvelope<ByteBuffer>, AddressedEnvelope<ByteBuffer>>(wrappingChannelSynchronously: channel)
            }
        }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(AddressedEnvelope(remoteAddress: server, data: query))
            for try await envelope in inbound {
                // Ignore a late answer to an earlier query (another id) and keep waiting.
                guard let message = try? DNSMessage(parsing: Array(buffer: envelope.data)), message.id == id else { continue }
                return message
            }
            throw DNSClientError.connectionClosed
        }
    }

    /// DNS over TCP: each message is preceded by its length in two bytes (RFC 1035 4.2.2).
    private static func exchangeTCP(_ query: ByteBuffer, server: SocketAddress, group: any EventLoopGroup) async throws -> DNSMessage {
        let channel = try await ClientBootstrap(group: group).connect(to: server) { channel in
            channel.eventLoop.makeCompletedFuture {
                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        return try await channel.executeThenClose { inbound, outbound in
            var framed = ByteBuffer()
            framed.writeInteger(UInt16(query.readableBytes))
            framed.writeImmutableBuffer(query)
            try await outbound.write(framed)
            // At most 2 + 65535 bytes are kept: we stop as soon as the message is complete.
            var received = ByteBuffer()
            for try await var chunk in inbound {
                received.writeBuffer(&chunk)
                guard let length = received.getInteger(at: received.readerIndex, as: UInt16.self),
                    let bytes = received.getBytes(at: received.readerIndex + 2, length: Int(length))
                else { continue }
                return try DNSMessage(parsing: bytes)
            }
            throw DNSClientError.connectionClosed
        }
    }

    // MARK: Name servers

    /// `host:port`, `[v6]:port`: what a log line should show of a server.
    static func describe(_ address: SocketAddress) -> String {
        guard let ip = address.ipAddress, let port = address.port else { return "\(address)" }
        return address.protocol == .inet6 ? "[\(ip)]:\(port)" : "\(ip):\(port)"
    }

    /// Parses `host:port`, `host`, `[v6]:port` or a bare IPv6 address; the port defaults to 53.
    /// Only IP addresses: resolving a name server's name would need a name server.
    static func nameserver(_ text: String) throws(DNSClientError) -> SocketAddress {
        var host = text
        var port = 53
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let number = Int(rest.dropFirst()) else { throw .invalidNameserver(text) }
                port = number
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = String(text[..<colon])
            guard let number = Int(text[text.index(after: colon)...]) else { throw .invalidNameserver(text) }
            port = number
        }
        guard (1...65535).contains(port), let address = try? SocketAddress(ipAddress: host, port: port) else {
            throw .invalidNameserver(text)
        }
        return address
    }

    /// The `nameserver` lines of a resolv.conf; like the C library, 127.0.0.1 when there are none.
    static func nameservers(resolvConf: String) -> [SocketAddress] {
        var servers: [SocketAddress] = []
        for line in resolvConf.split(whereSeparator: \.isNewline) {
            let fields = line.split(whereSeparator: \.isWhitespace)
            guard fields.count >= 2, fields[0] == "nameserver",
                let server = try? nameserver(fields[1].contains(":") ? "[\(fields[1])]" : String(fields[1]))
            else { continue }
            servers.append(server)
        }
        return servers.isEmpty ? [try! SocketAddress(ipAddress: "127.0.0.1", port: 53)] : servers
    }
}

enum DNSClientError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidNameserver(String)
    case mismatchedResponse
    case connectionClosed
    case allServersFailed([String])

    var description: String {
        switch self {
        case .invalidNameserver(let text): "invalid name server \"\(text)\": expected an IP address with an optional port"
        case .mismatchedResponse: "the response does not answer the question asked"
        case .connectionClosed: "the name server closed the connection without an answer"
        case .allServersFailed(let failures): failures.isEmpty ? "no name servers" : failures.joined(separator: "; ")
        }
    }
}

/// A discovery step that took longer than it may.
public struct DiscoveryTimeoutError: Error, Equatable, Sendable, CustomStringConvertible {
    public var timeout: Duration
    public var description: String { "timed out after \(timeout)" }
}

/// Runs `operation`, cancelling it and throwing `DiscoveryTimeoutError` once `timeout` has passed.
func withDiscoveryTimeout<Result: Sendable>(
    _ timeout: Duration,
    operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Result.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw DiscoveryTimeoutError(timeout: timeout)
        }
        defer { group.cancelAll() }
        guard let result = try await group.next() else { throw CancellationError() }
        return result
    }
}
