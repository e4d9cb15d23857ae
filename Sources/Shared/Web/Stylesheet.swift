// The one stylesheet, served at /static/canopy.css. System fonts only (no request leaves the
// page); colours are custom properties with a dark set under `prefers-color-scheme`; tables
// scroll inside their own box so that a phone's page never scrolls sideways, their first column
// kept in view. Long URLs, keys and class names wrap where the server put a `<wbr>`
// (`SafeHTML.breakable`: after `/ ? & . -` and the like) or at a hyphen; `overflow-wrap:
// break-word` only breaks a token that fits no line at all, and, unlike `anywhere`, never lets a
// table squeeze a column to one letter a line.

enum Stylesheet {
    static let css = #"""
        :root {
          color-scheme: light dark;
          --bg: #ffffff; --surface: #f5f6f8; --border: #d9dce1; --text: #1d2127; --muted: #5c6470;
          --link: #0b57d0; --accent: #2f6fde; --accent-soft: rgba(47, 111, 222, 0.18);
          --red: #b3261e; --red-bg: #fde8e6; --orange: #8a4b00; --orange-bg: #fff0d6;
          --green: #1e6b34; --green-bg: #e3f4e7; --grey: #50565f; --grey-bg: #eceef1;
          --blue: #174ea6; --blue-bg: #e5eefc; --purple: #6a2a9c; --purple-bg: #f2e7fb;
          --down: #b3261e; --down-bg: #fde8e6;
          --radius: 6px; --gap: 1rem;
        }
        @media (prefers-color-scheme: dark) {
          :root {
            --bg: #14171c; --surface: #1d2128; --border: #343a44; --text: #e4e7ec; --muted: #9aa3af;
            --link: #8ab4f8; --accent: #6ea1ff; --accent-soft: rgba(110, 161, 255, 0.25);
            --red: #ffb4ab; --red-bg: #5c1a16; --orange: #ffcc80; --orange-bg: #4d3000;
            --green: #a6e3b5; --green-bg: #17402a; --grey: #c2c8d0; --grey-bg: #2c313a;
            --blue: #aecbfa; --blue-bg: #1c3159; --purple: #dcb8ff; --purple-bg: #3b2252;
            --down: #ffb4ab; --down-bg: #5c1a16;
          }
        }
        *, *::before, *::after { box-sizing: border-box; }
        html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
        body {
          margin: 0; background: var(--bg); color: var(--text);
          font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif;
          overflow-wrap: break-word;
        }
        a { color: var(--link); }
        a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
        code, pre, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 0.9em; }
        h1 { font-size: 1.5rem; margin: 0 0 var(--gap); }
        h2 { font-size: 1.15rem; margin: 1.5rem 0 0.5rem; }
        .muted { color: var(--muted); }
        .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }

        /* Page shell */
        .site-header {
          display: flex; flex-wrap: wrap; align-items: center; gap: 0.25rem 1.5rem;
          padding: 0.6rem 1.25rem; background: var(--surface); border-bottom: 1px solid var(--border);
        }
        .brand { font-weight: 700; color: var(--text); text-decoration: none; }
        .site-nav ul { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; margin: 0; padding: 0; list-style: none; }
        .site-nav a { display: inline-block; padding: 0.3rem 0.1rem; color: var(--muted); text-decoration: none; border-bottom: 2px solid transparent; }
        .site-nav a:hover { color: var(--text); }
        .site-nav a[aria-current="page"] { color: var(--text); border-bottom-color: var(--accent); font-weight: 600; }
        .nav-count {
          display: inline-block; min-width: 1.3rem; padding: 0 0.35rem; margin-left: 0.15rem; border-radius: 999px; text-align: center;
          background: var(--down); color: #ffffff; font-size: 0.75rem; font-weight: 700; line-height: 1.3rem;
        }
        @media (prefers-color-scheme: dark) { .nav-count { color: #2b0a07; } }
        main { max-width: 1400px; margin: 0 auto; padding: 1.25rem; }
        .site-footer { max-width: 1400px; margin: 0 auto; padding: 1rem 1.25rem 2rem; color: var(--muted); font-size: 0.85rem; }

        /* Tables: a box that scrolls sideways on a narrow screen, not the page */
        .table-scroll { overflow-x: auto; border: 1px solid var(--border); border-radius: var(--radius); margin-bottom: var(--gap); }
        table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
        th, td { padding: 0.45rem 0.6rem; text-align: left; vertical-align: top; border-bottom: 1px solid var(--border); }
        th { background: var(--surface); font-weight: 600; white-space: nowrap; }
        tbody tr:last-child td { border-bottom: 0; }
        tbody tr:hover { background: var(--accent-soft); }
        .num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
        td time, td .count { white-space: nowrap; }
        table.groups { min-width: 900px; }
        .exception { min-width: 18rem; max-width: 40rem; }
        .error-class { display: block; font-weight: 600; overflow-wrap: break-word; }
        .message { display: block; color: var(--muted); overflow-wrap: break-word; }
        .owner .team { display: block; color: var(--muted); font-size: 0.85em; }
        .window-cell { display: inline-flex; align-items: center; gap: 0.4rem; }

        /* Badges */
        .badge, .severity {
          display: inline-block; padding: 0.05rem 0.45rem; border-radius: 999px; font-size: 0.8rem; font-weight: 600;
          white-space: nowrap; border: 1px solid transparent;
        }
        .status-unresolved { color: var(--orange); background: var(--orange-bg); }
        .status-regressed { color: var(--red); background: var(--red-bg); border-color: var(--red); }
        .status-resolved { color: var(--green); background: var(--green-bg); }
        .status-ignored { color: var(--grey); background: var(--grey-bg); }
        .status-unknown { color: var(--grey); background: var(--grey-bg); }
        .severity-error { color: var(--red); background: var(--red-bg); }
        .severity-warning { color: var(--orange); background: var(--orange-bg); }
        .severity-info { color: var(--blue); background: var(--blue-bg); }
        .severity-unknown { color: var(--grey); background: var(--grey-bg); }
        .health-up { color: var(--green); background: var(--green-bg); }
        .health-unknown { color: var(--grey); background: var(--grey-bg); }
        .health-down, .health-stale { color: #ffffff; background: var(--down); text-transform: uppercase; letter-spacing: 0.03em; }
        @media (prefers-color-scheme: dark) { .health-down, .health-stale { color: #2b0a07; } }
        .health-stale { background: var(--orange); }
        tr.row-down td { background: var(--down-bg); }
        tr.row-down td:first-child { box-shadow: inset 4px 0 0 var(--down); }
        tr.row-stale td { background: var(--orange-bg); }
        tr.row-stale td:first-child { box-shadow: inset 4px 0 0 var(--orange); }

        /* Forms */
        button, .button-link {
          display: inline-block; padding: 0.35rem 0.8rem; border-radius: var(--radius); border: 1px solid var(--border);
          background: var(--surface); color: var(--text); font: inherit; font-size: 0.9rem; text-decoration: none; cursor: pointer;
        }
        button[type="submit"] { background: var(--accent); border-color: var(--accent); color: #ffffff; }
        @media (prefers-color-scheme: dark) { button[type="submit"] { color: #0b1526; } }
        input, select {
          font: inherit; font-size: 0.9rem; padding: 0.3rem 0.45rem; border-radius: var(--radius);
          border: 1px solid var(--border); background: var(--bg); color: var(--text); max-width: 100%;
        }
        .filters {
          display: flex; flex-wrap: wrap; align-items: flex-end; gap: 0.5rem 0.75rem;
          padding: 0.75rem; margin-bottom: var(--gap); background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius);
        }
        .field { display: flex; flex-direction: column; gap: 0.15rem; min-width: 0; }
        .field-label { font-size: 0.8rem; color: var(--muted); }
        .field input[type="search"] { width: 16rem; }
        .filter-buttons { display: flex; gap: 0.5rem; align-items: center; }
        .status-actions { display: flex; flex-wrap: wrap; gap: 0.5rem; margin: 0.5rem 0 var(--gap); }
        .status-actions form { margin: 0; }
        .form-error { color: var(--red); margin: 0.25rem 0; }

        /* Pager, empty state, banners, copy lines */
        .pager { display: flex; flex-wrap: wrap; align-items: center; gap: 0.75rem; margin: var(--gap) 0; }
        .pager-summary { color: var(--muted); }
        .pager [rel="next"] { margin-left: auto; }
        .empty-state { padding: 2rem 1rem; text-align: center; border: 1px dashed var(--border); border-radius: var(--radius); color: var(--muted); }
        .empty-title { font-size: 1.05rem; color: var(--text); margin: 0 0 0.25rem; }
        .banner { padding: 0.6rem 0.9rem; border-radius: var(--radius); margin-bottom: var(--gap); border: 1px solid; }
        .banner-error { color: var(--red); background: var(--red-bg); border-color: var(--red); }
        .copy-text { margin: 0.5rem 0 var(--gap); }
        .copy-label { display: block; font-size: 0.8rem; color: var(--muted); }
        .copy-text pre {
          display: flex; align-items: flex-start; gap: 0.5rem; margin: 0.2rem 0 0; padding: 0.5rem 0.6rem;
          background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius); overflow-x: auto;
        }
        .copy-text code { flex: 1; white-space: pre; }
        .copy-button { padding: 0.1rem 0.5rem; font-size: 0.8rem; }

        /* Charts: geometry is in the SVG, colour here */
        .chart { margin: 0 0 var(--gap); overflow-x: auto; }
        .chart figcaption { font-size: 0.85rem; color: var(--muted); margin-bottom: 0.25rem; }
        .chart-bars { display: block; width: 100%; height: auto; max-height: 300px; }
        .chart-bars .bar { fill: var(--accent); }
        .chart-bars .bar-slot:hover .bar { fill: var(--link); }
        .chart-bars .bar-hit { fill: transparent; }
        .chart-bars .axis { stroke: var(--muted); stroke-width: 1; }
        .chart-bars .grid { stroke: var(--border); stroke-width: 1; stroke-dasharray: 4 4; }
        .chart-bars .axis-label { fill: var(--muted); font-size: 12px; font-family: inherit; }
        /* Line charts (the hub's graph page): a palette of ten, each class setting --series for
           its line, its dots and its legend swatch */
        .line-chart { overflow-x: visible; }
        .chart-scroll { overflow-x: auto; }
        .chart-lines { display: block; width: 100%; height: auto; max-height: 360px; }
        .chart-lines .axis { stroke: var(--muted); stroke-width: 1; }
        .chart-lines .grid { stroke: var(--border); stroke-width: 1; stroke-dasharray: 4 4; }
        .chart-lines .axis-label { fill: var(--muted); font-size: 12px; font-family: inherit; }
        .chart-lines .series polyline { fill: none; stroke: var(--series); stroke-width: 1.75; stroke-linejoin: round; }
        .chart-lines .series circle { fill: var(--series); }
        .chart-lines .series:hover polyline { stroke-width: 3; }
        .series-0 { --series: #4e79a7; } .series-1 { --series: #f28e2b; } .series-2 { --series: #e15759; }
        .series-3 { --series: #76b7b2; } .series-4 { --series: #59a14f; } .series-5 { --series: #edc948; }
        .series-6 { --series: #b07aa1; } .series-7 { --series: #ff9da7; } .series-8 { --series: #9c755f; }
        .series-9 { --series: #bab0ac; }
        .chart-note { margin: 0.25rem 0; color: var(--muted); font-size: 0.85rem; }
        .legend { display: flex; flex-wrap: wrap; gap: 0.2rem 1rem; margin: 0.5rem 0 0; padding: 0; list-style: none; font-size: 0.85rem; }
        .legend-entry { display: flex; align-items: baseline; gap: 0.4rem; min-width: 0; max-width: 100%; }
        .legend-swatch { flex: none; display: inline-block; width: 0.9rem; height: 0.25rem; border-radius: 2px; background: var(--series); transform: translateY(-0.2rem); }
        .legend-name { overflow-wrap: break-word; min-width: 0; }
        .sparkline { display: inline-block; width: 6rem; height: 1.4rem; vertical-align: middle; }
        .sparkline .spark-line { fill: none; stroke: var(--accent); stroke-width: 1.5; vector-effect: non-scaling-stroke; }
        .sparkline .spark-area { fill: var(--accent-soft); stroke: none; }

        /* Samples: an exception with its stack trace, causes and request */
        .sample { margin: 0 0 var(--gap); padding: 0.75rem; border: 1px solid var(--border); border-radius: var(--radius); }
        .sample-meta { display: flex; flex-wrap: wrap; align-items: center; gap: 0.25rem 0.6rem; margin: 0 0 0.4rem; }
        .sample-uuid { color: var(--muted); font-size: 0.8rem; }
        .sample-error { margin: 0.25rem 0; }
        .sample-class { overflow-wrap: break-word; }
        .sample-message { overflow-wrap: break-word; }
        .cause { margin-top: 0.75rem; padding-left: 0.75rem; border-left: 3px solid var(--border); }
        .cause-label { color: var(--muted); font-size: 0.85rem; }
        .stacktrace, .request-body {
          margin: 0.3rem 0 0.5rem; padding: 0.5rem 0.6rem; max-height: 24rem; overflow: auto;
          background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius);
        }
        .sample-heading { font-size: 1rem; margin: 0.9rem 0 0.3rem; }
        .request-line { margin: 0.2rem 0 0.5rem; overflow-wrap: break-word; }
        .request-method { font-weight: 700; }
        .request-headers th[scope="row"] { background: none; font-weight: 600; white-space: nowrap; }
        .request-headers td { overflow-wrap: break-word; }

        /* Facts about one thing (a group): label/value pairs in a grid. Each <div> holds one
           <dt> and its <dd>: the value sits beside its label while 12rem are left for it there,
           and under it (in the label's column) when not, never under another label; a long one
           (the key) takes a row of its own. */
        .facts {
          display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 25rem), 1fr)); gap: 0.5rem 1.5rem; margin: 0 0 var(--gap);
          padding: 0.75rem; background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius);
        }
        .facts div { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.1rem 0.75rem; min-width: 0; }
        .facts .fact-wide { grid-column: 1 / -1; }
        .facts dt { flex: 0 0 7.5rem; color: var(--muted); font-size: 0.8rem; }
        .facts dd { flex: 1 1 12rem; min-width: 0; margin: 0; overflow-wrap: break-word; }
        .group-message { font-size: 1.05rem; margin: -0.5rem 0 var(--gap); overflow-wrap: break-word; }
        .label-list { display: flex; flex-wrap: wrap; gap: 0.25rem; margin: 0; padding: 0; list-style: none; }
        .label-list li {
          max-width: 100%; padding: 0 0.4rem; border-radius: var(--radius); background: var(--grey-bg); color: var(--text);
          font-size: 0.8rem; overflow-wrap: break-word;
        }
        .target-error { color: var(--red); overflow-wrap: break-word; }
        /* One service's targets under another's: the same columns line up */
        table.targets { table-layout: fixed; min-width: 880px; }
        table.targets th:nth-child(1) { width: 24%; }
        table.targets th:nth-child(2) { width: 9%; }
        table.targets th:nth-child(3) { width: 26%; }
        table.targets th:nth-child(4) { width: 13%; }
        table.targets th:nth-child(5) { width: 10%; }
        .sample-nav { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.25rem 0.75rem; margin: 0 0 var(--gap); }
        .sample-nav ol { display: flex; flex-wrap: wrap; gap: 0.25rem 0.75rem; margin: 0; padding: 0; list-style: none; }
        .sample-nav a[aria-current="true"] { font-weight: 700; color: var(--text); }

        /* The hub's graph page: the expression box across the form, the views as tabs, the
           place of a parse error under the box */
        .graph-form .graph-expr { flex: 1 1 100%; }
        .graph-form textarea {
          width: 100%; min-height: 2.7rem; resize: vertical; padding: 0.35rem 0.45rem; border-radius: var(--radius);
          border: 1px solid var(--border); background: var(--bg); color: var(--text);
          font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; font-size: 0.9rem;
        }
        .graph-form .field input[type="text"] { width: 13rem; }
        .view-tabs, .graph-ranges { display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; margin: 0 0 0.6rem; }
        .view-tabs a[aria-current="page"], .graph-ranges a[aria-current="page"] { color: var(--text); font-weight: 700; text-decoration: none; }
        .parse-pointer {
          margin: -0.5rem 0 var(--gap); padding: 0.5rem 0.6rem; overflow-x: auto;
          background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius);
        }
        .result-summary { color: var(--muted); margin: 0 0 0.5rem; }
        table.query-result .series-labels { overflow-wrap: break-word; min-width: 12rem; }
        table.query-result .sample-value { display: block; }
        .graph-links { margin: 0.25rem 0 var(--gap); }
        .graph-links code { overflow-wrap: break-word; }

        /* The hub's alerts and rules: a card per alert or rule, in a list per state or group.
           Long label values, annotations, errors and expressions wrap inside their card. */
        .alert-list, .rule-list { display: flex; flex-direction: column; gap: 0.75rem; margin: 0 0 var(--gap); padding: 0; list-style: none; }
        .alert-card, .rule-card { min-width: 0; padding: 0.75rem; border: 1px solid var(--border); border-radius: var(--radius); }
        .alert-card { display: grid; grid-template-columns: minmax(0, 1fr) auto; gap: 0.5rem 1rem; }
        .alert-card-firing { box-shadow: inset 4px 0 0 var(--down); }
        .alert-card-pending { box-shadow: inset 4px 0 0 var(--orange); }
        .alert-main { min-width: 0; }
        .alert-silence:empty { display: none; }
        .alert-silence { max-width: 22rem; min-width: 0; }
        .silenced { margin: 0; overflow-wrap: break-word; }
        .silence-details > summary { cursor: pointer; font-weight: 600; }
        .silence-form { display: grid; grid-template-columns: auto minmax(0, 1fr); gap: 0.35rem 0.5rem; align-items: center; margin-top: 0.5rem; }
        .silence-form input, .silence-form select { min-width: 0; width: 100%; box-sizing: border-box; }
        .silence-form button { grid-column: 1 / -1; justify-self: start; }
        .group-silence { margin: 0.5rem 0 var(--gap); max-width: 30rem; }
        @media (max-width: 640px) { .alert-card { grid-template-columns: minmax(0, 1fr); } .alert-silence { max-width: none; } }
        .alert-name, .rule-name { display: flex; flex-wrap: wrap; align-items: center; gap: 0.25rem 0.5rem; margin: 0 0 0.35rem; font-size: 1.05rem; }
        .alert-title, .rule-title { min-width: 0; overflow-wrap: break-word; }
        .alert-firing { color: #ffffff; background: var(--down); text-transform: uppercase; letter-spacing: 0.03em; }
        @media (prefers-color-scheme: dark) { .alert-firing { color: #2b0a07; } }
        .alert-pending { color: var(--orange); background: var(--orange-bg); border-color: var(--orange); }
        .rule-type { color: var(--grey); background: var(--grey-bg); }
        .alert-summary { margin: 0 0 0.2rem; font-size: 1.05rem; font-weight: 600; overflow-wrap: break-word; }
        .alert-description { margin: 0 0 0.5rem; color: var(--muted); overflow-wrap: break-word; }
        .label-chips { margin: 0.4rem 0; }
        .label-chips li { max-width: 100%; white-space: normal; overflow-wrap: break-word; font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace; }
        .label-chips .label-name { color: var(--muted); }
        .alert-facts, .rule-facts, .rule-annotations { display: flex; flex-wrap: wrap; gap: 0.3rem 1.5rem; margin: 0.4rem 0; }
        .alert-facts div, .rule-facts div, .rule-annotations div { min-width: 0; max-width: 100%; }
        .alert-facts dt, .rule-facts dt, .rule-annotations dt { color: var(--muted); font-size: 0.8rem; }
        .alert-facts dd, .rule-facts dd, .rule-annotations dd { margin: 0; overflow-wrap: break-word; }
        .alert-links { margin: 0.4rem 0 0; }
        .rule-expr {
          margin: 0.4rem 0; padding: 0.5rem 0.6rem; white-space: pre-wrap; overflow-wrap: break-word;
          background: var(--surface); border: 1px solid var(--border); border-radius: var(--radius);
        }
        .rule-expr a { text-decoration: none; }
        .rule-expr a:hover { text-decoration: underline; }
        .rule-card.rule-err { border-color: var(--red); box-shadow: inset 4px 0 0 var(--red); }
        .rule-error { margin: 0.4rem 0; padding: 0.5rem 0.6rem; color: var(--red); background: var(--red-bg); border: 1px solid var(--red); border-radius: var(--radius); }
        .rule-error pre { margin: 0.25rem 0 0; white-space: pre-wrap; overflow-wrap: break-word; }
        .rule-group h2 { display: flex; flex-wrap: wrap; align-items: center; gap: 0.25rem 0.5rem; }

        /* A phone: tighter spacing, the nav under the brand */
        @media (max-width: 640px) {
          body { font-size: 14px; }
          h1 { font-size: 1.25rem; }
          main { padding: 0.75rem; }
          /* A table wider than the phone scrolls in its box; its first column stays in view */
          .table-scroll th:first-child, .table-scroll td:first-child { position: sticky; left: 0; z-index: 1; background: var(--bg); }
          .table-scroll th:first-child { background: var(--surface); }
          .table-scroll tr.row-down td:first-child { background: var(--down-bg); }
          .table-scroll tr.row-stale td:first-child { background: var(--orange-bg); }
          .site-header { padding: 0.5rem 0.75rem; }
          .field { flex: 1 1 9rem; }
          .field input[type="search"], .field select, .graph-form .field input[type="text"] { width: 100%; }
          .sparkline { width: 4rem; }
          .chart-bars { min-width: 520px; }  /* labels stay readable; the figure scrolls */
          .chart-lines { min-width: 520px; }  /* the same: the chart scrolls in .chart-scroll */
          .alert-card { grid-template-columns: minmax(0, 1fr); }  /* the silence slot goes under the alert */
        }
        """#
}
