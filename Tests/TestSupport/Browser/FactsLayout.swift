extension Browser {
    /// The widths a page's layout is checked at: a wide desktop, a laptop, a tablet, a phone.
    public static let layoutWidths = [1400, 1000, 640, 390]

    /// The labels of a `.facts` list whose value is not directly under them, as laid out now:
    /// a value must start in its label's column, just below it (empty when all is well).
    public func factsAwayFromTheirLabels() async throws -> [String] {
        let script = """
            const away = [];
            for (const dt of document.querySelectorAll('.facts dt')) {
              const dd = dt.nextElementSibling;
              if (!dd || dd.tagName !== 'DD') { away.push(dt.textContent + ': no value'); continue; }
              const label = dt.getBoundingClientRect(), value = dd.getBoundingClientRect();
              const sameColumn = Math.abs(value.left - label.left) < 1;
              const justBelow = value.top >= label.bottom - 1 && value.top - label.bottom < 8;
              if (!sameColumn || !justBelow) away.push(dt.textContent);
            }
            return away;
            """
        guard case .array(let values) = try await execute(script) else { throw BrowserError("read the facts' layout: not a list") }
        return values.compactMap(\.string)
    }
}
