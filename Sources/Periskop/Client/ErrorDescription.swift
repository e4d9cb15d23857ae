import Foundation

/// An error that knows what caused it, so that the collector can report the whole chain
/// (`cause` in the payload), as the Scala and Ruby clients do from their exceptions' causes.
///
/// Swift errors carry no cause of their own: conform the errors that wrap another one.
/// `NSError`'s `NSUnderlyingErrorKey` is followed without this protocol.
public protocol CausedError: Error {
    /// The error this one wraps, if any.
    var cause: (any Error)? { get }
}

/// How an `any Error` becomes an `ErrorInstance`: its class, its message and its cause chain.
///
/// Every rule here feeds the aggregation key, so each one is chosen to give the same text for
/// the same error in every run of the same binary.
public enum ErrorDescription {
    /// Causes deeper than this are dropped: the leaf accepts 16 by default, and a chain that
    /// loops (an error that is its own cause) must not hang the caller.
    public static let maxCauseDepth = 16

    /// UTF-8 bytes kept of a message, the leaf's default string limit: a service that reports
    /// megabyte messages in a loop must not fill its own memory with samples.
    public static let maxMessageLength = 16 * 1024

    /// The error, its message and its causes (to `maxCauseDepth`), with `stacktrace` on the
    /// outermost error only: a Swift error does not record where it was thrown, so the only
    /// stack there is is the one at the point of reporting.
    public static func instance(of error: any Error, stacktrace: [String] = []) -> ErrorInstance {
        var chain: [any Error] = [error]
        while chain.count <= maxCauseDepth, let cause = cause(of: chain[chain.count - 1]) {
            chain.append(cause)
        }
        var instance: ErrorInstance?
        for (depth, error) in chain.enumerated().reversed() {
            instance = ErrorInstance(
                className: className(of: error), message: message(of: error),
                stacktrace: depth == 0 ? stacktrace : [], cause: instance)
        }
        return instance!
    }

    /// The dynamic type, module-qualified (`MyApp.PaymentError`), as Go's `reflect.TypeOf` is
    /// package-qualified: two modules' `ValidationError`s are different bugs.
    ///
    /// Private and local types print as `(unknown context at $7f3a2b1c).Name`, with an address
    /// that moves with ASLR on every start: that part is removed so the name stays stable.
    public static func className(of error: any Error) -> String {
        var name = String(reflecting: type(of: error))
        while let start = name.range(of: "(unknown context at $") {
            guard let end = name[start.upperBound...].range(of: ").") else { break }
            name.removeSubrange(start.lowerBound..<end.upperBound)
        }
        return name
    }

    /// What the error says, chosen to be both readable and the same text on every run:
    /// - a `LocalizedError` with an `errorDescription`: that description (what the author
    ///   wrote for people to read);
    /// - an `NSError`: its `localizedDescription`, because `String(describing:)` prints the
    ///   whole `userInfo` dictionary, whose order changes from run to run (and whose values,
    ///   such as the underlying error, are reported as the cause anyway);
    /// - anything else: `String(describing:)`, which shows an enum case and its associated
    ///   values or a `CustomStringConvertible` description. Not `localizedDescription`, which
    ///   for a plain Swift error is only "The operation could not be completed".
    ///
    /// Cut to `maxMessageLength` UTF-8 bytes on a character boundary.
    public static func message(of error: any Error) -> String {
        let text: String
        if let localized = error as? any LocalizedError, let description = localized.errorDescription {
            text = description
        } else if let nsError = genuineNSError(error) {
            text = nsError.localizedDescription
        } else {
            text = String(describing: error)
        }
        return truncated(text, to: maxMessageLength)
    }

    /// The wrapped error: `CausedError.cause`, or an `NSError`'s `NSUnderlyingErrorKey`.
    public static func cause(of error: any Error) -> (any Error)? {
        if let caused = error as? any CausedError { return caused.cause }
        if let nsError = genuineNSError(error) { return nsError.userInfo[NSUnderlyingErrorKey] as? any Error }
        return nil
    }

    /// `error as NSError` succeeds for every error (it boxes Swift errors), so the dynamic type
    /// says whether this really is an `NSError`.
    private static func genuineNSError(_ error: any Error) -> NSError? {
        guard type(of: error) is NSError.Type else { return nil }
        return error as NSError
    }

    static func truncated(_ text: String, to limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var bytes = 0
        var end = text.startIndex
        for character in text {
            let size = character.utf8.count
            if bytes + size > limit { break }
            bytes += size
            end = text.index(after: end)
        }
        return String(text[..<end])
    }
}
