extension Browser {
    /// The widths every page is checked at: the desktop the UI is designed for, and a phone.
    public static let pageWidths = [1400, 390]

    /// What is wrong with the open page's layout, as laid out now (empty when all is well):
    /// - the page is wider than the window;
    /// - an element's content is wider than its box (`scrollWidth > clientWidth`) although the
    ///   element does not scroll or clip (`overflow-x: visible`);
    /// - an element passes the window's right edge without a scrolling box around it;
    /// - a word is broken between two letters or digits (`notifi|cations`, `12|7.0.0.1`), or
    ///   into pieces of one or two characters: a break must fall at a space or at a break the
    ///   page offers (`<wbr>`, after a `-`).
    public func layoutProblems() async throws -> [String] {
        guard case .array(let values) = try await execute(Self.layoutScript) else { throw BrowserError("read the page's layout: not a list") }
        return values.compactMap(\.string)
    }

    static let layoutScript = """
        const problems = [];
        const width = document.documentElement.clientWidth;
        function name(e) {
          let s = e.tagName.toLowerCase();
          if (e.classList.length) s += '.' + Array.from(e.classList).join('.');
          return s;
        }
        function path(e) {
          const parts = [];
          for (let p = e; p && p !== document.body && parts.length < 3; p = p.parentElement) parts.unshift(name(p));
          return parts.join(' > ');
        }
        function scrolls(e) { return getComputedStyle(e).overflowX !== 'visible'; }
        function inScrollingBox(e) {
          for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) if (scrolls(p)) return true;
          return false;
        }
        const extra = document.documentElement.scrollWidth - width;
        if (extra > 0) problems.push('the page is ' + extra + ' px wider than the window');
        for (const e of document.body.querySelectorAll('*')) {
          if (e.closest('svg') && e.tagName.toLowerCase() !== 'svg') continue;
          const style = getComputedStyle(e);
          if (style.display === 'none' || style.visibility === 'hidden') continue;
          const box = e.getBoundingClientRect();
          if (box.width === 0 && box.height === 0) continue;
          if (style.overflowX === 'visible' && e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1) {
            problems.push(path(e) + ': its content is ' + (e.scrollWidth - e.clientWidth) + ' px wider than its box');
          }
          if (box.right > width + 0.5 && !inScrollingBox(e)) {
            problems.push(path(e) + ': passes the window by ' + Math.round(box.right - width) + ' px');
          }
        }
        const letter = /[\\p{L}\\p{N}]/u;
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        const range = document.createRange();
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          const text = node.data;
          const parent = node.parentElement;
          if (!parent || !/\\S\\S/.test(text) || parent.closest('svg, script, style, textarea, select')) continue;
          range.selectNodeContents(node);
          if (range.getClientRects().length < 2) continue;
          let previous = null, piece = 0, pieces = [];
          const endWord = () => {
            if (pieces.length > 0) {
              pieces.push(piece);
              const middle = pieces.slice(1, -1);
              if (middle.some(n => n <= 2)) problems.push(path(parent) + ': "' + text.trim().slice(0, 60) + '" is broken into lines of ' + pieces.join(', ') + ' characters');
            }
            previous = null; piece = 0; pieces = [];
          };
          for (let i = 0; i < text.length; i++) {
            if (/\\s/.test(text[i])) { endWord(); continue; }
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const rects = range.getClientRects();
            if (rects.length === 0) continue;
            const r = rects[0];
            if (previous && r.top >= previous.bottom - 1 && r.left < previous.left) {
              if (letter.test(text[i - 1]) && letter.test(text[i])) {
                const start = Math.max(0, i - 12);
                problems.push(path(parent) + ': a word is broken at "' + text.slice(start, i) + '|' + text.slice(i, i + 12) + '"');
              }
              pieces.push(piece);
              piece = 0;
            }
            piece += 1;
            previous = r;
          }
          endWord();
        }
        return Array.from(new Set(problems)).slice(0, 40);
        """
}
