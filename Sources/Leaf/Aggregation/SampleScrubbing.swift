import Periskop
import Shared

extension Scrubber {
    /// Redacts credentials from a sample's HTTP context before it is stored or served.
    func scrub(_ sample: ErrorWithContext) -> ErrorWithContext {
        guard var context = sample.httpContext else { return sample }
        var sample = sample
        context.requestHeaders = scrubHeaders(context.requestHeaders)
        context.requestURL = scrubURL(context.requestURL)
        context.requestBody = context.requestBody.map(scrubBody)
        sample.httpContext = context
        return sample
    }
}
