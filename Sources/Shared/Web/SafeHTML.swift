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
