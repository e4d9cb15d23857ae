import Shared

/// An invariant that did not hold: stops the process as a crash, so that libFuzzer keeps the
/// input, with the reason on stderr.
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
    if !condition() { fatalError("invariant broken: \(message())", file: file, line: line) }
}

/// The input as a Swift string; invalid UTF-8 becomes U+FFFD, as any reader of text would see it.
public func text(_ data: UnsafePointer<UInt8>, _ size: Int) -> String {
    String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
}

/// The name config targets parse their input under: relative paths in it resolve below a folder
/// that does not exist.
public let configFile = "/nonexistent/fuzz.yml"

/// Parses `text` twice, as `configFile`: the same text must give the same result, either a config
/// (returned for the target's own checks) or the same issues, each naming the file and a line of
/// the text (then nil).
public func parseTwice<Config>(_ text: String, _ parse: (String, String) throws(ConfigError) -> Config, same: (Config, Config) -> Bool) -> Config? {
    let first = Result { () throws(ConfigError) in try parse(text, configFile) }
    let second = Result { () throws(ConfigError) in try parse(text, configFile) }
    switch (first, second) {
    case (.success(let a), .success(let b)):
        require(same(a, b), "the same text made two different configs")
        return a
    case (.failure(let a), .failure(let b)):
        require(a.issues == b.issues, "the same text gave different issues")
        checkIssues(a.issues.map { ($0.file, $0.line, $0.message) }, in: text)
        return nil
    default:
        require(false, "the same text was accepted once and refused once")
        return nil
    }
}

/// A refused config says what is wrong and where: the file it was given, a line of the text.
public func checkIssues(_ issues: [(file: String, line: Int?, message: String)], in text: String) {
    require(!issues.isEmpty, "a config refused without an issue")
    let lines = yamlLines(text)
    for issue in issues {
        require(issue.file == configFile, "an issue names \(issue.file), not the config file")
        require(!issue.message.isEmpty, "an issue without a message")
        if let line = issue.line { require(line >= 1 && line <= lines + 1, "issue at line \(line) of a \(lines)-line text: \(issue.message)") }
    }
}

/// Lines as YAML counts them: `\r\n`, `\r`, `\n`, NEL, LS and PS each end one.
private func yamlLines(_ text: String) -> Int {
    var lines = 1
    var afterCR = false
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\n": if !afterCR { lines += 1 }
        case "\r", "\u{85}", "\u{2028}", "\u{2029}": lines += 1
        default: break
        }
        afterCR = scalar == "\r"
    }
    return lines
}
