import Foundation
import FuzzSupport
import Leaf

/// The input scrubbed as a URL, a request body and a block of `Name: value` header lines.
/// Scrubbing is idempotent, and what Foundation's own parsers find in the output holds no
/// secret: every sensitive query or fragment parameter and URL password, every sensitive JSON
/// key at any depth and every sensitive header has the value `[REDACTED]` (or an empty one).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = text(data, size)
    let scrubber = Scrubber(extraHeaders: ["X-Fuzz-Secret"], extraFields: ["fuzzkey"])

    let url = scrubber.scrubURL(input)
    require(scrubber.scrubURL(url) == url, "scrubURL is not idempotent: \(input.debugDescription) → \(url.debugDescription)")
    checkURL(url, scrubber)

    let body = scrubber.scrubBody(input)
    require(scrubber.scrubBody(body) == body, "scrubBody is not idempotent: \(input.debugDescription) → \(body.debugDescription)")
    if json(input) != nil {
        guard let scrubbed = json(body) else {
            require(false, "scrubBody broke JSON: \(input.debugDescription) → \(body.debugDescription)")
            return 0
        }
        checkJSON(scrubbed, scrubber, original: input, scrubbedText: body)
    }

    var headers: [String: String] = [:]
    for line in input.split(separator: "\n") {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[String(line[..<colon])] = String(line[line.index(after: colon)...])
    }
    let scrubbedHeaders = scrubber.scrubHeaders(headers)
    require(scrubber.scrubHeaders(scrubbedHeaders) == scrubbedHeaders, "scrubHeaders is not idempotent: \(headers)")
    require(scrubbedHeaders.keys.sorted() == headers.keys.sorted(), "scrubHeaders changed the header names")
    for (name, value) in scrubbedHeaders where scrubber.isSensitiveHeader(name) {
        require(value.isEmpty || value == Scrubber.redacted, "sensitive header \(name) kept \(value.debugDescription)")
    }
    return 0
}

private func isRedacted(_ value: String?) -> Bool { value == nil || value == "" || value == Scrubber.redacted }

private func checkURL(_ url: String, _ scrubber: Scrubber) {
    guard let components = URLComponents(string: url) else { return }
    require(isRedacted(components.password), "URL password kept in \(url.debugDescription)")
    for item in components.queryItems ?? [] where scrubber.isSensitiveField(item.name) {
        require(isRedacted(item.value), "query parameter \(item.name) kept in \(url.debugDescription)")
    }
    // OAuth's implicit flow puts `access_token=...` in the fragment. Foundation re-escapes a
    // fragment it finds invalid (a second `#`), `%` included: then it is not the text scrubbed.
    let fragment = components.percentEncodedFragment ?? ""
    guard let hash = url.firstIndex(of: "#"), url[url.index(after: hash)...] == fragment else { return }
    for pair in fragment.split(separator: "&") {
        guard let equals = pair.firstIndex(of: "=") else { continue }
        let name = String(pair[..<equals])
        if scrubber.isSensitiveField(name.removingPercentEncoding ?? name) {
            let value = String(pair[pair.index(after: equals)...])
            require(isRedacted(value.removingPercentEncoding ?? value), "fragment parameter \(name) kept in \(url.debugDescription)")
        }
    }
}

private func json(_ text: String) -> Any? {
    try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
}

private func checkJSON(_ value: Any, _ scrubber: Scrubber, original: String, scrubbedText: String) {
    if let object = value as? [String: Any] {
        for (key, child) in object {
            if scrubber.isSensitiveField(key) {
                require(child as? String == Scrubber.redacted, "JSON key \(key) kept its value: \(original.debugDescription) → \(scrubbedText.debugDescription)")
            } else {
                checkJSON(child, scrubber, original: original, scrubbedText: scrubbedText)
            }
        }
    } else if let array = value as? [Any] {
        for child in array { checkJSON(child, scrubber, original: original, scrubbedText: scrubbedText) }
    }
}
