import Foundation
import Testing

@testable import Shared

@Suite struct FileDiscoveryTests {
    private func write(_ text: String, to path: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    private func discoverer(_ files: [String], log: DiscoveryLogRecorder = DiscoveryLogRecorder()) -> FileDiscoverer {
        FileDiscoverer(
            config: FileDiscoveryConfig(files: files, refreshInterval: .seconds(3600)),
            logger: log.logger,
            pollInterval: .milliseconds(100)
        )
    }

    @Test func readsJSONAndYAMLFilesThroughGlobs() async throws {
        try await withTemporaryDirectory { dir in
            try write(#"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}, {"targets": ["c:3"]}]"#, to: "\(dir)/one.json")
            try write("- targets: [d:4]\n  labels: {env: dev}\n", to: "\(dir)/two.yml")
            try write("- targets: [e:5]\n", to: "\(dir)/three.yaml")
            try write("not target groups", to: "\(dir)/notes.txt")
            let files = ["\(dir)/*.json", "\(dir)/t?o.yml", "\(dir)/three.yaml"]
            try await withRunningDiscoverer(discoverer(files)) { updates in
                let groups = try #require(await updates.first())
                #expect(groups.map(\.source) == ["\(dir)/one.json:0", "\(dir)/one.json:1", "\(dir)/three.yaml:0", "\(dir)/two.yml:0"])
                #expect(addresses(groups) == ["a:1", "b:2", "c:3", "e:5", "d:4"])
                #expect(
                    groups.map { $0.labels[FileDiscoverer.filepathLabel] } == [
                        "\(dir)/one.json", "\(dir)/one.json", "\(dir)/three.yaml", "\(dir)/two.yml",
                    ]
                )
                #expect(groups[0].labels["env"] == "prod")
                #expect(groups[3].labels["env"] == "dev")
            }
        }
    }

    @Test func changedAndNewFilesArePickedUpWithinAFewPolls() async throws {
        try await withTemporaryDirectory { dir in
            try write(#"[{"targets": ["a:1"]}]"#, to: "\(dir)/a.json")
            try await withRunningDiscoverer(discoverer(["\(dir)/*.json"])) { updates in
                let first = try #require(await updates.first())
                #expect(first.flatMap(\.targets) == [[LabelName.address: "a:1"]])

                try write(#"[{"targets": ["a:2"]}]"#, to: "\(dir)/a.json")
                let changed = await updates.latest(within: .seconds(15)) { addresses($0) == ["a:2"] }
                #expect(changed != nil, "the edit was not picked up; last sent: \(String(describing: updates.latest))")

                try write(#"[{"targets": ["b:1"]}]"#, to: "\(dir)/b.json")
                let added = await updates.latest(within: .seconds(15)) { addresses($0) == ["a:2", "b:1"] }
                #expect(added != nil, "the new file was not picked up; last sent: \(String(describing: updates.latest))")
            }
        }
    }

    @Test func editInPlaceIsPickedUp() async throws {
        try await withTemporaryDirectory { dir in
            let path = "\(dir)/a.json"
            try write(#"[{"targets": ["a:1"]}]"#, to: path)
            try await withRunningDiscoverer(discoverer([path])) { updates in
                _ = try #require(await updates.first())
                // Same inode, another size: the way `echo > file` changes it.
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                try handle.truncate(atOffset: 0)
                try handle.write(contentsOf: Data(#"[{"targets": ["a:1", "a:22"]}]"#.utf8))
                try handle.close()
                let changed = await updates.latest(within: .seconds(15)) { addresses($0) == ["a:1", "a:22"] }
                #expect(changed != nil)
            }
        }
    }

    @Test func brokenFileKeepsItsLastGoodGroupsAndTheErrorNamesFileAndEntry() async throws {
        try await withTemporaryDirectory { dir in
            let path = "\(dir)/a.json"
            let log = DiscoveryLogRecorder()
            try write(#"[{"targets": ["a:1"], "labels": {"env": "prod"}}]"#, to: path)
            try await withRunningDiscoverer(discoverer([path], log: log)) { updates in
                let good = try #require(await updates.first())
                #expect(addresses(good) == ["a:1"])

                try write(#"[{"targets": ["a:1"]}, {"targets": ["a:2"], "labels": {"env": 1}}]"#, to: path)
                let problem = try #require(await log.problem(within: .seconds(15)) { $0.metadata["discovery.file"] == path })
                #expect(problem.metadata["discovery.error"] == #"entry 1: label value for "env" must be a string"#)
                try await Task.sleep(for: .milliseconds(300))
                #expect(updates.latest == good)

                try write(#"[{"targets": ["a:3"]}]"#, to: path)
                #expect(await updates.latest(within: .seconds(15)) { addresses($0) == ["a:3"] } != nil)
            }
        }
    }

    @Test func deletedFileDropsItsGroups() async throws {
        try await withTemporaryDirectory { dir in
            try write(#"[{"targets": ["a:1"]}]"#, to: "\(dir)/a.json")
            try write("- targets: [b:1]\n", to: "\(dir)/b.yaml")
            try await withRunningDiscoverer(discoverer(["\(dir)/*.json", "\(dir)/b.yaml"])) { updates in
                let first = try #require(await updates.first())
                #expect(addresses(first) == ["a:1", "b:1"])
                try FileManager.default.removeItem(atPath: "\(dir)/b.yaml")
                #expect(await updates.latest(within: .seconds(15)) { addresses($0) == ["a:1"] } != nil)
                try FileManager.default.removeItem(atPath: "\(dir)/a.json")
                #expect(await updates.latest(within: .seconds(15)) { $0.isEmpty } != nil)
            }
        }
    }

    @Test func fullRereadEveryRefreshIntervalRetriesABrokenFile() async throws {
        try await withTemporaryDirectory { dir in
            let path = "\(dir)/a.json"
            try write("[{", to: path)
            let log = DiscoveryLogRecorder()
            let discoverer = FileDiscoverer(
                config: FileDiscoveryConfig(files: [path], refreshInterval: .milliseconds(300)),
                logger: log.logger,
                pollInterval: .milliseconds(100)
            )
            try await withRunningDiscoverer(discoverer) { _ in
                _ = try #require(await log.problem(within: .seconds(15)))
                log.clear()
                // Unchanged, so only the periodic full read reports it again.
                let again = await log.problem(within: .seconds(15))
                #expect(again?.metadata["discovery.error"]?.hasPrefix("invalid JSON") == true)
            }
        }
    }

    @Test func oversizedFilesAndUnknownExtensionsAreRefused() async throws {
        try await withTemporaryDirectory { dir in
            let big = "\(dir)/big.json"
            _ = FileManager.default.createFile(atPath: big, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: big))
            try handle.truncate(atOffset: UInt64(FileDiscoverer.maxFileSize + 1))
            try handle.close()
            #expect(throws: FileDiscoveryError.tooLarge(limit: FileDiscoverer.maxFileSize)) { try FileDiscoverer.read(path: big) }
            #expect("\(FileDiscoveryError.tooLarge(limit: FileDiscoverer.maxFileSize))" == "file is larger than 16 MiB")

            try write("[]", to: "\(dir)/a.txt")
            #expect(throws: FileDiscoveryError.unsupportedExtension) { try FileDiscoverer.read(path: "\(dir)/a.txt") }
        }
    }

    @Test func globOutsideTheLastSegmentIsReportedAndIgnored() async throws {
        try await withTemporaryDirectory { dir in
            try FileManager.default.createDirectory(atPath: "\(dir)/sub", withIntermediateDirectories: true)
            try write(#"[{"targets": ["a:1"]}]"#, to: "\(dir)/sub/a.json")
            let log = DiscoveryLogRecorder()
            try await withRunningDiscoverer(discoverer(["\(dir)/*/a.json"], log: log)) { updates in
                let first = try #require(await updates.first())
                #expect(first.isEmpty)
                let problem = await log.problem(within: .seconds(15)) { $0.metadata["discovery.file"] == "\(dir)/*/a.json" }
                #expect(problem != nil)
            }
        }
    }
}
