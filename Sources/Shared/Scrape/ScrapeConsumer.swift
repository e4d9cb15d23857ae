import Foundation
import NIOCore

/// What the scrape engine hands its bodies to: the leaf's team state, or the hub's store.
public protocol ScrapeConsumer: Sendable {
    associatedtype Payload: Sendable

    /// Headers of the target's next request besides the engine's own: how a consumer that asks
    /// only for what changed since the body it consumed last names that body. Called on the
    /// scrape loop's event loop before each request, and must not wait there.
    func requestHeaders(for target: ScrapeTarget) -> [(name: String, value: String)]

    /// Decodes a body. Runs in the target's own loop, in parallel with other targets: decoding is
    /// the expensive part of a scrape, and must not wait behind an actor. The body is read in
    /// place, in a buffer the engine reuses for a later body once it no longer is shared: a
    /// payload that holds on to it makes that storage the payload's own, never a wrong read.
    func decode(_ body: ByteBuffer, from target: ScrapeTarget) throws(ScrapeFailure) -> Payload

    /// Takes a decoded payload in. A thrown failure marks the scrape failed, and the same body
    /// will be decoded and offered again next time.
    func consume(_ payload: Payload, from target: ScrapeTarget, at time: Date) async throws(ScrapeFailure)

    /// The body is byte for byte the one consumed last time: only the target's liveness is news.
    /// Called on the scrape loop's event loop, and must not wait there.
    func unchanged(_ target: ScrapeTarget, at time: Date)

    /// The target is no longer discovered.
    func removed(_ target: ScrapeTarget) async

    /// Every scrape ends here, with the target's updated health: for a log of scrapes. Called on
    /// the scrape loop's executor, where a consumer that logs nothing returns at once.
    nonisolated(nonsending) func scraped(_ target: ScrapeTarget, health: TargetHealth, unchanged: Bool) async
}

extension ScrapeConsumer {
    public func requestHeaders(for target: ScrapeTarget) -> [(name: String, value: String)] { [] }
    public func unchanged(_ target: ScrapeTarget, at time: Date) {}
    public func removed(_ target: ScrapeTarget) async {}
    public nonisolated(nonsending) func scraped(_ target: ScrapeTarget, health: TargetHealth, unchanged: Bool) async {}
}
