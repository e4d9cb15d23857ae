import ArgumentParser
import Foundation
import Hummingbird
import NIOCore
import Periskop
import Synchronization

/// What the simulated targets serve between two scrapes.
enum ScrapeMode: String, Sendable, CaseIterable, ExpressibleByArgument {
    /// The same bytes every time: the normal case, no new exception since the last scrape.
    case steady
    /// A new body every time (a count grows, a fresh sample), so the leaf must decode and merge.
    case changing
}

/// The exceptions endpoint of one simulated process.
final class TargetSource: Sendable {
    private struct State {
        var mode: ScrapeMode = .steady
        var payload: ExceptionsPayload
        var rng: SeededGenerator
        var occurrences = 0
        /// Encoded once per reset: steady scrapes then cost the benchmark nothing but a copy.
        var body: ByteBuffer
    }

    private let index: Int
    private let factory: PayloadFactory
    private let state: Mutex<State>

    init(index: Int, factory: PayloadFactory) {
        self.index = index
        self.factory = factory
        let (payload, rng) = factory.payload(targetIndex: index)
        state = Mutex(State(payload: payload, rng: rng, body: ByteBuffer(bytes: PayloadEncoder().encode(payload))))
    }

    /// Starts again from the initial payload, so that every mode and every run serves the same data.
    func reset(mode: ScrapeMode) {
        let (payload, rng) = factory.payload(targetIndex: index)
        let body = ByteBuffer(bytes: PayloadEncoder().encode(payload))
        state.withLock { $0 = State(mode: mode, payload: payload, rng: rng, body: body) }
    }

    /// The body as it stands, without making a new occurrence.
    var currentBytes: [UInt8] { state.withLock { Array($0.body.readableBytesView) } }

    /// The body of one scrape. In `changing` mode each call is one new occurrence of one group, in
    /// turn: its count grows and its oldest sample makes way for a new one.
    func nextBody() -> ByteBuffer {
        state.withLock { state in
            guard state.mode == .changing else { return state.body }
            let groupIndex = state.occurrences % state.payload.aggregatedErrors.count
            let template = factory.templates[groupIndex]
            state.occurrences += 1
            var group = state.payload.aggregatedErrors[groupIndex]
            group.totalCount += 1
            if !group.latestErrors.isEmpty { group.latestErrors.removeFirst() }
            group.latestErrors.append(template.sample(&state.rng, at: Date()))
            state.payload.aggregatedErrors[groupIndex] = group
            state.body = ByteBuffer(bytes: PayloadEncoder().encode(state.payload))
            return state.body
        }
    }
}
