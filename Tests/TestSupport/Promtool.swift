import Foundation

/// `promtool check metrics` (Debian's prometheus package) on an exposition: its exit status and what it said.
public func promtoolCheckMetrics(_ exposition: String) throws -> (status: Int32, output: String) {
    let file = NSTemporaryDirectory() + "canopy-metrics-\(UUID().uuidString).txt"
    try exposition.write(toFile: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: file) }
    let promtool = Process()
    promtool.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
    promtool.arguments = ["check", "metrics"]
    promtool.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: file))
    let pipe = Pipe()
    promtool.standardOutput = pipe
    promtool.standardError = pipe
    try promtool.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    promtool.waitUntilExit()
    return (promtool.terminationStatus, output)
}
