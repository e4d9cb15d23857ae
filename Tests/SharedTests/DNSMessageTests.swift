import NIOCore
import Testing

@testable import Shared

@Suite struct DNSMessageTests {
    @Test func queryHasTheIdRecursionDesiredAndOneQuestion() throws {
        let query = try DNSMessage.query(id: 0x1234, name: "a.bc.", type: .srv)
        #expect(
            Array(buffer: query) == [
                0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
                1, UInt8(ascii: "a"), 2, UInt8(ascii: "b"), UInt8(ascii: "c"), 0,
                0, 33, 0, 1,
            ]
        )
    }

    @Test(arguments: ["", "a..b", String(repeating: "x", count: 64) + ".test", Array(repeating: "abcdefgh", count: 30).joined(separator: ".")])
    func invalidNamesAreRefused(name: String) {
        #expect(throws: DNSMessageError.self) { try DNSMessage.query(id: 1, name: name, type: .a) }
    }

    /// A response as a server writes it, the SRV target compressed against the question's name.
    private func srvResponse(flags: UInt16 = 0x8180) -> [UInt8] {
        var bytes: [UInt8] = [0xAB, 0xCD, UInt8(flags >> 8), UInt8(flags & 0xFF), 0, 1, 0, 2, 0, 0, 0, 0]
        // Question at offset 12: _x._tcp.ex.test SRV IN
        bytes += [2] + Array("_x".utf8) + [4] + Array("_tcp".utf8) + [2] + Array("ex".utf8) + [4] + Array("test".utf8) + [0, 0, 33, 0, 1]
        // Answer 1: name = pointer to 12; target "h1" + pointer to "ex.test" (offset 12 + 3 + 5 = 20).
        let rdata1: [UInt8] = [0, 10, 0, 5, 0x1F, 0x91] + [2] + Array("h1".utf8) + [0xC0, 20]
        bytes += [0xC0, 12, 0, 33, 0, 1, 0, 0, 0, 60, 0, UInt8(rdata1.count)] + rdata1
        // Answer 2: target given in full.
        let rdata2: [UInt8] = [0, 20, 0, 0, 0x1F, 0x92] + [2] + Array("h2".utf8) + [2] + Array("ex".utf8) + [4] + Array("test".utf8) + [0]
        bytes += [0xC0, 12, 0, 33, 0, 1, 0, 0, 0, 60, 0, UInt8(rdata2.count)] + rdata2
        return bytes
    }

    @Test func parsesCompressedSRVAnswers() throws {
        let message = try DNSMessage(parsing: srvResponse())
        #expect(message.id == 0xABCD)
        #expect(message.isResponse)
        #expect(!message.isTruncated)
        #expect(message.responseCode == .noError)
        #expect(message.questions.map(\.name) == ["_x._tcp.ex.test."])
        #expect(
            message.answers.map(\.data) == [
                .srv(priority: 10, weight: 5, port: 8081, target: "h1.ex.test."),
                .srv(priority: 20, weight: 0, port: 8082, target: "h2.ex.test."),
            ]
        )
        #expect(message.answers.map(\.name) == ["_x._tcp.ex.test.", "_x._tcp.ex.test."])
    }

    @Test func readsTheFlags() throws {
        let message = try DNSMessage(parsing: srvResponse(flags: 0x8383))
        #expect(message.isTruncated)
        #expect(message.responseCode == .nameError)
    }

    @Test func truncatedAndHostileMessagesAreRejected() {
        let good = srvResponse()
        // Cut anywhere: never a crash, always an error.
        for length in 0..<(good.count - 1) {
            #expect(throws: DNSMessageError.self) { try DNSMessage(parsing: Array(good[..<length])) }
        }
        // A name that points at itself, or forwards.
        var loop = good
        loop[12] = 0xC0
        loop[13] = 12
        #expect(throws: DNSMessageError("name compression pointer does not point backwards")) { try DNSMessage(parsing: loop) }
        // An A record of the wrong length.
        var header: [UInt8] = [0, 1, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0]
        header += [1, UInt8(ascii: "a"), 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 3, 1, 2, 3]
        #expect(throws: DNSMessageError("A record of 3 bytes")) { try DNSMessage(parsing: header) }
    }

    @Test(arguments: [
        ([UInt8](repeating: 0, count: 15) + [1], "::1"),
        ([0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2], "fd00::1:2"),
        ([0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 12), "2001:db8::"),
        ([0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], "1:0:0:1::1"),
        ([0, 1, 0, 0, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7], "1:0:2:3:4:5:6:7"),
    ])
    func ipv6AddressesAreWrittenAsRFC5952Says(bytes: [UInt8], text: String) {
        #expect(DNSMessage.ipv6Text(bytes) == text)
    }

    @Test func nameserversParse() throws {
        #expect(DNSClient.describe(try DNSClient.nameserver("127.0.0.1")) == "127.0.0.1:53")
        #expect(DNSClient.describe(try DNSClient.nameserver("10.0.0.2:5353")) == "10.0.0.2:5353")
        #expect(DNSClient.describe(try DNSClient.nameserver("[::1]:5353")) == "[::1]:5353")
        #expect(DNSClient.describe(try DNSClient.nameserver("::1")) == "[::1]:53")
        #expect(throws: DNSClientError.invalidNameserver("dns.example")) { try DNSClient.nameserver("dns.example") }
        #expect(throws: DNSClientError.invalidNameserver("1.2.3.4:x")) { try DNSClient.nameserver("1.2.3.4:x") }
        #expect(throws: DNSClientError.invalidNameserver("1.2.3.4:70000")) { try DNSClient.nameserver("1.2.3.4:70000") }

        let conf = "# comment\nsearch example.org\nnameserver 10.0.0.1\nnameserver fd00::53\noptions ndots:5\n"
        #expect(DNSClient.nameservers(resolvConf: conf).map(DNSClient.describe) == ["10.0.0.1:53", "[fd00::53]:53"])
        #expect(DNSClient.nameservers(resolvConf: "").map(DNSClient.describe) == ["127.0.0.1:53"])
    }
}
