import Mustache

/// Renders pages: the kit's layout and shared partials, plus the templates a server adds for
/// its own pages (which may use every partial: `{{#table}}{{>groupsTable}}{{/table}}`).
///
/// Build one at start (parsing happens once) and share it: it is an immutable value.
public struct WebTemplates: Sendable {
    public enum Failure: Error, CustomStringConvertible {
        case unknownTemplate(String)
        case invalidTemplate(name: String, error: String)

        public var description: String {
            switch self {
            case .unknownTemplate(let name): "no web template named \(name)"
            case .invalidTemplate(let name, let error): "web template \(name) does not parse: \(error)"
            }
        }
    }

    /// The partials a page can include, each with the view model it expects.
    public static let partialNames = WebTemplateSources.all.keys.filter { $0 != "layout" }.sorted()

    private let library: MustacheLibrary

    /// `pages` maps names to Mustache text; a name may not replace one of the kit's templates.
    public init(pages: [String: String] = [:]) throws {
        if let clash = pages.keys.sorted().first(where: { WebTemplateSources.all[$0] != nil }) {
            throw Failure.invalidTemplate(name: clash, error: "the name is one of the kit's own templates")
        }
        var library = MustacheLibrary()
        for (name, text) in WebTemplateSources.all.merging(pages, uniquingKeysWith: { kit, _ in kit }) {
            do {
                try library.register(text, named: name)
            } catch {
                throw Failure.invalidTemplate(name: name, error: String(describing: error))
            }
        }
        self.library = library
    }

    /// Renders the template or partial `name` with `view` (a view model struct, or a dictionary).
    public func render(_ name: String, _ view: Any) throws -> SafeHTML {
        guard let html = library.render(view, withTemplate: name) else { throw Failure.unknownTemplate(name) }
        return SafeHTML(trusted: html)
    }

    /// A whole page: `body` inside the layout.
    public func page(_ chrome: PageChrome, body: SafeHTML) -> String {
        let view = LayoutView(
            product: chrome.product,
            title: chrome.title,
            heading: .breakable(chrome.title),
            nav: chrome.nav,
            homeHref: chrome.homeHref,
            footer: chrome.footer,
            stylesheetHref: StaticAssets.stylesheet.href,
            scriptHref: StaticAssets.script.href,
            body: body
        )
        // The layout is the kit's own: it is always there.
        return library.render(view, withTemplate: "layout") ?? ""
    }

    /// A whole page whose body is the template `name` rendered with `view`.
    public func page(_ chrome: PageChrome, template name: String, _ view: Any) throws -> String {
        page(chrome, body: try render(name, view))
    }
}

/// What the layout reads.
struct LayoutView {
    let product: String
    let title: String
    /// The title for the page's `<h1>`, wrapping at dots and slashes (a class name).
    let heading: SafeHTML
    let nav: [NavItem]
    let homeHref: String
    let footer: String
    let stylesheetHref: String
    let scriptHref: String
    let body: SafeHTML
}
