/// Bounds on what one payload may make the decoder keep: a target is untrusted input, and one
/// misbehaving client must not blow up the memory of the server that scrapes it.
public struct PayloadLimits: Sendable, Equatable {
    /// Causes below this depth are dropped (not an error): Scala and Ruby send whole cause chains.
    /// The decoder never goes deeper than 100, whatever this says, to keep its stack small.
    public var maxCauseDepth: Int
    /// Only the newest samples by timestamp are kept; every client keeps 10.
    public var maxSamplesPerGroup: Int
    /// UTF-8 bytes kept of every string but the request body (class, message, stack trace line,
    /// method, URL, header, key, uuid); longer text is cut and marked with `…[truncated]`.
    public var maxStringLength: Int
    /// UTF-8 bytes kept of a request body, cut the same way.
    public var maxBodyLength: Int
    /// The first lines of a stack trace are kept: they say where the error happened.
    public var maxStacktraceLines: Int
    /// More groups than this makes the payload an error (nil: no limit), so that the caller can
    /// report the target instead of silently dropping some of its errors.
    public var maxGroups: Int?

    public init(
        maxCauseDepth: Int = 16,
        maxSamplesPerGroup: Int = 10,
        maxStringLength: Int = 16 * 1024,
        maxBodyLength: Int = 64 * 1024,
        maxStacktraceLines: Int = 256,
        maxGroups: Int? = nil
    ) {
        self.maxCauseDepth = maxCauseDepth
        self.maxSamplesPerGroup = maxSamplesPerGroup
        self.maxStringLength = maxStringLength
        self.maxBodyLength = maxBodyLength
        self.maxStacktraceLines = maxStacktraceLines
        self.maxGroups = maxGroups
    }
}
