import Foundation

/// `promtool check metrics` (Debian's prometheus package) on an exposition: its exit status and what it said.
public func promtoolCheckMetrics(_ exposition: String) throws -> (status: Int32, output: String) {
    let file = NSTemporaryDirectory() + "canopy-metrics-\(UUID().uuidString).txt"
    try exposition.write(toFile: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: file) }
    // promtool reads the exposition on stdin, which Spawn leaves at /dev/null: sh redirects it.
    return try ChildProcess.run("/bin/sh", ["-c", #"exec "$0" check metrics < "$1""#, try promtoolPath(), file])
}

/// promtool with `arguments` (`query series ...`): its exit status and output.
public func promtool(_ arguments: [String]) throws -> (status: Int32, output: String) {
    try ChildProcess.run(try promtoolPath(), arguments)
}

func promtoolPath() throws -> String {
    let path = "/usr/bin/promtool"
    guard FileManager.default.isExecutableFile(atPath: path) else { throw TestFailure("promtool is not installed: run scripts/install-test-deps") }
    return path
}
