import Foundation
import Prometheus
import Synchronization

/// The standard `process_*` metrics, read from /proc/self on each `/metrics` request.
public final class ProcessMetrics: Sendable {
    private let cpu: Counter
    private let cpuSeen = Mutex(0.0)
    private let resident: Gauge
    private let virtual: Gauge
    private let openFDs: Gauge
    private let maxFDs: Gauge
    private let startTime: Gauge

    public init(registry: PrometheusCollectorRegistry) {
        cpu = registry.makeCounter(descriptor: .init(metricName: "process_cpu_seconds", unitName: "total", helpText: "Total user and system CPU time spent in seconds."))
        resident = registry.makeGauge(descriptor: .init(metricName: "process_resident_memory", unitName: "bytes", helpText: "Resident memory size in bytes."))
        virtual = registry.makeGauge(descriptor: .init(metricName: "process_virtual_memory", unitName: "bytes", helpText: "Virtual memory size in bytes."))
        openFDs = registry.makeGauge(descriptor: .init(metricName: "process_open_fds", unitName: "", helpText: "Number of open file descriptors."))
        maxFDs = registry.makeGauge(descriptor: .init(metricName: "process_max_fds", unitName: "", helpText: "Maximum number of open file descriptors."))
        startTime = registry.makeGauge(descriptor: .init(metricName: "process_start_time", unitName: "seconds", helpText: "Start time of the process since unix epoch in seconds."))
        startTime.set(Date().timeIntervalSince1970)
    }

    public func update() {
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        {
            // Fields after "(comm)": state is field 3; utime 14, stime 15, vsize 23, rss 24.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 21, let utime = Double(fields[11]), let stime = Double(fields[12]), let vsize = Double(fields[20]), let rss = Double(fields[21]) {
                // A counter only grows: add what the kernel's figure grew by since the last read.
                let seconds = (utime + stime) / ticks
                let growth = cpuSeen.withLock { seen in
                    defer { seen = max(seen, seconds) }
                    return seconds - seen
                }
                if growth > 0 { cpu.increment(by: growth) }
                virtual.set(vsize)
                resident.set(rss * pageSize)
            }
        }
        if let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") { openFDs.set(Double(fds.count)) }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { maxFDs.set(Double(limit.rlim_cur)) }
    }
}
