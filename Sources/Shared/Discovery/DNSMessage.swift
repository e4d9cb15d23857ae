import NIOCore

/// The record types the DNS client asks for and reads (RFC 1035, RFC 3596, RFC 2782).
enum DNSRecordType: UInt16, Sendable {
    case a = 1
    case cname = 5
    case aaaa = 28
    case srv = 33
}

/// The response codes (RCODE) the client tells apart.
enum DNSResponseCode: Equatable, Sendable, CustomStringConvertible {
    case noError, formatError, serverFailure, nameError, notImplemented, refused
    case other(UInt8)

    init(_ code: UInt8) {
        switch code {
        case 0: self = .noError
        case 1: self = .formatError
        case 2: self = .serverFailure
        case 3: self = .nameError
        case 4: self = .notImplemented
        case 5: self = .refused
        default: self = .other(code)
        }
    }

    var description: String {
        switch self {
        case .noError: "NOERROR"
        case .formatError: "FORMERR"
        case .serverFailure: "SERVFAIL"
        case .nameError: "NXDOMAIN"
        case .notImplemented: "NOTIMP"
        case .refused: "REFUSED"
        case .other(let code): "RCODE \(code)"
        }
    }
}

enum DNSRecordData: Equatable, Sendable {
    /// An address in its usual text form.
    case a(String)
    case aaaa(String)
    /// `target` is the name as sent, with its trailing dot.
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: String)
    case other(type: UInt16)
}

struct DNSResourceRecord: Equatable, Sendable {
    var name: String
    var ttl: UInt32
    var data: DNSRecordData
}

struct DNSMessageError: Error, Equatable, Sendable, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One DNS message: building a query and reading the answer section of a response.
struct DNSMessage: Sendable {
    var id: UInt16
    var isResponse: Bool
    var isTruncated: Bool
    var responseCode: DNSResponseCode
    var questions: [(name: String, type: UInt16)]
    var answers: [DNSResourceRecord]

    /// A standard query for one name, recursion desired, without EDNS: a response longer than
    /// 512 bytes comes back truncated and is asked again over TCP.
    static func query(id: UInt16, name: String, type: DNSRecordType) throws(DNSMessageError) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(id)
        buffer.writeInteger(UInt16(0x0100))  // RD
        buffer.writeInteger(UInt16(1))  // QDCOUNT
        buffer.writeInteger(UInt16(0))
        buffer.writeInteger(UInt16(0))
        buffer.writeInteger(UInt16(0))
        try writeName(name, to: &buffer)
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(UInt16(1))  // class IN
        return buffer
    }

    static func writeName(_ name: String, to buffer: inout ByteBuffer) throws(DNSMessageError) {
        let trimmed = name.hasSuffix(".") ? String(name.dropLast()) : name
        guard !trimmed.isEmpty else { throw DNSMessageError("empty name") }
        var length = 1
        for label in trimmed.split(separator: ".", omittingEmptySubsequences: false) {
            let bytes = Array(label.utf8)
            guard !bytes.isEmpty else { throw DNSMessageError("name \"\(name)\" has an empty label") }
            guard bytes.count <= 63 else { throw DNSMessageError("name \"\(name)\" has a label longer than 63 bytes") }
            length += bytes.count + 1
            buffer.writeInteger(UInt8(bytes.count))
            buffer.writeBytes(bytes)
        }
        guard length <= 255 else { throw DNSMessageError("name \"\(name)\" is longer than 255 bytes") }
        buffer.writeInteger(UInt8(0))
    }

    /// Parses a message (its header, questions and answers; authority and additional records are
    /// not needed). Every length and pointer is checked: the bytes come from the network.
    init(parsing bytes: [UInt8]) throws(DNSMessageError) {
        var reader = Reader(bytes: bytes)
        id = try reader.uint16()
        let flags = try reader.uint16()
        isResponse = flags & 0x8000 != 0
        isTruncated = flags & 0x0200 != 0
        responseCode = DNSResponseCode(UInt8(flags & 0x000F))
        let questionCount = try reader.uint16()
        let answerCount = try reader.uint16()
        _ = try reader.uint16()  // NSCOUNT
        _ = try reader.uint16()  // ARCOUNT

        questions = []
        for _ in 0..<questionCount {
            let name = try reader.name()
            let type = try reader.uint16()
            _ = try reader.uint16()  // class
            questions.append((name, type))
        }
        answers = []
        do {
            try Self.readAnswers(count: answerCount, from: &reader, into: &answers)
        } catch {
            // A truncated answer may end mid-record; it is asked again over TCP anyway.
            guard isTruncated else { throw error }
        }
    }

    private static func readAnswers(
        count answerCount: UInt16,
        from reader: inout Reader,
        into answers: inout [DNSResourceRecord]
    ) throws(DNSMessageError) {
        let bytes = reader.bytes
        for _ in 0..<answerCount {
            let name = try reader.name()
            let type = try reader.uint16()
            _ = try reader.uint16()  // class
            let ttl = try reader.uint32()
            let length = Int(try reader.uint16())
            let end = reader.offset + length
            guard end <= bytes.count else { throw DNSMessageError("record data runs past the end of the message") }
            let data: DNSRecordData
            switch DNSRecordType(rawValue: type) {
            case .a?:
                guard length == 4 else { throw DNSMessageError("A record of \(length) bytes") }
                data = .a(bytes[reader.offset..<end].map(String.init).joined(separator: "."))
            case .aaaa?:
                guard length == 16 else { throw DNSMessageError("AAAA record of \(length) bytes") }
                data = .aaaa(Self.ipv6Text(Array(bytes[reader.offset..<end])))
            case .srv?:
                var rdata = reader
                let priority = try rdata.uint16()
                let weight = try rdata.uint16()
                let port = try rdata.uint16()
                let target = try rdata.name()
                guard rdata.offset == end else { throw DNSMessageError("SRV record length does not match its data") }
                data = .srv(priority: priority, weight: weight, port: port, target: target)
            case .cname?, nil:
                data = .other(type: type)
            }
            reader.offset = end
            answers.append(DNSResourceRecord(name: name, ttl: ttl, data: data))
        }
    }

    /// RFC 5952 text: lower case, leading zeros dropped, the longest run of two or more zero
    /// groups written as `::`.
    static func ipv6Text(_ bytes: [UInt8]) -> String {
        let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        var bestStart = -1
        var bestLength = 0
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            let start = index
            while index < 8 && groups[index] == 0 { index += 1 }
            if index - start > bestLength && index - start >= 2 {
                bestStart = start
                bestLength = index - start
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard bestStart >= 0 else { return hex.joined(separator: ":") }
        let head = hex[..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func uint16() throws(DNSMessageError) -> UInt16 {
            guard offset + 2 <= bytes.count else { throw DNSMessageError("message is truncated") }
            defer { offset += 2 }
            return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
        }

        mutating func uint32() throws(DNSMessageError) -> UInt32 {
            let high = try uint16()
            return UInt32(high) << 16 | UInt32(try uint16())
        }

        /// A possibly compressed name (RFC 1035 4.1.4), with a trailing dot. Each pointer must point
        /// before the name it continues (where an encoder takes them from), which rules out loops.
        mutating func name() throws(DNSMessageError) -> String {
            var labels: [String] = []
            var position = offset
            var nameStart = offset
            var length = 1
            var jumped = false
            while true {
                guard position < bytes.count else { throw DNSMessageError("name runs past the end of the message") }
                let byte = bytes[position]
                switch byte & 0xC0 {
                case 0x00:
                    if byte == 0 {
                        if !jumped { offset = position + 1 }
                        return labels.isEmpty ? "." : labels.joined(separator: ".") + "."
                    }
                    let end = position + 1 + Int(byte)
                    guard end <= bytes.count else { throw DNSMessageError("label runs past the end of the message") }
                    length += Int(byte) + 1
                    guard length <= 255 else { throw DNSMessageError("name is longer than 255 bytes") }
                    labels.append(String(decoding: bytes[(position + 1)..<end], as: UTF8.self))
                    position = end
                case 0xC0:
                    guard position + 1 < bytes.count else { throw DNSMessageError("name runs past the end of the message") }
                    let target = Int(byte & 0x3F) << 8 | Int(bytes[position + 1])
                    guard target < nameStart else { throw DNSMessageError("name compression pointer does not point backwards") }
                    if !jumped { offset = position + 2 }
                    jumped = true
                    position = target
                    nameStart = target
                default:
                    throw DNSMessageError("unsupported label type")
                }
            }
        }
    }
}
