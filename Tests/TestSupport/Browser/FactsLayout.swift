extension Browser {
    /// The widths a page's layout is checked at: a wide desktop, a laptop, a tablet, a phone.
    public static let layoutWidths = [1400, 1000, 640, 390]

    /// Where each value of the page's `.facts` lists is, as laid out now, by its label:
    /// `beside` (on the label's line, just right of it), `below` (in the label's column, just
    /// under it) or `away` (anywhere else: under another label, far from its own).
    public func factsLayout() async throws -> [(label: String, place: String)] {
        let script = """
            const places = [];
            for (const dt of document.querySelectorAll('.facts dt')) {
              const dd = dt.nextElementSibling;
              if (!dd || dd.tagName !== 'DD') { places.push([dt.textContent + ': no value', 'away']); continue; }
              const label = dt.getBoundingClientRect(), value = dd.getBoundingClientRect();
              const beside = value.left >= label.right - 1 && value.left - label.right < 48 && Math.abs(value.top - label.top) < 6;
              const below = Math.abs(value.left - label.left) < 1 && value.top >= label.bottom - 1 && value.top - label.bottom < 8;
              places.push([dt.textContent, beside ? 'beside' : below ? 'below' : 'away']);
            }
            return places;
            """
        guard case .array(let values) = try await execute(script) else { throw BrowserError("read the facts' layout: not a list") }
        return values.compactMap { pair in
            guard let parts = pair.array, parts.count == 2, let label = parts[0].string, let place = parts[1].string else { return nil }
            return (label, place)
        }
    }

    /// The labels of a `.facts` list whose value is neither beside nor just below them (empty when all is well).
    public func factsAwayFromTheirLabels() async throws -> [String] {
        try await factsLayout().filter { $0.place == "away" }.map(\.label)
    }
}
