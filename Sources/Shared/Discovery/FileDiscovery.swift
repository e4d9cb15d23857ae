import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Prometheus's `file_sd`: JSON (`.json`) or YAML (`.yml`, `.yaml`) files of target groups.
///
/// The directory listing and each file's identity (inode, size, mtime) are polled every
/// `pollInterval`, and a file is read again when they change; every file is read again every
/// `refreshInterval` anyway. A file that fails to read or parse keeps its last good groups; a
/// file that is gone drops them.
public struct FileDiscoverer: Discoverer {
    /// Files larger than this are refused rather than read.
    public static let maxFileSize = 16 << 20
    public static let filepathLabel = "__meta_filepath"

    public let config: FileDiscoveryConfig
    public let pollInterval: Duration
    private let logger: Logger

    public init(config: FileDiscoveryConfig, logger: Logger, pollInterval: Duration = .seconds(5)) {
        self.config = config
        self.logger = logger
        self.pollInterval = pollInterval
    }

    public func run(update: @escaping @Sendable ([TargetGroup]) async -> Void) async throws {
        var files: [String: WatchedFile] = [:]
        var lastSent: [TargetGroup]?
        var lastFullRead = ContinuousClock.now
        var reportedPatterns: Set<String> = []

        while !Task.isCancelled {
            let fullRead = ContinuousClock.now - lastFullRead >= config.refreshInterval
            if fullRead { lastFullRead = .now }

            let paths = matchingPaths(reported: &reportedPatterns)
            for gone in files.keys where !paths.contains(gone) {
                logger.debug("Discovery file is gone; dropping its targets", metadata: ["discovery.file": "\(gone)"])
                files[gone] = nil
            }
            for path in paths {
                // Vanished between the listing and now: treat as gone.
                guard let stamp = FileStamp(path: path) else {
                    files[path] = nil
                    continue
                }
                if let known = files[path], known.stamp == stamp, !fullRead { continue }
                do {
                    files[path] = WatchedFile(stamp: stamp, groups: try Self.read(path: path, stamp: stamp))
                } catch {
                    // Remember the stamp, so that a broken file is read again only once it changes.
                    files[path] = WatchedFile(stamp: stamp, groups: files[path]?.groups ?? [])
                    logger.warning(
                        "Cannot use discovery file; keeping its last good targets",
                        metadata: ["discovery.file": "\(path)", "discovery.error": "\(error)"]
                    )
                }
            }

            let groups = paths.sorted().flatMap { files[$0]?.groups ?? [] }
            if groups != lastSent {
                await update(groups)
                lastSent = groups
            }
            try? await Task.sleep(for: pollInterval)
        }
    }

    /// Reads and parses one file; its groups get `__meta_filepath` and the source `<path>:<index>`.
    static func read(path: String, stamp: FileStamp? = nil) throws -> [TargetGroup] {
        let format = try format(of: path)
        if let stamp, stamp.size > maxFileSize { throw FileDiscoveryError.tooLarge(limit: maxFileSize) }
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            data = try handle.read(upToCount: maxFileSize + 1) ?? Data()
        } catch {
            throw FileDiscoveryError.unreadable("\(error.localizedDescription)")
        }
        // The file may have grown since it was stat'ed.
        guard data.count <= maxFileSize else { throw FileDiscoveryError.tooLarge(limit: maxFileSize) }
        let groups: [TargetGroup]
        do {
            groups = try TargetGroupParser.parse(data, format: format, source: path)
        } catch {
            throw FileDiscoveryError.invalid(error)
        }
        return groups.map { group in
            var group = group
            group.labels[filepathLabel] = path
            return group
        }
    }

    static func format(of path: String) throws(FileDiscoveryError) -> TargetGroupParser.Format {
        switch (path as NSString).pathExtension.lowercased() {
        case "json": .json
        case "yml", "yaml": .yaml
        default: throw FileDiscoveryError.unsupportedExtension
        }
    }

    /// The files the configured patterns name now, without duplicates.
    private func matchingPaths(reported: inout Set<String>) -> Set<String> {
        var paths: Set<String> = []
        for pattern in config.files {
            let slash = pattern.lastIndex(of: "/")
            let directoryPart = slash.map { String(pattern[..<$0]) }
            let name = slash.map { String(pattern[pattern.index(after: $0)...]) } ?? pattern
            if let directoryPart, Self.isGlob(directoryPart) {
                if reported.insert(pattern).inserted {
                    logger.error(
                        "A glob is allowed only in the last path segment; ignoring this pattern",
                        metadata: ["discovery.file": "\(pattern)"]
                    )
                }
                continue
            }
            guard Self.isGlob(name) else {
                paths.insert(pattern)
                continue
            }
            let directory = directoryPart.map { $0.isEmpty ? "/" : $0 } ?? "."
            // A missing directory simply matches nothing yet, as with Prometheus.
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for entry in entries where fnmatch(name, entry, 0) == 0 {
                let path = directoryPart.map { "\($0)/\(entry)" } ?? entry
                // Only regular files: a glob may also match directories.
                if FileStamp(path: path) != nil { paths.insert(path) }
            }
        }
        return paths
    }

    private static func isGlob(_ text: String) -> Bool {
        text.contains { $0 == "*" || $0 == "?" || $0 == "[" }
    }
}

/// Why a discovery file could not be used.
public enum FileDiscoveryError: Error, Equatable, Sendable, CustomStringConvertible {
    case unsupportedExtension
    case tooLarge(limit: Int)
    case unreadable(String)
    case invalid(TargetGroupParseError)

    public var description: String {
        switch self {
        case .unsupportedExtension: "unsupported file extension: use .json, .yml or .yaml"
        case .tooLarge(let limit): "file is larger than \(limit / (1 << 20)) MiB"
        case .unreadable(let reason): "cannot read file: \(reason)"
        case .invalid(let error): error.message
        }
    }
}

/// What identifies a version of a file: an atomic rename changes the inode, an edit in place
/// the size or mtime.
struct FileStamp: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
    var size: Int
    var modifiedSeconds: Int
    var modifiedNanoseconds: Int

    /// Nil unless `path` is a regular file (following symlinks, as Kubernetes' ConfigMaps need).
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int(info.st_size)
        #if canImport(Darwin)
        modifiedSeconds = Int(info.st_mtimespec.tv_sec)
        modifiedNanoseconds = Int(info.st_mtimespec.tv_nsec)
        #else
        modifiedSeconds = Int(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int(info.st_mtim.tv_nsec)
        #endif
    }
}

private struct WatchedFile {
    var stamp: FileStamp
    var groups: [TargetGroup]
}
