// The hub's own pages, as Mustache text compiled into the binary. They use the kit's partials
// (`Sources/Shared/Web`); every value is printed with `{{ }}`, which escapes it, and the only
// triple mustaches print SafeHTML that the kit drew (charts, sparklines, partials) or escaped
// with `<wbr>`s to wrap at (`…HTML` fields, `SafeHTML.breakable`).

enum HubPageTemplates {
    static let all: [String: String] = [
        "hubOverview": overview,
        "hubGroups": groups,
        "hubGroup": group,
        "hubBugs": bugs,
        "hubDeploys": DeploysPage.template,
        "hubLeaves": leaves,
        "hubGraph": graph,
        "hubAlerts": alerts,
        "hubRules": rules,
        "hubLabels": labels,
        "hubSilenceForm": silenceForm,
        "hubSilenced": silenced,
        "hubLeavesTable": leavesTable,
        "hubError": error,
    ]

    static let overview = """
        {{#downBanner}}{{>errorBanner}}{{/downBanner}}
        <section class="overview-teams">
        <h2>Teams</h2>
        {{#hasTeams}}
        <div class="table-scroll">
        <table class="teams">
        <thead><tr>
        <th scope="col">Team</th><th scope="col" class="num">Unresolved</th><th scope="col" class="num">Regressed</th>
        <th scope="col" class="num">Ignored</th><th scope="col" class="num">Resolved</th>
        <th scope="col" class="num">Last hour</th><th scope="col" class="num">Last day</th><th scope="col">Last 24 h</th><th scope="col">Leaves</th>
        </tr></thead>
        <tbody>
        {{#teams}}
        <tr class="team-row {{rowClass}}" data-team="{{name}}">
        <td><a class="team-name" href="{{href}}">{{name}}</a>{{#stale}} <span class="badge health-stale" title="Its leaves are down: these are the numbers they last sent">stale</span>{{/stale}}</td>
        <td class="num unresolved"><a href="{{unresolvedHref}}">{{#unresolved}}{{>count}}{{/unresolved}}</a></td>
        <td class="num regressed"><a href="{{regressedHref}}">{{#regressed}}{{>count}}{{/regressed}}</a></td>
        <td class="num">{{#ignored}}{{>count}}{{/ignored}}</td>
        <td class="num">{{#resolved}}{{>count}}{{/resolved}}</td>
        <td class="num last-hour">{{#lastHour}}{{>count}}{{/lastHour}}</td>
        <td class="num last-day">{{#lastDay}}{{>count}}{{/lastDay}}</td>
        <td>{{{sparkline}}}</td>
        <td>{{#health}}{{>healthBadge}}{{/health}} <span class="muted">{{leavesLabel}}</span></td>
        </tr>
        <tr class="services-row {{rowClass}}"><td colspan="9"><span class="muted">Services:</span>
        {{#services}}<a class="service-link" href="{{href}}">{{name}}</a> <span class="muted">{{detail}}</span> <a class="service-deploys" href="{{deploysHref}}">deploys</a>{{^last}} · {{/last}}{{/services}}
        {{^services}}<span class="muted">none yet</span>{{/services}}
        · <a class="team-graph" href="{{graphHref}}">Graph by service</a>
        </td></tr>
        {{/teams}}
        </tbody>
        </table>
        </div>
        {{/hasTeams}}
        {{^hasTeams}}{{#empty}}{{>emptyState}}{{/empty}}{{/hasTeams}}
        </section>
        <section class="overview-leaves">
        <h2>Leaves</h2>
        {{#leavesTable}}{{>hubLeavesTable}}{{/leavesTable}}
        </section>

        """

    static let leavesTable = """
        {{#hasLeaves}}
        <div class="table-scroll">
        <table class="leaves">
        <thead><tr>
        <th scope="col">Leaf</th><th scope="col">Team</th><th scope="col">Health</th><th scope="col">Last scrape</th>
        <th scope="col" class="num">Duration</th><th scope="col">Last applied</th><th scope="col">Error</th>
        </tr></thead>
        <tbody>
        {{#rows}}
        <tr class="leaf-row {{#health}}{{rowClass}}{{/health}}" data-leaf="{{name}}">
        <td><span class="leaf-name">{{name}}</span><br><span class="muted mono leaf-url">{{{urlHTML}}}</span></td>
        <td>{{team}}</td>
        <td>{{#health}}{{>healthBadge}}{{/health}}{{#stale}} <span class="badge health-stale">numbers are stale</span>{{/stale}}</td>
        <td>{{#lastScrape}}{{>time}}{{/lastScrape}}</td>
        <td class="num">{{duration}}</td>
        <td>{{#lastApplied}}{{>time}}{{/lastApplied}}</td>
        <td class="leaf-error">{{error}}</td>
        </tr>
        {{/rows}}
        </tbody>
        </table>
        </div>
        {{/hasLeaves}}
        {{^hasLeaves}}{{#empty}}{{>emptyState}}{{/empty}}{{/hasLeaves}}

        """

    static let groups = """
        {{#filters}}{{>filterForm}}{{/filters}}
        {{#table}}{{>groupsTable}}{{/table}}
        {{#pager}}{{>pager}}{{/pager}}

        """

    static let group = """
        <p class="group-message message">{{message}}</p>
        <dl class="facts">
        <div><dt>Team · service</dt><dd><a href="{{teamHref}}">{{team}}</a> · <a href="{{serviceHref}}">{{service}}</a></dd></div>
        <div><dt>Status</dt><dd class="group-status">{{#status}}{{>statusBadge}}{{/status}} <span class="muted">{{statusDetail}}</span></dd></div>
        <div><dt>Severity</dt><dd>{{#severity}}{{>severityBadge}}{{/severity}}</dd></div>
        <div><dt>Total</dt><dd class="group-total">{{#total}}{{>count}}{{/total}}</dd></div>
        <div><dt>First seen</dt><dd>{{#firstSeen}}{{>time}}{{/firstSeen}}</dd></div>
        <div><dt>Last seen</dt><dd>{{#lastSeen}}{{>time}}{{/lastSeen}}</dd></div>
        <div><dt>Versions</dt><dd class="group-versions">{{#hasVersions}}{{versions}}{{/hasVersions}}{{^hasVersions}}<span class="muted">none labelled</span>{{/hasVersions}} · <a href="{{deploysHref}}">deploys</a></dd></div>
        <div class="fact-wide"><dt>Key</dt><dd class="mono group-key">{{{keyHTML}}}</dd></div>
        </dl>
        {{#actions}}{{>statusActions}}{{/actions}}
        {{#silenceForm}}<div class="group-silence">{{>hubSilenceForm}}</div>{{/silenceForm}}
        {{#hasSiblings}}
        <section class="siblings">
        <h2>The same bug elsewhere</h2>
        <p class="muted">Groups with the fingerprint <code class="group-fingerprint">{{fingerprint}}</code> (the class and innermost frames): <a class="bug-link" href="{{bugHref}}">the bug's groups together</a></p>
        <ul class="sibling-list">
        {{#siblings}}<li><a class="sibling-link" href="{{href}}">{{team}} · {{service}}</a> {{#status}}{{>statusBadge}}{{/status}} <span class="muted">{{#total}}{{>count}}{{/total}} in total</span></li>
        {{/siblings}}
        </ul>
        </section>
        {{/hasSiblings}}
        <section class="occurrences">
        <h2>Occurrences</h2>
        <nav class="ranges" aria-label="Range">{{#ranges}}<a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a> {{/ranges}}</nav>
        {{#chart}}{{>chart}}{{/chart}}
        <p class="graph-links"><a class="graph-counts" href="{{graphHref}}">Graph these counts</a> <code>{{{graphQueryHTML}}}</code></p>
        {{#breakdown}}<p class="graph-links"><a class="graph-breakdown" href="{{href}}">{{label}}</a> <code>{{{queryHTML}}}</code></p>{{/breakdown}}
        </section>
        <section class="instances">
        <h2>Instances</h2>
        {{#instancesError}}{{>errorBanner}}{{/instancesError}}
        {{#hasInstances}}
        <div class="table-scroll"><table class="instances">
        <thead><tr><th scope="col">Leaf</th><th scope="col">Instance</th><th scope="col" class="num">Count</th><th scope="col">Last seen</th><th scope="col">Reporting</th></tr></thead>
        <tbody>
        {{#instances}}<tr><td>{{leaf}}</td><td class="mono">{{instance}}</td><td class="num">{{#count}}{{>count}}{{/count}}</td><td>{{#lastSeen}}{{>time}}{{/lastSeen}}</td><td>{{reporting}}</td></tr>
        {{/instances}}
        </tbody></table></div>
        {{/hasInstances}}
        </section>
        <section class="samples">
        <h2>Samples</h2>
        {{#samples}}{{>sample}}{{/samples}}
        {{^samples}}<p class="muted">No samples kept.</p>{{/samples}}
        </section>
        <section class="history">
        <h2>Status history</h2>
        {{#hasHistory}}
        <div class="table-scroll"><table class="status-history">
        <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Change</th><th scope="col">Note</th></tr></thead>
        <tbody>
        {{#history}}<tr><td>{{#at}}{{>time}}{{/at}}</td><td>{{actor}}</td><td>{{from}} → {{to}}</td><td>{{comment}}</td></tr>
        {{/history}}
        </tbody></table></div>
        {{/hasHistory}}
        {{^hasHistory}}<p class="muted">No changes yet.</p>{{/hasHistory}}
        </section>

        """

    // A section per bug: its groups (links to their pages) and the forms for all of them.
    static let bugs = """
        {{#hasBugs}}<p class="result-summary">{{summary}}</p>{{/hasBugs}}
        {{#bugs}}
        <section class="bug" id="{{anchor}}" data-fingerprint="{{fingerprint}}" aria-labelledby="{{anchor}}-title">
        <h2 id="{{anchor}}-title" class="bug-class">{{{nameHTML}}}</h2>
        <p class="bug-message message">{{message}}</p>
        <dl class="facts">
        <div><dt>Fingerprint</dt><dd class="mono bug-fingerprint">{{fingerprint}}</dd></div>
        <div><dt>First seen</dt><dd>{{#firstSeen}}{{>time}}{{/firstSeen}}</dd></div>
        <div><dt>Where</dt><dd class="bug-spread">{{spread}}</dd></div>
        <div><dt>Total</dt><dd class="bug-total">{{#total}}{{>count}}{{/total}}</dd></div>
        </dl>
        <div class="table-scroll"><table class="bug-groups">
        <thead><tr><th scope="col">Team · service</th><th scope="col">Key</th><th scope="col">Status</th><th scope="col" class="num">Total</th><th scope="col">Last seen</th></tr></thead>
        <tbody>
        {{#groups}}<tr class="bug-group" data-team="{{team}}" data-service="{{service}}"><td>{{team}} · {{service}}</td>
        <td class="mono"><a class="bug-group-link" href="{{href}}">{{{keyHTML}}}</a></td><td>{{#status}}{{>statusBadge}}{{/status}}</td>
        <td class="num bug-group-total">{{#total}}{{>count}}{{/total}}</td><td>{{#lastSeen}}{{>time}}{{/lastSeen}}</td></tr>
        {{/groups}}
        </tbody></table></div>
        {{#actions}}{{>statusActions}}{{/actions}}
        </section>
        {{/bugs}}
        {{^hasBugs}}{{#empty}}{{>emptyState}}{{/empty}}{{/hasBugs}}

        """

    static let leaves = """
        {{#leavesTable}}{{>hubLeavesTable}}{{/leavesTable}}
        <section class="scrape-log">
        <h2>Recent scrapes</h2>
        <div class="table-scroll"><table class="scrapes">
        <thead><tr><th scope="col">When</th><th scope="col">Leaf</th><th scope="col">Outcome</th><th scope="col" class="num">Duration</th>
        <th scope="col" class="num">Groups changed</th><th scope="col" class="num">Occurrences added</th><th scope="col">Error</th></tr></thead>
        <tbody>
        {{#scrapes}}<tr class="{{rowClass}}"><td>{{#time}}{{>time}}{{/time}}</td><td>{{leaf}}</td><td>{{outcome}}</td><td class="num">{{duration}}</td>
        <td class="num">{{groupsChanged}}</td><td class="num">{{occurrencesAdded}}</td><td>{{error}}</td></tr>
        {{/scrapes}}
        </tbody></table></div>
        </section>

        """

    // A GET form, so that every view is a URL; the tabs and ranges are links carrying the query.
    static let graph = """
        <nav class="view-tabs" aria-label="View">{{#tabs}}<a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a> {{/tabs}}</nav>
        <form class="filters graph-form" method="get" action="/graph">
        <input type="hidden" name="tab" value="{{tab}}">
        <label class="field graph-expr"><span class="field-label">Expression (PromQL)</span>
        <textarea name="expr" rows="2" spellcheck="false" autocapitalize="off" autocomplete="off" data-submit-on-enter placeholder="sum by (team) (increase(canopy_exceptions_total[1h]))">{{expr}}</textarea></label>
        {{#isGraph}}
        <label class="field"><span class="field-label">Range</span><select name="range">{{#rangeOptions}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/rangeOptions}}</select></label>
        <label class="field"><span class="field-label">End (RFC 3339 or Unix seconds)</span><input type="text" name="end" value="{{end}}" placeholder="now"></label>
        <label class="field"><span class="field-label">Step</span><input type="text" name="step" value="{{step}}" placeholder="{{autoStep}}"></label>
        {{/isGraph}}
        {{^isGraph}}
        <label class="field"><span class="field-label">Time (RFC 3339 or Unix seconds)</span><input type="text" name="time" value="{{time}}" placeholder="now"></label>
        {{/isGraph}}
        <div class="filter-buttons"><button type="submit">Execute</button></div>
        </form>
        {{#errors}}{{>errorBanner}}{{/errors}}
        {{#pointer}}<pre class="parse-pointer"><code>{{line}}
        {{caret}}</code></pre>{{/pointer}}
        {{#isGraph}}<nav class="graph-ranges" aria-label="Range">{{#rangeLinks}}<a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a> {{/rangeLinks}}</nav>{{/isGraph}}
        {{#hasSummary}}<p class="result-summary">{{summary}}</p>{{/hasSummary}}
        {{#chart}}{{>lineChart}}{{/chart}}
        {{#table}}
        <div class="table-scroll"><table class="query-result">
        <thead><tr><th scope="col">Series</th><th scope="col" class="num">{{valueHeader}}</th></tr></thead>
        <tbody>
        {{#rows}}<tr><td class="mono series-labels">{{{labelsHTML}}}</td><td class="num mono">{{#values}}<span class="sample-value" title="{{exact}}">{{text}}</span>{{/values}}{{#hasMore}}<span class="muted">{{more}}</span>{{/hasMore}}</td></tr>
        {{/rows}}
        </tbody></table></div>
        {{#hasNote}}<p class="chart-note">{{note}}</p>{{/hasNote}}
        {{/table}}
        {{#empty}}{{>emptyState}}{{/empty}}

        """

    // Label sets as chips that wrap: a long value breaks inside its chip, never past the page.
    static let labels = """
        <ul class="label-list label-chips" aria-label="Labels">{{#labels}}<li><span class="label-name">{{name}}</span>=<span class="label-value">{{{valueHTML}}}</span></li>{{/labels}}</ul>

        """

    // A silence in force: who, until when, why.
    static let silenced = """
        <p class="silenced" data-silence="{{id}}"><span class="badge health-stale">silenced</span> by <strong>{{createdBy}}</strong> until {{#until}}{{>time}}{{/until}}: {{comment}}</p>

        """

    // "Silence for 1 h / 24 h / until …" with a comment and who: a write form posting to the
    // silences API, back to this page after.
    static let silenceForm = """
        <details class="silence-details"><summary>Silence{{#summary}} {{summary}}{{/summary}}</summary>
        <form class="silence-form" method="post" action="/api/v1/silences" data-write>
        {{#matchers}}<input type="hidden" name="matcher" value="{{field}}">{{/matchers}}
        <input type="hidden" name="return" value="{{returnPath}}">
        <label for="{{idPrefix}}-duration">For</label>
        <select id="{{idPrefix}}-duration" name="duration"><option value="1h">1 hour</option><option value="24h">24 hours</option><option value="until">until…</option></select>
        <label for="{{idPrefix}}-until">Until (UTC)</label>
        <input id="{{idPrefix}}-until" type="datetime-local" name="until" value="{{untilDefault}}">
        <label for="{{idPrefix}}-comment">Why</label>
        <input id="{{idPrefix}}-comment" name="comment" required placeholder="known issue, fix deploying">
        <label for="{{idPrefix}}-by">Who</label>
        <input id="{{idPrefix}}-by" name="created_by" required autocomplete="name">
        <button type="submit" class="silence-submit">Silence</button>
        </form>
        </details>

        """

    // Firing, then pending, each a list of cards. The `alert-silence` slot on each card is where
    // silences (issue 11, item 5) put the alert's silence state and its buttons; empty, it takes
    // no room.
    static let alerts = """
        {{#filters}}{{>filterForm}}{{/filters}}
        {{#errors}}{{>errorBanner}}{{/errors}}
        {{#hasSummary}}<p class="result-summary alerts-summary">{{summary}}</p>{{/hasSummary}}
        {{#sections}}
        <section class="alerts-section" aria-labelledby="{{id}}">
        <h2 id="{{id}}">{{title}} <span class="muted section-count">{{count}}</span></h2>
        <ol class="alert-list">
        {{#cards}}
        <li class="alert-card alert-card-{{stateName}}">
        <div class="alert-main">
        <h3 class="alert-name">{{#state}}<span class="{{cssClass}}">{{label}}</span>{{/state}} <span class="alert-title">{{{nameHTML}}}</span></h3>
        {{#hasSummary}}<p class="alert-summary">{{summary}}</p>{{/hasSummary}}
        {{#hasDescription}}<p class="alert-description">{{description}}</p>{{/hasDescription}}
        {{>hubLabels}}
        <dl class="alert-facts">
        <div><dt>Value</dt><dd class="mono alert-value" title="{{exactValue}}">{{value}}</dd></div>
        <div><dt>Active since</dt><dd class="alert-since">{{#activeSince}}{{>time}} <span class="muted">{{absolute}}</span>{{/activeSince}}</dd></div>
        <div><dt>Rule group</dt><dd>{{ruleGroup}}</dd></div>
        {{#annotations}}<div><dt>{{name}}</dt><dd>{{{valueHTML}}}</dd></div>{{/annotations}}
        </dl>
        <p class="alert-links"><a class="alert-graph" href="{{graphHref}}">Graph the rule's expression</a>{{#hasGroupLink}} · <a class="alert-group" href="{{groupHref}}">The group's page</a>{{/hasGroupLink}}</p>
        </div>
        <div class="alert-silence">{{#silenced}}{{>hubSilenced}}{{/silenced}}{{#silenceForm}}{{>hubSilenceForm}}{{/silenceForm}}</div>
        </li>
        {{/cards}}
        </ol>
        </section>
        {{/sections}}
        {{#empty}}{{>emptyState}}{{/empty}}

        """

    // A section per group, a card per rule; a failing rule's card is marked and its error shown
    // whole, and the banner at the top links to each.
    static let rules = """
        {{#hasFailing}}<div class="banner banner-error rules-failing" role="alert"><strong class="banner-title">{{failingTitle}}</strong> {{#failing}}<a href="#{{anchor}}">{{name}}</a>{{^last}}, {{/last}}{{/failing}}</div>{{/hasFailing}}
        {{#hasGroups}}<p class="result-summary">{{summary}}</p>{{/hasGroups}}
        {{#groups}}
        <section class="rule-group" aria-labelledby="{{anchor}}">
        <h2 id="{{anchor}}">{{name}}{{#hasFailing}} <span class="badge health-down">{{failing}}</span>{{/hasFailing}}</h2>
        <dl class="facts rule-group-facts">
        <div class="fact-wide"><dt>File</dt><dd class="mono">{{{fileHTML}}}</dd></div>
        <div><dt>Interval</dt><dd>{{interval}}</dd></div>
        <div><dt>Last evaluation</dt><dd>{{#lastEvaluation}}{{>time}}{{/lastEvaluation}}</dd></div>
        <div><dt>Duration</dt><dd>{{duration}}</dd></div>
        {{#hasLimit}}<div><dt>Limit</dt><dd>{{limit}}</dd></div>{{/hasLimit}}
        </dl>
        <ol class="rule-list">
        {{#rules}}
        <li class="{{cardClass}}" id="{{anchor}}">
        <h3 class="rule-name"><span class="badge rule-type">{{type}}</span> <span class="rule-title">{{{nameHTML}}}</span> {{#health}}{{>healthBadge}}{{/health}}</h3>
        {{#hasError}}<div class="rule-error"><strong>Last error:</strong><pre><code>{{{lastErrorHTML}}}</code></pre></div>{{/hasError}}
        <pre class="rule-expr"><a href="{{graphHref}}" title="Run on the graph page"><code>{{expression}}</code></a></pre>
        <dl class="rule-facts">
        {{#isAlerting}}<div><dt>For</dt><dd>{{holdFor}}</dd></div><div><dt>Keep firing for</dt><dd>{{keepFiringFor}}</dd></div>
        <div><dt>Alerts</dt><dd><a class="rule-alerts" href="{{alertsHref}}">{{alertsText}}</a></dd></div>{{/isAlerting}}
        <div><dt>Last evaluation</dt><dd>{{#lastEvaluation}}{{>time}}{{/lastEvaluation}}</dd></div>
        <div><dt>Duration</dt><dd>{{duration}}</dd></div>
        </dl>
        {{^empty(labels)}}{{>hubLabels}}{{/empty(labels)}}
        {{^empty(annotations)}}<dl class="rule-annotations">{{#annotations}}<div><dt>{{name}}</dt><dd>{{{valueHTML}}}</dd></div>{{/annotations}}</dl>{{/empty(annotations)}}
        </li>
        {{/rules}}
        </ol>
        </section>
        {{/groups}}
        {{^hasGroups}}{{#empty}}{{>emptyState}}{{/empty}}{{/hasGroups}}

        """

    static let error = """
        {{#banner}}{{>errorBanner}}{{/banner}}
        <p><a href="/">Back to the overview</a></p>

        """
}
