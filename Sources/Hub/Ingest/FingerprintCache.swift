import Synchronization

/// `BugFingerprint.make` remembered for the class, message and stack trace it was given: a
/// group's newest stack trace is mostly the one its last occurrence had, and reading its frames
/// again was a twelfth of the hub's CPU per scrape. An entry is known by two independent 64-bit
/// hashes of its input (SipHash, with this process's seed), 128 bits: a wrong answer would need
/// two inputs to collide in both, about 1 in 10^29 for a full cache. Bounded by its entries (about
/// 80 bytes each); when full it starts again empty.
final class FingerprintCache: Sendable {
    private struct Key: Hashable {
        var first: Int
        var second: Int
    }

    private let limit: Int
    private let entries = Mutex([Key: String]())

    init(limit: Int = 250_000) { self.limit = limit }

    func fingerprint(className: String, message: String, storedStacktrace: String) -> String {
        func hash(_ salt: UInt8) -> Int {
            var hasher = Hasher()
            hasher.combine(salt)
            hasher.combine(className)
            hasher.combine(message)
            hasher.combine(storedStacktrace)
            return hasher.finalize()
        }
        let key = Key(first: hash(0), second: hash(1))
        if let known = entries.withLock({ $0[key] }) { return known }
        let made = BugFingerprint.make(className: className, message: message, storedStacktrace: storedStacktrace)
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[key] = made
        }
        return made
    }

    var count: Int { entries.withLock { $0.count } }
}
