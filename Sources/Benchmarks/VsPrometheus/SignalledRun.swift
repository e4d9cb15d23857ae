#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Runs a benchmark so that Ctrl-C or SIGTERM cancel it: its children are stopped on the way
/// out (every `with…` helper stops its child when the body throws), and the command then fails
/// with "interrupted".
struct SignalledRun: Service {
    let body: @Sendable () async throws -> Void
    let outcome = Outcome()

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await body() }
        } catch is CancellationError {
            outcome.fail(BenchError("interrupted: every child (nginx, prometheus, the leaf) was stopped"))
        } catch {
            outcome.fail(error)
        }
    }

    static func run(_ body: @escaping @Sendable () async throws -> Void) async throws {
        var logger = Logger(label: "canopy-bench")
        logger.logLevel = .warning
        let run = SignalledRun(body: body)
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: run, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        if let failure = run.outcome.failure { throw failure }
    }
}

#if canImport(Glibc)
/// The open-file limit the bench and its children (which inherit it) run with: raised to the
/// hard limit, and the hard limit raised too where that is allowed, since a leaf or an nginx
/// with thousands of targets holds a socket for each.
enum OpenFileLimit {
    struct Limit {
        var soft: Int
        var hard: Int
        /// Why the hard limit stayed below what was wanted (not root, or no CAP_SYS_RESOURCE).
        var refusal: String?

        var description: String { "\(soft)" + (refusal.map { " (\($0))" } ?? "") }
    }

    static func raise(to wanted: Int) -> Limit {
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        getrlimit(resource, &limit)
        var refusal: String?
        if limit.rlim_max < rlim_t(wanted) {
            var raised = rlimit(rlim_cur: rlim_t(wanted), rlim_max: rlim_t(wanted))
            if setrlimit(resource, &raised) == 0 {
                limit = raised
            } else {
                refusal = "the hard limit \(limit.rlim_max) could not be raised to \(wanted): \(String(cString: strerror(errno)))"
            }
        }
        if limit.rlim_cur < limit.rlim_max {
            var raised = rlimit(rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max)
            _ = setrlimit(resource, &raised)
        }
        getrlimit(resource, &limit)
        return Limit(soft: Int(limit.rlim_cur), hard: Int(limit.rlim_max), refusal: refusal)
    }
}
#endif
