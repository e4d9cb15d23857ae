import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import Shared

/// Against a real dnsmasq (see `Dnsmasq`): CI must install the `dnsmasq` package.
@Suite struct DNSDiscoveryTests {
    static let records = [
        "--srv-host=_periskop._tcp.canopy.test,host1.canopy.test,8081",
        "--srv-host=_periskop._tcp.canopy.test,host2.canopy.test,8082,1,5",
        "--host-record=host1.canopy.test,127.0.0.11",
        "--host-record=host2.canopy.test,127.0.0.12",
        "--host-record=v6.canopy.test,fd00::1:2",
        "--address=/wild.canopy.test/127.0.0.13",
    ]

    private func discoverer(
        _ names: [String],
        _ type: DNSDiscoveryConfig.RecordType,
        port: Int? = nil,
        nameservers: [String],
        refresh: Duration = .milliseconds(200),
        timeout: Duration = .seconds(1),
        log: DiscoveryLogRecorder = DiscoveryLogRecorder()
    ) -> DNSDiscoverer {
        DNSDiscoverer(
            config: DNSDiscoveryConfig(names: names, type: type, port: port, refreshInterval: refresh, nameservers: nameservers),
            logger: log.logger,
            queryTimeout: timeout
        )
    }

    @Test func srvRecordsBecomeTargetsWithMetaLabels() async throws {
        try await withDnsmasq(Self.records) { dns in
            let name = "_periskop._tcp.canopy.test"
            try await withRunningDiscoverer(discoverer([name], .srv, nameservers: [dns.nameserver])) { updates in
                let groups = try #require(await updates.first())
                try #require(groups.count == 1)
                #expect(groups[0].source == name)
                let targets = groups[0].targets.sorted { $0[LabelName.address]! < $1[LabelName.address]! }
                #expect(
                    targets == [
                        [
                            LabelName.address: "host1.canopy.test:8081", DNSDiscoverer.nameLabel: name,
                            DNSDiscoverer.srvTargetLabel: "host1.canopy.test.", DNSDiscoverer.srvPortLabel: "8081",
                        ],
                        [
                            LabelName.address: "host2.canopy.test:8082", DNSDiscoverer.nameLabel: name,
                            DNSDiscoverer.srvTargetLabel: "host2.canopy.test.", DNSDiscoverer.srvPortLabel: "8082",
                        ],
                    ]
                )
            }
        }
    }

    @Test func aRecordsTakeTheConfiguredPort() async throws {
        try await withDnsmasq(Self.records) { dns in
            let names = ["host1.canopy.test", "x.wild.canopy.test"]
            try await withRunningDiscoverer(discoverer(names, .a, port: 9090, nameservers: [dns.nameserver])) { updates in
                let groups = try #require(await updates.first())
                #expect(groups.map(\.source) == names)
                #expect(addresses(groups) == ["127.0.0.11:9090", "127.0.0.13:9090"])
                #expect(groups[0].targets[0] == [LabelName.address: "127.0.0.11:9090", DNSDiscoverer.nameLabel: "host1.canopy.test"])
            }
        }
    }

    @Test func aaaaRecordsAreBracketed() async throws {
        try await withDnsmasq(Self.records) { dns in
            // host1 has no AAAA record: an empty answer, not an error.
            let names = ["v6.canopy.test", "host1.canopy.test"]
            try await withRunningDiscoverer(discoverer(names, .aaaa, port: 9090, nameservers: ["[::1]:1", dns.nameserver])) { updates in
                let groups = try #require(await updates.first())
                #expect(groups.map(\.source) == names)
                #expect(groups[0].targets.map { $0[LabelName.address] } == ["[fd00::1:2]:9090"])
                #expect(groups[1].targets.isEmpty)
            }
        }
    }

    @Test func nxdomainMeansNoTargetsNotAFailure() async throws {
        try await withDnsmasq(Self.records) { dns in
            let log = DiscoveryLogRecorder()
            let names = ["missing.canopy.test", "host1.canopy.test"]
            try await withRunningDiscoverer(discoverer(names, .a, port: 80, nameservers: [dns.nameserver], log: log)) { updates in
                let groups = try #require(await updates.first())
                #expect(groups.map(\.source) == names)
                #expect(groups[0].targets.isEmpty)
                #expect(addresses(groups) == ["127.0.0.11:80"])
                #expect(log.all.allSatisfy { $0.level < .warning })
            }
        }
    }

    @Test func truncatedAnswerIsAskedAgainOverTCP() async throws {
        try await withTemporaryDirectory { dir in
            // 40 A records do not fit the 512 bytes of a plain UDP answer.
            let hosts = (1...40).map { "127.0.1.\($0) big.canopy.test" }.joined(separator: "\n") + "\n"
            try Data(hosts.utf8).write(to: URL(fileURLWithPath: "\(dir)/hosts"))
            try await withDnsmasq(Self.records + ["--addn-hosts=\(dir)/hosts"]) { dns in
                // Over UDP alone the answer is cut short.
                let server = try SocketAddress(ipAddress: "127.0.0.1", port: dns.port)
                let query = try DNSMessage.query(id: 7, name: "big.canopy.test", type: .a)
                let udp = try await DNSClient.exchangeUDP(query, id: 7, server: server, group: MultiThreadedEventLoopGroup.singleton)
                #expect(udp.isTruncated)
                #expect(udp.answers.count < 40)

                try await withRunningDiscoverer(discoverer(["big.canopy.test"], .a, port: 80, nameservers: [dns.nameserver])) { updates in
                    let groups = try #require(await updates.first())
                    #expect(Set(addresses(groups)) == Set((1...40).map { "127.0.1.\($0):80" }))
                }
            }
        }
    }

    @Test func changedRecordIsPickedUpOnTheNextRefresh() async throws {
        try await withTemporaryDirectory { dir in
            let hostsPath = "\(dir)/hosts"
            try Data("127.0.0.21 moving.canopy.test\n".utf8).write(to: URL(fileURLWithPath: hostsPath))
            try await withDnsmasq(Self.records + ["--addn-hosts=\(hostsPath)"]) { dns in
                try await withRunningDiscoverer(discoverer(["moving.canopy.test"], .a, port: 80, nameservers: [dns.nameserver])) { updates in
                    let first = try #require(await updates.first())
                    #expect(addresses(first) == ["127.0.0.21:80"])
                    try Data("127.0.0.22 moving.canopy.test\n".utf8).write(to: URL(fileURLWithPath: hostsPath))
                    dns.reload()
                    let moved = await updates.latest(within: .seconds(3)) { addresses($0) == ["127.0.0.22:80"] }
                    #expect(moved != nil, "last sent: \(String(describing: updates.latest))")
                }
            }
        }
    }

    @Test func deadNameserverFailsCleanlyAndQuickly() async throws {
        let log = DiscoveryLogRecorder()
        let deadPort = try await freeUDPPort()
        let started = ContinuousClock.now
        let name = "host1.canopy.test"
        try await withRunningDiscoverer(discoverer([name], .a, port: 80, nameservers: ["127.0.0.1:\(deadPort)"], log: log)) { updates in
            let groups = try #require(await updates.first(within: .seconds(15)))
            #expect(groups.isEmpty)
            // Refused at once rather than waited out; the bound leaves room for a busy machine.
            #expect(ContinuousClock.now - started < .seconds(10))
            let problem = try #require(await log.problem(within: .seconds(10)))
            #expect(problem.metadata["discovery.dns.name"] == name)
            #expect(problem.metadata["discovery.error"]?.contains("127.0.0.1:\(deadPort)") == true)
        }
    }

    @Test func serverGoingAwayKeepsTheLastGoodList() async throws {
        let log = DiscoveryLogRecorder()
        try await withDnsmasq(Self.records) { dns in
            let config = discoverer(["host1.canopy.test"], .a, port: 80, nameservers: [dns.nameserver], timeout: .seconds(2), log: log)
            try await withRunningDiscoverer(config) { updates in
                let good = try #require(await updates.first())
                #expect(addresses(good) == ["127.0.0.11:80"])
                dns.stop()
                _ = try #require(await log.problem(within: .seconds(15)) { $0.metadata["discovery.dns.name"] == "host1.canopy.test" })
                #expect(updates.latest == good)
                #expect(updates.all.count == 1)
            }
        }
    }

    @Test func silentNameserverTimesOutAndTheNextOneAnswers() async throws {
        let silent = try await SilentUDPServer.start()
        try await withDnsmasq(Self.records) { dns in
            let config = discoverer(
                ["host1.canopy.test"],
                .a,
                port: 80,
                nameservers: ["127.0.0.1:\(silent.port)", dns.nameserver],
                timeout: .seconds(1)
            )
            let started = ContinuousClock.now
            try await withRunningDiscoverer(config) { updates in
                let groups = try #require(await updates.first(within: .seconds(20)))
                #expect(addresses(groups) == ["127.0.0.11:80"])
                // It waited for the silent server's timeout, then asked the next one.
                let elapsed = ContinuousClock.now - started
                #expect(elapsed >= .seconds(1) && elapsed < .seconds(15))
            }
        }
    }

    @Test func aAndAAAALookupsNeedAPort() async throws {
        let discoverer = discoverer(["host1.canopy.test"], .a, nameservers: ["127.0.0.1"])
        await #expect(throws: DNSDiscoveryError.missingPort(.a)) {
            try await discoverer.run { _ in }
        }
    }
}
