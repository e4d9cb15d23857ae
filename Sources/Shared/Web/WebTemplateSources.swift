// The kit's Mustache templates, compiled into the binary (no resources: the servers deploy as
// single files). Every value goes through `{{ }}`, which escapes `< > & " '`; the only triple
// mustaches print `SafeHTML` fields (`body`, `svg`, `sparkline`, and `heading` and the `…HTML`
// fields that `SafeHTML.breakable` escaped with `<wbr>`s to wrap at), which the kit made itself.
// The markup has no inline style or script and no event attribute: the CSP forbids them.

enum WebTemplateSources {
    static let all: [String: String] = [
        "layout": layout,
        "groupsTable": groupsTable,
        "filterForm": filterForm,
        "pager": pager,
        "statusBadge": statusBadge,
        "severityBadge": severityBadge,
        "healthBadge": healthBadge,
        "time": time,
        "count": count,
        "emptyState": emptyState,
        "errorBanner": errorBanner,
        "copyText": copyText,
        "statusActions": statusActions,
        "chart": chart,
        "lineChart": lineChart,
        "sample": sample,
    ]

    static let layout = """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <title>{{title}} · {{product}}</title>
        <link rel="icon" href="data:,">
        <link rel="stylesheet" href="{{stylesheetHref}}">
        <script src="{{scriptHref}}" defer></script>
        </head>
        <body>
        <header class="site-header">
        <a class="brand" href="{{homeHref}}">{{product}}</a>
        <nav class="site-nav" aria-label="Main"><ul>
        {{#nav}}<li><a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}{{^empty(count)}} <span class="nav-count" title="{{countLabel}}" aria-hidden="true">{{count}}</span><span class="visually-hidden"> ({{countLabel}})</span>{{/empty(count)}}</a></li>
        {{/nav}}</ul></nav>
        </header>
        <main id="main">
        <h1>{{{heading}}}</h1>
        {{{body}}}
        </main>
        <footer class="site-footer">{{footer}}</footer>
        </body>
        </html>

        """

    static let groupsTable = """
        {{^empty(rows)}}
        <div class="table-scroll">
        <table class="groups">
        <thead><tr>
        <th scope="col">Status</th><th scope="col">Severity</th><th scope="col">Exception</th>
        <th scope="col">{{#showTeam}}Service / team{{/showTeam}}{{^showTeam}}Service{{/showTeam}}</th>
        <th scope="col">First seen</th><th scope="col">Last seen</th>
        <th scope="col" class="num">Total</th><th scope="col" class="num">{{windowLabel}}</th>
        </tr></thead>
        <tbody>
        {{/empty(rows)}}
        {{#rows}}
        <tr>
        <td>{{#status}}{{>statusBadge}}{{/status}}</td>
        <td>{{#severity}}{{>severityBadge}}{{/severity}}</td>
        <td class="exception"><a class="error-class" href="{{href}}">{{{errorClassHTML}}}</a><span class="message">{{message}}</span></td>
        <td class="owner"><span class="service">{{service}}</span>{{#showTeam}}<span class="team">{{team}}</span>{{/showTeam}}</td>
        <td>{{#firstSeen}}{{>time}}{{/firstSeen}}</td>
        <td>{{#lastSeen}}{{>time}}{{/lastSeen}}</td>
        <td class="num">{{#total}}{{>count}}{{/total}}</td>
        <td class="num window"><span class="window-cell">{{{sparkline}}}{{#windowCount}}{{>count}}{{/windowCount}}</span></td>
        </tr>
        {{/rows}}
        {{^empty(rows)}}
        </tbody>
        </table>
        </div>
        {{/empty(rows)}}
        {{#empty(rows)}}{{#empty}}{{>emptyState}}{{/empty}}{{/empty(rows)}}

        """

    static let filterForm = """
        <form class="filters" method="get" action="{{action}}" role="search">
        {{#fields}}
        <label class="field"><span class="field-label">{{label}}</span>
        {{#isSelect}}<select name="{{name}}">{{#options}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/options}}</select>{{/isSelect}}
        {{^isSelect}}<input type="search" name="{{name}}" value="{{value}}" placeholder="{{placeholder}}">{{/isSelect}}
        </label>
        {{/fields}}
        <div class="filter-buttons"><button type="submit">Apply</button> <a class="button-link" href="{{resetHref}}">Reset</a></div>
        </form>

        """

    static let pager = """
        <nav class="pager" aria-label="Pages">
        {{#hasFirst}}<a class="button-link" href="{{firstHref}}">First page</a>{{/hasFirst}}
        <span class="pager-summary">{{summary}}</span>
        {{#hasNext}}<a class="button-link" rel="next" href="{{nextHref}}">Next page</a>{{/hasNext}}
        </nav>

        """

    static let statusBadge = #"<span class="{{cssClass}}">{{label}}</span>"#
    static let severityBadge = #"<span class="{{cssClass}}">{{label}}</span>"#
    static let healthBadge = #"<span class="{{cssClass}}">{{label}}</span>"#
    static let time =
        #"{{#known}}<time datetime="{{datetime}}" title="{{absolute}}">{{relative}}</time>{{/known}}{{^known}}<span class="muted">never</span>{{/known}}"#
    static let count = #"<span class="count" title="{{exact}}">{{compact}}</span>"#

    static let emptyState = """
        <div class="empty-state">
        <p class="empty-title">{{title}}</p>
        {{^empty(detail)}}<p class="empty-detail">{{detail}}</p>{{/empty(detail)}}
        {{#hasAction}}<p><a class="button-link" href="{{actionHref}}">{{actionLabel}}</a></p>{{/hasAction}}
        </div>

        """

    static let errorBanner = """
        <div class="banner banner-error" role="alert"><strong class="banner-title">{{title}}</strong> <span class="banner-message">{{message}}</span></div>

        """

    static let copyText = """
        <div class="copy-text"><span class="copy-label">{{label}}</span><pre><code data-copy>{{text}}</code></pre></div>

        """

    static let statusActions = """
        <div class="status-actions">
        {{#actions}}
        <form method="post" action="{{formAction}}" data-write{{#hasConfirm}} data-confirm="{{confirm}}"{{/hasConfirm}}>
        <input type="hidden" name="status" value="{{value}}">{{#fields}}<input type="hidden" name="{{field}}" value="{{value}}">{{/fields}}<button type="submit" class="action-{{name}}">{{label}}</button>
        </form>
        {{/actions}}
        </div>

        """

    static let chart = """
        <figure class="chart"><figcaption>{{caption}}</figcaption>{{{svg}}}</figure>

        """

    // The legend is HTML under the chart, so that long label sets wrap on a phone; the chart
    // scrolls in its own box there.
    static let lineChart = """
        <figure class="chart line-chart"><figcaption>{{caption}}</figcaption><div class="chart-scroll">{{{svg}}}</div>
        {{#hasNote}}<p class="chart-note">{{note}}</p>{{/hasNote}}
        <ul class="legend">
        {{#legend}}<li class="legend-entry"><span class="legend-swatch {{colourClass}}" aria-hidden="true"></span><span class="legend-name mono">{{{nameHTML}}}</span></li>
        {{/legend}}</ul>
        </figure>

        """

    // Stack traces and bodies keep their line breaks in `<pre>`; a long line scrolls in its box.
    static let sample = """
        <article class="sample">
        <p class="sample-meta">{{#severity}}{{>severityBadge}}{{/severity}} {{#hasTime}}{{#time}}{{>time}}{{/time}}{{/hasTime}}{{^hasTime}}<span class="muted">no time</span>{{/hasTime}} <span class="sample-uuid mono" title="Sample uuid">{{uuid}}</span></p>
        <p class="sample-error"><strong class="sample-class">{{{errorClassHTML}}}</strong> <span class="sample-message">{{message}}</span></p>
        {{#hasStacktrace}}<pre class="stacktrace"><code>{{stacktrace}}</code></pre>{{/hasStacktrace}}
        {{#causes}}
        <section class="cause">
        <p class="sample-error"><span class="cause-label">Caused by</span> <strong class="sample-class">{{{errorClassHTML}}}</strong> <span class="sample-message">{{message}}</span></p>
        {{#hasStacktrace}}<pre class="stacktrace"><code>{{stacktrace}}</code></pre>{{/hasStacktrace}}
        </section>
        {{/causes}}
        {{#hasHTTP}}{{#http}}
        <section class="http-context">
        <h3 class="sample-heading">Request</h3>
        <p class="request-line mono"><span class="request-method">{{method}}</span> <span class="request-url">{{{urlHTML}}}</span></p>
        {{#hasHeaders}}
        <div class="table-scroll"><table class="request-headers">
        <thead><tr><th scope="col">Header</th><th scope="col">Value</th></tr></thead>
        <tbody>
        {{#headers}}<tr><th scope="row" class="mono">{{name}}</th><td class="mono">{{{valueHTML}}}</td></tr>
        {{/headers}}
        </tbody></table></div>
        {{/hasHeaders}}
        {{#hasBody}}<pre class="request-body"><code>{{body}}</code></pre>{{/hasBody}}
        {{#curl}}{{>copyText}}{{/curl}}
        </section>
        {{/http}}{{/hasHTTP}}
        </article>

        """
}
