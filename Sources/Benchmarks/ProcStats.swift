#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// What Linux's /proc says a process has spent.
struct ProcStats {
    let pid: Int32

    /// User plus system CPU time of the whole process, dead threads included, in seconds. The
    /// kernel counts it in clock ticks (10 ms here), hence windows of several seconds.
    func cpuSeconds() throws -> Double {
        let stat = try read("/proc/\(pid)/stat")
        // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
        guard let close = stat.lastIndex(of: ")") else { throw BenchError("unreadable /proc/\(pid)/stat") }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state): utime is field 14, stime field 15.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
            throw BenchError("unreadable /proc/\(pid)/stat")
        }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Time on CPU of the live threads, in nanoseconds (the first field of each thread's
    /// schedstat): finer than clock ticks, a cross-check on `cpuSeconds`. Threads that exited
    /// drop out of it, which a long-running leaf's thread pools do not.
    func threadRunNanoseconds() -> UInt64? {
        guard let threads = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") else { return nil }
        var total: UInt64 = 0
        for thread in threads {
            guard let text = try? read("/proc/\(pid)/task/\(thread)/schedstat"), let first = text.split(separator: " ").first,
                let value = UInt64(first)
            else { continue }
            total += value
        }
        return total
    }

    /// Resident set size in bytes (VmRSS).
    func residentBytes() throws -> Int {
        let status = try read("/proc/\(pid)/status")
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { throw BenchError("no VmRSS in /proc/\(pid)/status") }
        return kilobytes * 1024
    }

    private func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw BenchError("cannot read \(path): has the leaf exited?")
        }
        return text
    }
}
