#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import CanopyTestSupport
import Foundation
import Synchronization
import Testing

/// `deploy/demo` end to end, as a user runs it: it starts the services, the leaves and the hub,
/// the hub shows every team's exceptions, and Ctrl-C stops everything, PostgreSQL included.
///
/// The binaries must be built (`swift build` first): the script runs with `CANOPY_DEMO_BUILD=0`,
/// because a `swift build` started from inside `swift test` would wait for the `.build` lock
/// that the test run holds.
@Suite(.serialized)
struct DemoEndToEndTests {
    static let teams = ["payments", "search", "notifications"]

    @Test(.timeLimit(.minutes(5)))
    func demoBringsUpTheHierarchyAndStopsCleanly() async throws {
        let data = "/tmp/canopy-demo-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let base = try Self.freePortBase()
        let hubPort = base + 19
        let logPath = data + ".log"
        defer {
            try? FileManager.default.removeItem(atPath: data)
            try? FileManager.default.removeItem(atPath: logPath)
        }
        let script = ServerProcess.packageRoot.appendingPathComponent("deploy/demo").path
        let demo = try ChildProcess.spawn(
            "/bin/bash", [script],
            environment: [
                "CANOPY_DEMO_DATA": data, "CANOPY_DEMO_PORT_BASE": "\(base)", "CANOPY_DEMO_HUB_PORT": "\(hubPort)",
                "CANOPY_DEMO_BUILD": "0",
            ],
            logPath: logPath)
        // Whatever happens below, nothing of the demo outlives the test.
        defer { demo.terminate(grace: .seconds(60)) }

        // Ready: the URLs are printed once the hub answers.
        let started = ContinuousClock.now
        let ready = try await eventually(timeout: .seconds(180)) {
            if demo.hasExited { throw TestFailure("deploy/demo exited early:\n\(demo.logTail)") }
            return demo.log.contains("Canopy demo is up")
        }
        try #require(ready, "deploy/demo did not print its URLs within 3 minutes:\n\(demo.logTail)")
        let readyAfter = ContinuousClock.now - started
        #expect(demo.log.contains("http://127.0.0.1:\(hubPort)/"))

        // Every team's exceptions reach the hub.
        let hub = HTTPTestClient(base: "http://127.0.0.1:\(hubPort)")
        var lastTeams = "nothing yet"
        let everyTeam = try await eventually(timeout: .seconds(120)) {
            if demo.hasExited { throw TestFailure("deploy/demo exited early:\n\(demo.logTail)") }
            guard let teams = try? await hub.json("/api/v1/teams") as? [[String: Any]] else { return false }
            lastTeams = "\(teams)"
            return Self.teams.allSatisfy { name in
                teams.contains { ($0["name"] as? String) == name && (($0["groups"] as? Int) ?? 0) > 0 }
            }
        }
        let shown = lastTeams
        let tail = demo.logTail
        #expect(everyTeam, "the hub does not show every team's exceptions: \(shown)\n\(tail)")
        let everyTeamAfter = ContinuousClock.now - started

        let overview = try await hub.get("/")
        #expect(overview.status == 200)
        for team in Self.teams { #expect(overview.body.contains(team), "the overview does not show \(team)") }

        // The shipped rules are loaded and evaluated: every demo group is new, so the new-exception
        // alert fires for them.
        let alerting = try await eventually(timeout: .seconds(60)) {
            guard let answer = try? await hub.json("/api/v1/alerts") as? [String: Any],
                let alerts = (answer["data"] as? [String: Any])?["alerts"] as? [[String: Any]],
                let rules = try? await hub.get("/api/v1/rules").body
            else { return false }
            let healthy = rules.components(separatedBy: #""health":"ok""#).count - 1 == 7
            return healthy && alerts.contains { ($0["labels"] as? [String: String])?["alertname"] == "CanopyNewException" }
        }
        let rules = try await hub.get("/api/v1/rules").body
        #expect(alerting, "every shipped rule evaluates, and the new exceptions alert: \(rules)")

        // What leaves the payments team is scrubbed: the demo's charge requests carry a bearer
        // token and card numbers.
        let federate = try await HTTPTestClient(base: "http://127.0.0.1:\(base + 11)").get("/api/v1/federate")
        #expect(federate.status == 200)
        for secret in ["demo-token", "4242 4242 4242 4242", "4111 1111 1111 1111", "5555 5555 5555 4444"] {
            #expect(!federate.body.contains(secret), "the payments leaf federates \(secret)")
        }

        // The samples' stack traces name the demo's functions (symbolicated by Swift's Runtime).
        #expect(federate.body.contains("TrafficService.report(_:random:) in canopy-demo"), "no symbolicated frame in the payments leaf's samples")
        #expect(!federate.body.contains("canopy-demo(+0x"), "a demo frame shows as an offset")

        // Ctrl-C stops everything and exits 0.
        kill(demo.pid, SIGINT)
        let stopped = try await eventually(timeout: .seconds(90)) { demo.hasExited }
        try #require(stopped, "deploy/demo did not stop within 90 s of SIGINT:\n\(demo.logTail)")
        #expect(demo.exitCode == 0, "deploy/demo ended with wait status \(demo.waitStatus ?? -1):\n\(demo.logTail)")

        let markers = [data] + (1...19).map { "127.0.0.1:\(base + $0)" }
        let leftOver = try await eventually(timeout: .seconds(5)) {
            demo.groupMembers.isEmpty && Self.processes(mentioning: markers).isEmpty
        }
        #expect(
            leftOver,
            "processes left behind: group \(demo.groupMembers), others \(Self.processes(mentioning: markers))")
        #expect(!FileManager.default.fileExists(atPath: "\(data)/hub/postgres/postmaster.pid"), "the hub's PostgreSQL is still running")
        print("deploy/demo: ready after \(readyAfter), every team on the hub after \(everyTeamAfter)")
    }

    /// `deploy/demo --secure`: the leaves and the hub answer HTTPS with the CA it made and the user it
    /// printed, refuse anyone else, and the hub still has every team's exceptions (its leaves jobs
    /// carry the credentials).
    @Test(.timeLimit(.minutes(5)))
    func secureDemoServesHTTPSToItsUserOnly() async throws {
        let data = "/tmp/canopy-demo-secure-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let base = try Self.freePortBase()
        let hubPort = base + 19
        let logPath = data + ".log"
        defer {
            try? FileManager.default.removeItem(atPath: data)
            try? FileManager.default.removeItem(atPath: logPath)
        }
        let script = ServerProcess.packageRoot.appendingPathComponent("deploy/demo").path
        let demo = try ChildProcess.spawn(
            "/bin/bash", [script, "--secure"],
            environment: ["CANOPY_DEMO_DATA": data, "CANOPY_DEMO_PORT_BASE": "\(base)", "CANOPY_DEMO_HUB_PORT": "\(hubPort)", "CANOPY_DEMO_BUILD": "0"],
            logPath: logPath)
        defer { demo.terminate(grace: .seconds(60)) }
        let ready = try await eventually(timeout: .seconds(180)) {
            if demo.hasExited { throw TestFailure("deploy/demo --secure exited early:\n\(demo.logTail)") }
            return demo.log.contains("Canopy demo is up")
        }
        try #require(ready, "deploy/demo --secure did not print its URLs within 3 minutes:\n\(demo.logTail)")
        #expect(demo.log.contains("https://127.0.0.1:\(hubPort)/"))
        let line = try #require(demo.log.split(separator: "\n").first { $0.contains("ask for a user: demo, password: ") }, "no credentials printed:\n\(demo.log)")
        let password = String(try #require(line.split(separator: " ").last))
        let tls = try TestCertificates.trusting(data + "/tls/ca.pem")

        let hub = HTTPTestClient(base: "https://127.0.0.1:\(hubPort)", tls: tls, headers: HTTPTestClient.basic("demo", password))
        let everyTeam = try await eventually(timeout: .seconds(120)) {
            guard let teams = try? await hub.json("/api/v1/teams") as? [[String: Any]] else { return false }
            return Self.teams.allSatisfy { name in teams.contains { ($0["name"] as? String) == name && (($0["groups"] as? Int) ?? 0) > 0 } }
        }
        #expect(everyTeam, "the hub scrapes the protected leaves:\n\(demo.logTail)")
        #expect(try await hub.with(headers: [:]).get("/").status == 401)
        #expect(try await hub.with(headers: HTTPTestClient.basic("demo", password + "x")).get("/api/v1/teams").status == 401)
        let leaf = HTTPTestClient(base: "https://127.0.0.1:\(base + 11)", tls: tls, headers: HTTPTestClient.basic("demo", password))
        #expect(try await leaf.get("/api/v1/federate").status == 200)
        #expect(try await leaf.with(headers: [:]).get("/api/v1/federate").status == 401)
        await #expect(throws: (any Error).self, "plain HTTP to the hub") { _ = try await HTTPTestClient(base: "http://127.0.0.1:\(hubPort)").get("/-/healthy") }

        kill(demo.pid, SIGINT)
        let stopped = try await eventually(timeout: .seconds(90)) { demo.hasExited }
        try #require(stopped, "deploy/demo --secure did not stop within 90 s of SIGINT:\n\(demo.logTail)")
        #expect(demo.exitCode == 0, "deploy/demo --secure ended with wait status \(demo.waitStatus ?? -1):\n\(demo.logTail)")
    }

    /// A base port with BASE+1 ... BASE+19 free.
    static func freePortBase() throws -> Int {
        for _ in 0..<50 {
            let base = Int.random(in: 20_000...40_000)
            if (1...19).allSatisfy({ isFree(base + $0) }) { return base }
        }
        throw TestFailure("no free range of 19 ports found")
    }

    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

extension DemoEndToEndTests {
    /// Live processes (zombies excluded) and their command lines.
    static func liveProcesses() -> [(pid: pid_t, group: pid_t, commandLine: String)] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = pid_t(entry), pid != getpid(),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            // After the command name in parentheses: state, ppid, pgrp.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, fields[0] != "Z", fields[0] != "X", let group = pid_t(fields[2]) else { return nil }
            let raw = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(entry)/cmdline"))) ?? Data()
            let commandLine = String(decoding: raw.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return (pid, group, commandLine)
        }
    }

    static func processes(mentioning markers: [String]) -> [String] {
        liveProcesses().filter { process in markers.contains { process.commandLine.contains($0) } }.map { "\($0.pid) \($0.commandLine)" }
    }
}
