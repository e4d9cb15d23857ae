import CanopyTestSupport
import Foundation
import Periskop
import Shared
import Testing

@testable import Hub

/// One bad value never blinds the hub: a real client's payload with U+0000 and invalid UTF-8 in
/// every string goes through a real leaf to the hub, is stored and shown (escaped), and the
/// leaf's other groups are stored with it.
@Suite struct HubBadValueTests {
    /// The Python client's real export, with `\u0000` and the bytes FF, C3 28 (invalid UTF-8) put
    /// into every string: keys, classes, messages, stack trace lines, uuids, HTTP method, URL,
    /// header names and values, body and target uuid. Times and severities stay readable.
    static func hostileBody() throws -> [UInt8] {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/periskop/python-client-0.2.0_real-export.json").standardizedFileURL
        let marker = "BADUTF8"
        func poison(_ value: Any, key: String?) -> Any {
            switch value {
            case let text as String where !["severity", "timestamp", "created_at"].contains(key ?? ""):
                return "\(text)\u{0}nul\(marker)"
            case let object as [String: Any]:
                var result: [String: Any] = [:]
                for (name, value) in object {
                    let poisoned = poison(value, key: name)
                    result[key == "request_headers" ? "\(name)\u{0}\(marker)" : name] = poisoned
                }
                return result
            case let array as [Any]: return array.map { poison($0, key: key) }
            default: return value
            }
        }
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: fixture))
        let poisoned = try JSONSerialization.data(withJSONObject: poison(object, key: nil))
        var text = [UInt8](poisoned)
        let invalid: [UInt8] = [0xFF, 0xC3, 0x28]
        let needle = Array(marker.utf8)
        var index = 0
        while index + needle.count <= text.count {
            if Array(text[index..<index + needle.count]) == needle {
                text.replaceSubrange(index..<index + needle.count, with: invalid)
                index += invalid.count
            } else {
                index += 1
            }
        }
        #expect(String(validating: text, as: UTF8.self) == nil)  // really not UTF-8
        return text
    }

    @Test func nulAndInvalidUTF8InEveryFieldAreStoredAndBlockNothing() async throws {
        let hostile = FakeTarget()
        hostile.behaviour = .bytes(try Self.hostileBody())
        let clean = FakeTarget()
        clean.report("clean@1", total: 4, message: "a clean neighbour")
        let cluster = try await TestCluster.shared.postgres()
        try await TestDatabase.with { database in
            try await withServices([hostile.makeApplication(), clean.makeApplication()]) {
                try await withTemporaryDirectory { directory in
                    let leaf = try HubEndToEndTests.Leaf(
                        team: "payments", service: "checkout", targets: [await hostile.address(), await clean.address()], directory: directory)
                    try await leaf.start()
                    let hubFile = directory + "/hub.yml"
                    try HubEndToEndTests.hubConfig(database, socket: cluster.socketDirectory, port: cluster.port, leaves: [("payments", leaf.port)], file: hubFile)
                    let hubProcess = try ServerProcess("canopy-hub", ["--config", hubFile, "--data-dir", directory + "/hub"])
                    let hub = HTTPTestClient(base: try await hubProcess.base())
                    do {
                        // Every group of the team is stored: the poisoned ones and the clean one.
                        let totals = try await eventually(timeout: .seconds(30)) { (try? await HubEndToEndTests.totals(hub).count) ?? 0 >= 3 }
                        #expect(totals)
                        let page = try #require(try await hub.json("/api/v1/groups?limit=500") as? [String: Any])
                        let groups = try #require(page["groups"] as? [[String: Any]])
                        #expect(groups.contains { $0["aggregation_key"] as? String == "clean@1" && $0["total"] as? Int == 4 })
                        let poisoned = groups.filter { ($0["aggregation_key"] as? String)?.contains("\u{FFFD}nul") == true }
                        #expect(poisoned.count == 2)
                        for group in poisoned {
                            let key = try #require(group["aggregation_key"] as? String)
                            #expect(!key.contains("\u{0}"))
                            #expect(key.hasSuffix("\u{FFFD}nul\u{FFFD}\u{FFFD}("))  // FF and C3 each one U+FFFD, then "("
                            #expect((group["message"] as? String)?.contains("\u{FFFD}nul") == true)
                            #expect((group["class"] as? String)?.contains("\u{FFFD}nul") == true)

                            // Its samples, with every string of theirs, are stored and shown.
                            let id = try #require(group["id"] as? Int)
                            let detail = try #require(try await hub.json("/api/v1/groups/\(id)") as? [String: Any])
                            let samples = try #require(detail["samples"] as? [[String: Any]])
                            #expect(!samples.isEmpty)
                            let sampleText = String(decoding: try JSONSerialization.data(withJSONObject: samples), as: UTF8.self)
                            #expect(!sampleText.contains(#"\u0000"#))
                            #expect(sampleText.contains("\u{FFFD}nul"))
                            let html = try await hub.get("/groups/\(id)")
                            #expect(html.status == 200)
                            #expect(html.body.contains("\u{FFFD}nul"))
                            #expect(!html.body.contains("\u{0}"))
                        }
                        // The request of the Python sample, poisoned header names included.
                        let withRequest = try await poisoned.asyncCompactMap { group -> [String: Any]? in
                            let detail = try await hub.json("/api/v1/groups/\(group["id"] as! Int)") as? [String: Any]
                            return (detail?["samples"] as? [[String: Any]])?.compactMap { $0["http_context"] as? [String: Any] }.first
                        }
                        let headers = try #require(withRequest.first?["request_headers"] as? [String: String])
                        #expect(headers.keys.contains { $0.contains("\u{FFFD}") })

                        // The leaf is healthy on the hub, and its scrapes applied without an error.
                        let leaves = try #require(try await hub.json("/api/v1/leaves") as? [[String: Any]])
                        #expect(leaves.first?["health"] as? String == "up")
                        let leavesPage = try await hub.get("/leaves")
                        #expect(!leavesPage.body.contains("invalid byte sequence"))
                        #expect(!leavesPage.body.contains("INSERT"))
                    }
                    await hubProcess.stop()
                    await leaf.stop()
                }
            }
        }
    }
}

extension Sequence {
    func asyncCompactMap<T>(_ transform: (Element) async throws -> T?) async rethrows -> [T] {
        var result: [T] = []
        for element in self { if let value = try await transform(element) { result.append(value) } }
        return result
    }
}
