import Foundation
import Periskop
import Synchronization

/// Errors of distinct types for the tests: each has a fixed message unless given one.
struct DiskFull: Error, CustomStringConvertible {
    var description: String { "disk full" }
}
struct Timeout: Error {}
enum ParseFailure: Error { case badToken(String) }
struct Declined: LocalizedError {
    var errorDescription: String? { "card declined" }
}
private struct Hidden: Error {}
struct Numbered: Error, CustomStringConvertible {
    let number: Int
    var description: String { "failure \(number)" }
}

/// An error that wraps another, as a service's own error types do.
struct Wrapped: CausedError, CustomStringConvertible {
    let description: String
    let cause: (any Error)?
}

/// An error whose cause is itself: the chain must stop at the depth bound.
struct Loop: CausedError {
    var cause: (any Error)? { Loop() }
}

func hiddenError() -> any Error { Hidden() }

/// Two call sites in two functions: one group per site.
@inline(never) func reportFromSiteA(_ collector: ExceptionCollector, _ error: any Error) {
    collector.report(error)
    keepFrame()
}

/// Its body differs from A's: an optimised build merges functions with the same code into one,
/// and the two would be one frame.
@inline(never) func reportFromSiteB(_ collector: ExceptionCollector, _ error: any Error) {
    collector.report(error)
    keepFrame()
    keepFrame()
}

/// Called after a report so that the report is not a tail call: in an optimised build that
/// would give the reporting function's frame to `report`, and its caller would be the top frame.
@inline(never) func keepFrame() {
    frameKeeper.add(1, ordering: .relaxed)
}

private let frameKeeper = Atomic<Int>(0)

extension ExceptionsPayload {
    func group(_ key: String) -> AggregatedError? { aggregatedErrors.first { $0.aggregationKey == key } }
    var totals: [String: Int] { Dictionary(uniqueKeysWithValues: aggregatedErrors.map { ($0.aggregationKey, $0.totalCount) }) }
}

/// What the key hashes of a sample's stack, as `AggregationKey` documents it: the top 4 lines
/// that are not `[inlined] `, without the ` at <file>:<line>` that debug information adds.
func keyFrames(of stack: [String]) -> [String] {
    stack.filter { !$0.hasPrefix("[inlined] ") }.prefix(4).map { line in
        guard let at = line.range(of: " at ", options: .backwards) else { return line }
        return String(line[..<at.lowerBound])
    }
}
