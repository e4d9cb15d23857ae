// The leaf's own page templates, added to the web kit's partials. As in the kit: every value
// through `{{ }}`, triple mustaches only for SafeHTML (`…HTML` fields, escaped by
// `SafeHTML.breakable` with `<wbr>`s to wrap at), no inline style, script or event attribute.

enum LeafPageTemplates {
    static let all: [String: String] = [
        "leafGroups": groups,
        "leafGroup": group,
        "leafTargets": targets,
        "leafError": error,
    ]

    static let groups = """
        {{#filters}}{{>filterForm}}{{/filters}}
        {{#hasError}}{{#error}}{{>errorBanner}}{{/error}}{{/hasError}}
        {{^hasError}}
        {{#table}}{{>groupsTable}}{{/table}}
        {{#hasPager}}{{#pager}}{{>pager}}{{/pager}}{{/hasPager}}
        {{/hasError}}

        """

    static let group = """
        <p class="group-message">{{message}}</p>
        <dl class="facts">
        <div><dt>Service</dt><dd><a href="{{serviceHref}}">{{service}}</a></dd></div>

        <div><dt>Severity</dt><dd>{{#severity}}{{>severityBadge}}{{/severity}}</dd></div>
        <div><dt>Status</dt><dd>{{#status}}{{>statusBadge}}{{/status}}</dd></div>
        <div><dt>First seen</dt><dd>{{#firstSeen}}{{>time}}{{/firstSeen}}</dd></div>
        <div><dt>Last seen</dt><dd>{{#lastSeen}}{{>time}}{{/lastSeen}}</dd></div>
        <div><dt>Total</dt><dd class="group-total">{{#total}}{{>count}}{{/total}}</dd></div>
        <div><dt>Instances</dt><dd>{{instancesSummary}}</dd></div>
        <div class="fact-wide"><dt>Aggregation key</dt><dd class="mono group-key">{{{keyHTML}}}</dd></div>
        </dl>
        <h2>Samples</h2>
        {{#hasSampleError}}{{#sampleError}}{{>errorBanner}}{{/sampleError}}{{/hasSampleError}}
        {{#hasSampleNav}}
        <nav class="sample-nav" aria-label="Samples"><span class="muted">Newest first:</span><ol>
        {{#sampleLinks}}<li><a href="{{href}}"{{#current}} aria-current="true"{{/current}}>{{label}}</a></li>
        {{/sampleLinks}}
        </ol></nav>
        {{/hasSampleNav}}
        {{#hasSample}}{{#sample}}{{>sample}}{{/sample}}{{/hasSample}}
        {{^hasSample}}{{#noSamples}}{{>emptyState}}{{/noSamples}}{{/hasSample}}
        <h2>Instances reporting it</h2>
        {{#hasInstances}}
        <div class="table-scroll">
        <table class="instances">
        <thead><tr>
        <th scope="col">Instance</th><th scope="col">URL</th><th scope="col">Target uuid</th>
        <th scope="col" class="num">Count</th><th scope="col">Last seen</th><th scope="col">Process</th>
        </tr></thead>
        <tbody>
        {{#instances}}
        <tr>
        <td>{{instance}}</td><td class="mono">{{{urlHTML}}}</td><td class="mono">{{targetUUID}}</td>
        <td class="num">{{#count}}{{>count}}{{/count}}</td><td>{{#lastSeen}}{{>time}}{{/lastSeen}}</td>
        <td>{{#state}}{{>healthBadge}}{{/state}}</td>
        </tr>
        {{/instances}}
        </tbody>
        </table>
        </div>
        {{/hasInstances}}
        {{^hasInstances}}{{#noInstances}}{{>emptyState}}{{/noInstances}}{{/hasInstances}}

        """

    static let targets = """
        {{#filters}}{{>filterForm}}{{/filters}}
        {{#hasDown}}{{#down}}{{>errorBanner}}{{/down}}{{/hasDown}}
        <p class="muted targets-summary">{{summary}}</p>
        {{#services}}
        <section class="service-targets">
        <h2>{{name}} <span class="muted">({{upSummary}})</span></h2>
        {{#hasTargets}}
        <div class="table-scroll">
        <table class="targets">
        <thead><tr>
        <th scope="col">Endpoint</th><th scope="col">State</th><th scope="col">Labels</th>
        <th scope="col">Last scrape</th><th scope="col" class="num">Duration</th><th scope="col">Error</th>
        </tr></thead>
        <tbody>
        {{#targets}}
        <tr class="{{#health}}{{rowClass}}{{/health}}">
        <td class="mono endpoint">{{{urlHTML}}}</td>
        <td>{{#health}}{{>healthBadge}}{{/health}}</td>
        <td><ul class="label-list">{{#labels}}<li>{{name}}="{{value}}"</li>{{/labels}}</ul></td>
        <td>{{#lastScrape}}{{>time}}{{/lastScrape}}<span class="muted scrape-every"> every {{interval}}</span></td>
        <td class="num">{{duration}}</td>
        <td class="target-error">{{{errorHTML}}}</td>
        </tr>
        {{/targets}}
        </tbody>
        </table>
        </div>
        {{/hasTargets}}
        {{^hasTargets}}<p class="muted">{{noTargets}}</p>{{/hasTargets}}
        {{#hasDropped}}
        <details class="dropped">
        <summary>Dropped by relabelling: {{droppedCount}}</summary>
        <div class="table-scroll">
        <table class="dropped-targets">
        <thead><tr><th scope="col">Discovered labels</th></tr></thead>
        <tbody>
        {{#dropped}}<tr><td><ul class="label-list">{{#labels}}<li>{{name}}="{{value}}"</li>{{/labels}}</ul></td></tr>
        {{/dropped}}
        </tbody>
        </table>
        </div>
        </details>
        {{/hasDropped}}
        </section>
        {{/services}}
        {{^services}}{{#noServices}}{{>emptyState}}{{/noServices}}{{/services}}

        """

    static let error = """
        {{#banner}}{{>errorBanner}}{{/banner}}
        <p><a class="button-link" href="{{backHref}}">{{backLabel}}</a></p>

        """
}
