import Foundation

/// A relabelling regular expression, anchored at both ends as Prometheus anchors it, compiled once.
///
/// NSRegularExpression (ICU) measured about twice as fast as Swift `Regex` for repeated matching
/// of short label values on Linux, so it is the engine here.
final class RelabelRegex: @unchecked Sendable {
    // @unchecked: NSRegularExpression is immutable once made and documented thread-safe, and the
    // other stored properties are immutable values; nothing here is ever mutated after `init`.
    let source: String
    private let regex: NSRegularExpression
    /// Named groups by name. The names are stripped before ICU sees the pattern, because ICU
    /// accepts neither Go's `(?P<name>...)` nor names with `_`; numbering does not change.
    let groupNames: [String: Int]

    struct SyntaxError: Error {
        let message: String
    }

    init(_ source: String) throws(SyntaxError) {
        self.source = source
        let (pattern, names) = try Self.translate(source)
        do {
            // `\z`, not `$`: ICU's `$` also matches before a final newline, Go's does not.
            regex = try NSRegularExpression(pattern: "^(?:" + pattern + ")\\z")
        } catch {
            throw SyntaxError(message: "not a valid regular expression")
        }
        groupNames = names
    }

    /// A successful match of a whole string, with its capture groups.
    struct Match {
        fileprivate let string: NSString
        fileprivate let result: NSTextCheckingResult

        /// Group `index`'s text, or nil when the group did not take part or does not exist.
        func group(_ index: Int) -> String? {
            guard index >= 0, index < result.numberOfRanges else { return nil }
            let range = result.range(at: index)
            guard range.location != NSNotFound else { return nil }
            return string.substring(with: range)
        }
    }

    func matches(_ string: String) -> Bool {
        match(string) != nil
    }

    func match(_ string: String) -> Match? {
        let ns = string as NSString
        guard let result = regex.firstMatch(in: string, options: [], range: NSRange(location: 0, length: ns.length)) else { return nil }
        return Match(string: ns, result: result)
    }

    /// Expands `template` as Go's `Regexp.ExpandString` does: `$1`, `${1}`, `$name`, `${name}`,
    /// `$$` for a literal `$`; an unknown or unmatched group expands to nothing, and a `$` that
    /// starts no valid reference stays as it is.
    func expand(_ template: String, _ match: Match) -> String {
        guard template.contains("$") else { return template }
        var output = ""
        var rest = Substring(template)
        while let dollar = rest.firstIndex(of: "$") {
            output += rest[..<dollar]
            rest = rest[rest.index(after: dollar)...]
            if rest.first == "$" {
                output += "$"
                rest = rest.dropFirst()
                continue
            }
            guard let (name, number, after) = Self.reference(in: rest) else {
                output += "$"
                continue
            }
            rest = after
            if let number {
                output += match.group(number) ?? ""
            } else if let index = groupNames[String(name)] {
                output += match.group(index) ?? ""
            }
        }
        output += rest
        return output
    }

    /// Parses a reference after `$` the way Go's `extract` does: a name of letters, digits and
    /// `_`, optionally in braces; it is a group number when all digits with no leading zero.
    private static func reference(in text: Substring) -> (name: Substring, number: Int?, rest: Substring)? {
        var text = text
        let braced = text.first == "{"
        if braced { text = text.dropFirst() }
        let name = text.prefix { $0.isLetter || $0.isNumber || $0 == "_" }
        guard !name.isEmpty else { return nil }
        var rest = text[name.endIndex...]
        if braced {
            guard rest.first == "}" else { return nil }
            rest = rest.dropFirst()
        }
        var number: Int? = nil
        if name.allSatisfy({ $0.isASCII && $0.isNumber }), name.count < 9, !(name.first == "0" && name.count > 1) {
            number = Int(name)
        }
        return (name, number, rest)
    }

    /// Go's capture names: ASCII letters, digits and `_`.
    private static func isNameScalar(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_"
    }

    /// Rewrites a Go (RE2) pattern for ICU: named groups become plain groups (recording their
    /// numbers). Escapes, `\Q...\E` and character classes are skipped so that their brackets
    /// are not taken for groups.
    private static func translate(_ pattern: String) throws(SyntaxError) -> (String, [String: Int]) {
        let chars = Array(pattern.unicodeScalars)
        var output = String.UnicodeScalarView()
        var names: [String: Int] = [:]
        var groups = 0
        var i = 0
        var inClass = false
        while i < chars.count {
            let c = chars[i]
            if c == "\\" {
                if i + 1 < chars.count, chars[i + 1] == "Q" {
                    // Literal text up to `\E` (or the end): copy as is.
                    var j = i + 2
                    while j < chars.count, !(chars[j] == "\\" && j + 1 < chars.count && chars[j + 1] == "E") { j += 1 }
                    let end = min(j + 2, chars.count)
                    output.append(contentsOf: chars[i..<end])
                    i = end
                    continue
                }
                output.append(contentsOf: chars[i..<min(i + 2, chars.count)])
                i += 2
                continue
            }
            if inClass {
                if c == "[", i + 1 < chars.count, chars[i + 1] == ":" {
                    // POSIX class such as `[:alpha:]`: its `]` does not close the outer class.
                    var j = i + 2
                    while j + 1 < chars.count, !(chars[j] == ":" && chars[j + 1] == "]") { j += 1 }
                    let end = min(j + 2, chars.count)
                    output.append(contentsOf: chars[i..<end])
                    i = end
                    continue
                }
                if c == "]" { inClass = false }
                output.append(c)
                i += 1
                continue
            }
            if c == "[" {
                inClass = true
                output.append(c)
                i += 1
                // A `]` right after `[` or `[^` is a literal member.
                if i < chars.count, chars[i] == "^" {
                    output.append("^" as Unicode.Scalar)
                    i += 1
                }
                if i < chars.count, chars[i] == "]" {
                    output.append("]" as Unicode.Scalar)
                    i += 1
                }
                continue
            }
            if c == "(" {
                if i + 1 < chars.count, chars[i + 1] == "?" {
                    var nameStart: Int? = nil
                    if i + 3 < chars.count, chars[i + 2] == "P", chars[i + 3] == "<" {
                        nameStart = i + 4
                    } else if i + 2 < chars.count, chars[i + 2] == "<", i + 3 < chars.count, chars[i + 3] != "=", chars[i + 3] != "!" {
                        nameStart = i + 3
                    }
                    if let nameStart {
                        var j = nameStart
                        while j < chars.count, chars[j] != ">" { j += 1 }
                        var name = ""
                        name.unicodeScalars.append(contentsOf: chars[nameStart..<min(j, chars.count)])
                        guard j < chars.count, !name.isEmpty, name.unicodeScalars.allSatisfy(Self.isNameScalar) else {
                            throw SyntaxError(message: "invalid named capture group")
                        }
                        groups += 1
                        guard names[name] == nil else { throw SyntaxError(message: "duplicate capture group name \"\(name)\"") }
                        names[name] = groups
                        output.append("(" as Unicode.Scalar)
                        i = j + 1
                        continue
                    }
                } else {
                    groups += 1
                }
            }
            output.append(c)
            i += 1
        }
        return (String(output), names)
    }
}
