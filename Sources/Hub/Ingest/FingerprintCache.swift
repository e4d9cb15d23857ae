import Synchronization

/// `BugFingerprint.make` remembered for the class, message and stack trace it was given: a
/// group's newest stack trace is mostly the one its last occurrence had, and reading its frames
/// again was a twelfth of the hub's CPU per scrape. Bounded by the bytes it holds; when full it
/// starts again empty (what a group needs comes back with its next occurrence).
final class FingerprintCache: Sendable {
    private struct Key: Hashable {
        var className: String
        var message: String
        var stacktrace: String
    }

    private let limit: Int
    private let state = Mutex((entries: [Key: String](), bytes: 0))

    init(limitBytes: Int = 16 << 20) { limit = limitBytes }

    func fingerprint(className: String, message: String, storedStacktrace: String) -> String {
        let key = Key(className: className, message: message, stacktrace: storedStacktrace)
        if let known = state.withLock({ $0.entries[key] }) { return known }
        let made = BugFingerprint.make(className: className, message: message, storedStacktrace: storedStacktrace)
        let size = className.utf8.count + message.utf8.count + storedStacktrace.utf8.count + 64
        state.withLock { state in
            if state.bytes + size > limit { state = ([:], 0) }
            guard size <= limit else { return }
            state.entries[key] = made
            state.bytes += size
        }
        return made
    }

    var count: Int { state.withLock { $0.entries.count } }
}
