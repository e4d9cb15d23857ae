import Foundation
import Periskop
import Shared

/// In-process times of the two things a scrape of one body may cost beyond the HTTP exchange:
/// hashing it (always) and decoding it (only when it changed).
struct MicroBenchmark {
    struct Result: Sendable {
        var bytes: Int
        var groups: Int
        var decode: Summary
        var hash: Summary
    }

    var runs: Int

    func run(body: [UInt8]) throws -> Result {
        let decoder = PayloadDecoder()
        let payload = try decoder.decode(body)
        var decodeTimes: [Double] = []
        var hashTimes: [Double] = []
        var sink = 0
        for _ in 0..<runs {
            decodeTimes.append(
                try Self.milliseconds {
                    sink &+= try decoder.decode(body).aggregatedErrors.count
                })
            hashTimes.append(Self.milliseconds { sink &+= Self.hash(body) })
        }
        // Keeps the optimiser from dropping the work whose result nothing else uses.
        if sink == 42 { FileHandle.standardError.write(Data()) }
        return Result(bytes: body.count, groups: payload.aggregatedErrors.count, decode: Summary(decodeTimes), hash: Summary(hashTimes))
    }

    /// The fingerprint a scrape loop takes of a body, which decides whether it changed.
    static func hash(_ bytes: [UInt8]) -> Int {
        Int(truncatingIfNeeded: bytes.withUnsafeBytes(BodyFingerprint.init).hash)
    }

    private static func milliseconds(_ work: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try work()
        let elapsed = ContinuousClock.now - start
        return elapsed.seconds * 1000
    }
}

/// Median, min and max of a series.
struct Summary: Sendable {
    var median: Double
    var min: Double
    var max: Double

    init(_ values: [Double]) {
        let sorted = values.filter { !$0.isNaN }.sorted()
        guard !sorted.isEmpty else {
            (median, min, max) = (.nan, .nan, .nan)
            return
        }
        let middle = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        min = sorted[0]
        max = sorted[sorted.count - 1]
    }
}
