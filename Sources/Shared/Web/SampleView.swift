import Foundation
import Periskop

/// Partial `sample`: one occurrence of an exception as a service reported it (scrubbed by the
/// leaf before it got here): when and how bad, class and message, stack trace, the cause chain,
/// and the request with a curl line that repeats it.
///
///     {{#samples}}{{>sample}}{{/samples}}   with   samples: SampleView.list(group.samples, now: now)
public struct SampleView: Sendable {
    public var uuid: String
    /// False for a sample without a timestamp: `time` is then not shown.
    public var hasTime: Bool
    public var time: TimeView
    public var severity: SeverityBadgeView
    public var errorClass: String
    /// `errorClass` with a `<wbr>` after each dot, so that a long class wraps at its dots.
    public var errorClassHTML: SafeHTML
    public var message: String
    /// The frames, one a line, as the client's language printed them.
    public var stacktrace: String
    public var hasStacktrace: Bool
    /// The chain below the error, nearest cause first.
    public var causes: [CauseView]
    public var hasHTTP: Bool
    /// Empty fields when `hasHTTP` is false.
    public var http: HTTPContextView

    public init(_ sample: ErrorWithContext, now: Date) {
        uuid = sample.uuid
        hasTime = sample.timestamp != nil
        time = TimeView(sample.timestamp, now: now)
        severity = SeverityBadgeView(sample.severity)
        errorClass = sample.error.className
        errorClassHTML = .breakable(sample.error.className)
        message = sample.error.message
        stacktrace = sample.error.stacktrace.joined(separator: "\n")
        hasStacktrace = !sample.error.stacktrace.isEmpty
        var causes: [CauseView] = []
        var next = sample.error.cause
        while let cause = next {
            causes.append(CauseView(cause, depth: causes.count + 1))
            next = cause.cause
        }
        self.causes = causes
        hasHTTP = sample.httpContext != nil
        http = sample.httpContext.map(HTTPContextView.init) ?? HTTPContextView(HTTPContext(requestMethod: "", requestURL: ""))
    }

    /// The views of a group's samples, in the order given (newest first at leaf and hub).
    public static func list(_ samples: [ErrorWithContext], now: Date) -> [SampleView] {
        samples.map { SampleView($0, now: now) }
    }
}

/// One error of a sample's cause chain.
public struct CauseView: Sendable, Equatable {
    /// 1 for the direct cause, 2 for its cause, ...
    public var depth: Int
    public var errorClass: String
    public var errorClassHTML: SafeHTML
    public var message: String
    public var stacktrace: String
    public var hasStacktrace: Bool

    public init(_ error: ErrorInstance, depth: Int) {
        self.depth = depth
        errorClass = error.className
        errorClassHTML = .breakable(error.className)
        message = error.message
        stacktrace = error.stacktrace.joined(separator: "\n")
        hasStacktrace = !error.stacktrace.isEmpty
    }
}

/// The request during which an error happened.
public struct HTTPContextView: Sendable, Equatable {
    public var method: String
    public var url: String
    /// `url` with a `<wbr>` after each `/`, `?`, `&`, `.`..., so that it wraps there.
    public var urlHTML: SafeHTML
    /// Sorted by name, so that a page shows them in the same order every time.
    public var headers: [HeaderView]
    public var hasHeaders: Bool
    public var body: String
    public var hasBody: Bool
    /// The request as a curl command, for the `copyText` partial.
    public var curl: CopyTextView

    public struct HeaderView: Sendable, Equatable {
        public var name: String
        public var value: String
        public var valueHTML: SafeHTML

        public init(name: String, value: String) {
            self.name = name
            self.value = value
            valueHTML = .breakable(value)
        }
    }

    public init(_ context: HTTPContext) {
        method = context.requestMethod
        url = context.requestURL
        urlHTML = .breakable(context.requestURL)
        headers = context.requestHeaders.sorted { $0.key < $1.key }.map { HeaderView(name: $0.key, value: $0.value) }
        hasHeaders = !headers.isEmpty
        body = context.requestBody ?? ""
        hasBody = !body.isEmpty
        curl = CopyTextView(label: "Repeat the request with curl (secrets are redacted)", text: CurlCommand.make(context))
    }
}

/// A curl command for a recorded request, safe to paste into a POSIX shell whatever the service
/// sent: every argument that is not plainly safe is single-quoted.
public enum CurlCommand {
    /// Headers curl works out itself: a copied Content-Length would be wrong once the body was scrubbed.
    static let computedHeaders: Set<String> = ["content-length"]

    /// One argument a line (` \` continues it), so that a long request stays readable.
    public static func make(_ context: HTTPContext) -> String {
        let method = context.requestMethod.isEmpty ? "GET" : context.requestMethod
        let body = context.requestBody ?? ""
        var parts = ["curl"]
        // curl GETs, or POSTs a body: any other method is named.
        if method != (body.isEmpty ? "GET" : "POST") { parts[0] += " -X " + shellQuote(method) }
        // `--url` so that a URL starting with `-` is not read as an option.
        parts[0] += (context.requestURL.hasPrefix("-") ? " --url " : " ") + shellQuote(context.requestURL)
        for (name, value) in context.requestHeaders.sorted(by: { $0.key < $1.key }) where !computedHeaders.contains(name.lowercased()) {
            parts.append("-H " + shellQuote("\(name): \(value)"))
        }
        // `--data-raw`: sent as is (`--data` would read a file for a body starting with `@`).
        if !body.isEmpty { parts.append("--data-raw " + shellQuote(body)) }
        return parts.joined(separator: " \\\n  ")
    }

    /// POSIX shell quoting: plain words stay as they are; anything else goes in single quotes,
    /// in which nothing is special but `'` itself, written `'\''` (close, escaped quote, reopen).
    public static func shellQuote(_ text: String) -> String {
        if !text.isEmpty, text.unicodeScalars.allSatisfy({ plain.contains($0) }) { return text }
        return "'" + text.replacingOccurrences(of: "'", with: #"'\''"#) + "'"
    }

    private static let plain = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-")
}
