import Foundation
import Periskop
import Shared
import CanopyTestSupport
import Testing

@testable import Leaf

/// A data dir on a real, tiny tmpfs that fills up or turns read-only under a running leaf: the
/// leaf goes on scraping and serving from memory, says so in `/metrics`, and saves again once the
/// disk takes it. Needs root (mount), as CI has.
@Suite(.serialized) struct DiskFaultTests {
    @Test func aFullDiskThenAReadOnlyOneNeverStopCountingAndSavingResumes() async throws {
        let mount = try TmpfsMount(size: "256k")
        defer { mount.remove() }
        let dataDir = mount.path + "/data"
        let target = FakeTarget()
        target.report("card declined", total: 2)
        try await withServices([target.makeApplication()]) {
            let config = try Self.config(target: await target.address())
            try await LeafHarness.run(config, dataDir: dataDir) { leaf in
                try await expectEventually { try await leaf.totals(of: "api") == ["card declined": 2] }
                try await expectEventually { try Self.savedTotal(in: dataDir) == 2 }
                #expect(try await Self.metric("canopy_leaf_state_save_failing", leaf) == 0)

                // Full: every byte of the tmpfs taken by another file.
                try mount.fill()
                target.report("card declined", total: 5)
                try await expectEventually { try await leaf.totals(of: "api") == ["card declined": 5] }
                try await expectEventually { try await Self.metric("canopy_leaf_state_save_failing", leaf) == 1 }
                let failures = try await Self.metric("canopy_leaf_state_save_failures_total", leaf)
                #expect(failures >= 1)
                try await expectEventually { try await Self.metric("canopy_leaf_state_save_failures_total", leaf) > failures }
                #expect(try Self.savedTotal(in: dataDir) == 2, "the last good save stays whole")
                #expect(!FileManager.default.fileExists(atPath: dataDir + "/state.json.tmp"), "a partial temporary file is removed")
                // Serving goes on: the API and the pages answer.
                #expect(try await leaf.get("/").status == 200)

                try mount.unfill()
                try await expectEventually { try Self.savedTotal(in: dataDir) == 5 }
                try await expectEventually { try await Self.metric("canopy_leaf_state_save_failing", leaf) == 0 }

                // Read-only.
                try mount.remount("ro")
                target.report("card declined", total: 9)
                try await expectEventually { try await leaf.totals(of: "api") == ["card declined": 9] }
                try await expectEventually { try await Self.metric("canopy_leaf_state_save_failing", leaf) == 1 }
                #expect(try Self.savedTotal(in: dataDir) == 5)
                try mount.remount("rw")
                try await expectEventually { try Self.savedTotal(in: dataDir) == 9 }
                try await expectEventually { try await Self.metric("canopy_leaf_state_save_failing", leaf) == 0 }
                #expect(try await Self.metric("canopy_leaf_state_last_save_timestamp_seconds", leaf) > Date().timeIntervalSince1970 - 60)
            }
        }
    }

    /// A leaf that starts on a read-only disk with no state serves and counts at once, and saves
    /// its epoch once the disk is writable.
    @Test func startsOnAReadOnlyDiskAndSavesOnceItIsWritable() async throws {
        let mount = try TmpfsMount(size: "256k")
        defer { mount.remove() }
        try mount.remount("ro")
        let dataDir = mount.path + "/data"
        let target = FakeTarget()
        target.report("timeout", total: 3)
        try await withServices([target.makeApplication()]) {
            let config = try Self.config(target: await target.address())
            try await LeafHarness.run(config, dataDir: dataDir) { leaf in
                try await expectEventually { try await leaf.totals(of: "api") == ["timeout": 3] }
                #expect(try await Self.metric("canopy_leaf_state_save_failing", leaf) == 1)
                try mount.remount("rw")
                try await expectEventually { try Self.savedTotal(in: dataDir) == 3 }
                #expect(try await Self.metric("canopy_leaf_state_save_failing", leaf) == 0)
            }
        }
    }

    static func config(target: String) throws -> LeafConfig {
        try LeafHarness.config(
            """
            global:
              scrape_interval: 200ms
              external_labels: {team: t}
            services:
            - name: api
              static_configs: [{targets: ['\(target)']}]
              scraper: {endpoint: /-/exceptions}
            """)
    }

    /// The total that `state.json` on disk holds, 0 when there is none.
    static func savedTotal(in dataDir: String) throws -> Int {
        let url = URL(fileURLWithPath: dataDir + "/state.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return 0 }
        let snapshot = try CanopyJSON.decoder().decode(TeamSnapshot.self, from: Data(contentsOf: url))
        return snapshot.groups.values.reduce(0) { $0 + $1.total }
    }

    static func metric(_ name: String, _ leaf: RunningLeaf) async throws -> Double {
        let text = try await leaf.get("/metrics").body
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + " ") }), let value = Double(line.split(separator: " ")[1]) else {
            throw MetricMissing(name: name)
        }
        return value
    }

    struct MetricMissing: Error { let name: String }
}

/// A tmpfs of its own, so that the test can fill it or make it read-only without touching the
/// machine's disks.
struct TmpfsMount {
    let path: String

    init(size: String) throws {
        path = LeafHarness.temporaryDirectory()
        try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", path])
    }

    /// Takes every free byte with one file.
    func fill() throws {
        let fd = open(path + "/filler", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw Failure(what: "open filler") }
        defer { close(fd) }
        let block = [UInt8](repeating: 0, count: 4096)
        while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
        guard errno == ENOSPC else { throw Failure(what: "filling \(path) stopped with errno \(errno)") }
        // Small writes fit in what a 4 KiB write left; take that too.
        while write(fd, block, 1) > 0 {}
    }

    func unfill() throws {
        guard unlink(path + "/filler") == 0 else { throw Failure(what: "unlink filler") }
    }

    func remount(_ mode: String) throws {
        try Self.run("/bin/mount", ["-o", "remount,\(mode)", path])
    }

    func remove() {
        try? Self.run("/bin/umount", [path])
        try? FileManager.default.removeItem(atPath: path)
    }

    struct Failure: Error { let what: String }

    private static func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw Failure(what: "\(tool) \(arguments.joined(separator: " ")) exited \(process.terminationStatus)") }
    }
}
