import Mustache

/// Markup that the web kit itself produced (a rendered template, an SVG chart), and so may go
/// into a page unescaped: the one type a template prints with a triple mustache. Its initialiser
/// is internal, so code outside the kit cannot wrap a service's string in it by accident.
public struct SafeHTML: Sendable, Equatable, CustomStringConvertible, MustacheCustomRenderable {
    public let html: String

    init(trusted html: String) { self.html = html }

    public static let empty = SafeHTML(trusted: "")

    public var description: String { html }
    public var renderText: String { html }
    public var isNull: Bool { html.isEmpty }
}

/// Escaping for text the kit writes outside Mustache (SVG labels and titles): the same five
/// characters Mustache escapes, so text and attribute values are both safe.
public enum HTMLEscape {
    public static func text(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

extension SafeHTML {
    /// The characters after which a long URL, key or class name may wrap.
    static let breakAfter: Set<Character> = ["/", "?", "&", ".", "-", "_", "=", ":", ",", "@", "#", "+", ";"]

    /// `text` escaped, with a `<wbr>` after each run of `/ ? & . - _ = : ,` (and `@ # + ;`) that
    /// something other than a space follows, before a `%` escape and between the humps of a
    /// camel-case name: a URL, an aggregation key or a class name wraps there on a narrow screen
    /// (`http://<wbr>127.<wbr>0.<wbr>…`, `Template<wbr>Rendering<wbr>Failed<wbr>Exception`),
    /// never inside a word. Printed with a triple mustache, as every SafeHTML.
    public static func breakable(_ text: String) -> SafeHTML {
        var out = ""
        out.reserveCapacity(text.utf8.count + text.utf8.count / 8)
        var characters = text.makeIterator()
        var next = characters.next()
        var previous: Character?
        while let character = next {
            next = characters.next()
            if let previous, !breakAfter.contains(previous), !previous.isWhitespace,
                character == "%" || (previous.isLowercase && character.isUppercase)
            {
                out += "<wbr>"
            }
            previous = character
            out += HTMLEscape.text(String(character))
            if breakAfter.contains(character), let following = next, !breakAfter.contains(following), !following.isWhitespace {
                out += "<wbr>"
            }
        }
        return SafeHTML(trusted: out)
    }
}
