import Mustache
import SluiceServer

/// The console's Mustache templates. Each page template renders the `<main>` of a page; `layout` wraps it.
///
/// `{{name}}` escapes HTML with `HTMLText.escape`; `{{{name}}}` is used only for markup the console builds itself (the
/// SVG graphs, a page's body inside the layout), whose text is escaped where it is built.
enum ConsoleTemplates {
    static let library: MustacheLibrary = {
        MustacheContentTypes.register(ScalarHTML(), named: ScalarHTML.name)
        var library = MustacheLibrary()
        for (name, text) in templates {
            // Every template starts with the pragma, so a new template, and a partial (which Mustache starts with its
            // own HTML escaping), gets the console's escaping without asking for it.
            // The templates are constants of this file: a parse error is a programming error caught by every test.
            try! library.register("{{% CONTENT_TYPE: \(ScalarHTML.name) }}" + text, named: name)
        }
        return library
    }()

    /// HTML escaping by Unicode scalar. Mustache's own escaping compares whole characters, so a quote or a bracket
    /// followed by a combining mark (one `Character`) would reach the page raw and end an attribute value.
    struct ScalarHTML: MustacheContentType {
        static let name = "SLUICE_HTML"

        func escapeText(_ text: String) -> String { HTMLText.escape(text) }
    }

    /// The template `name` rendered with `context`.
    static func render(_ context: [String: Any], _ name: String) -> String {
        library.render(context, withTemplate: name) ?? ""
    }

    static let templates: [String: String] = [
        "layout": layout, "executions": executions, "execution": execution, "approvals": approvals,
        "pipelines": pipelines, "pipeline": pipeline, "signIn": signIn, "message": message,
        "registry": registry, "group": group, "endpoints": endpoints, "monitoring": monitoring, "features": features,
    ]

    static let layout = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Sluice</title>
        <link rel="icon" href="data:,"><link rel="stylesheet" href="/console/static/console.css">
        <script src="/console/static/console.js" defer></script>
        </head><body>
        <header class="top"><a class="brand" href="/console/executions">Sluice</a>
        <nav>
        <a href="/console/pipelines"{{#nav.pipelines}} aria-current="page"{{/nav.pipelines}}>Pipelines</a>
        <a href="/console/executions"{{#nav.executions}} aria-current="page"{{/nav.executions}}>Executions</a>
        <a href="/console/registry"{{#nav.registry}} aria-current="page"{{/nav.registry}}>Registry</a>
        <a href="/console/endpoints"{{#nav.endpoints}} aria-current="page"{{/nav.endpoints}}>Endpoints</a>
        <a href="/console/monitoring"{{#nav.monitoring}} aria-current="page"{{/nav.monitoring}}>Monitoring</a>
        <a href="/console/features"{{#nav.features}} aria-current="page"{{/nav.features}}>Features</a>
        <a href="/console/approvals"{{#nav.approvals}} aria-current="page"{{/nav.approvals}}>Approvals\
        {{#waiting}} <span class="badge">{{waiting}}</span>{{/waiting}}</a>
        </nav>
        {{#signedInAs}}<form class="signout" method="post" action="/console/sign-out">\
        <input type="hidden" name="csrf" value="{{csrf}}"><span>{{signedInAs}}</span> \
        <button type="submit">Sign out</button></form>{{/signedInAs}}
        </header>
        <main>
        {{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
        {{{body}}}
        </main>
        </body></html>

        """

    static let executions = """
        <h1>Executions</h1>
        <form class="filters" method="get" action="/console/executions">
        <label>Status <select name="status"><option value="">any</option>
        {{#statuses}}<option value="{{name}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/statuses}}
        </select></label>
        <label>Pipeline <select name="pipeline"><option value="">any</option>
        {{#pipelines}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/pipelines}}
        </select></label>
        <button type="submit">Filter</button>
        </form>
        {{^rows}}<p class="empty">No executions{{#filtered}} match these filters{{/filtered}}. \
        Run one with <code>sluice run pipeline.yaml</code>.</p>{{/rows}}
        {{#hasRows}}
        <table class="list executions">
        <thead><tr><th>Execution</th><th>Pipeline</th><th>Status</th><th>Created</th><th>Duration</th></tr></thead>
        <tbody>
        {{#rows}}<tr><td><a href="/console/executions/{{id}}">{{id}}</a></td>\
        <td><a href="/console/pipelines/{{pipelineLink}}">{{pipeline}}</a></td>\
        <td><span class="status st-{{status}}">{{status}}</span></td><td>{{created}}</td><td>{{duration}}</td></tr>
        {{/rows}}
        </tbody></table>
        {{/hasRows}}
        <p class="paging">{{#first}}<a href="{{first}}">Newest</a>{{/first}} \
        {{#next}}<a rel="next" href="{{next}}">Older →</a>{{/next}}</p>

        """

    static let execution = """
        <h1>Execution <code>{{id}}</code> <span id="execution-status" class="status st-{{status}}">{{status}}</span></h1>
        <p class="meta">Pipeline <a href="/console/pipelines/{{pipelineLink}}">{{pipeline}}</a> · created {{created}}\
        {{#started}} · started {{started}}{{/started}}{{#finished}} · finished {{finished}}{{/finished}}\
        {{#duration}} · took {{duration}}{{/duration}}</p>
        {{#error}}<p class="failure">{{error}}</p>{{/error}}
        <section class="graph" id="graph" data-live="{{liveURL}}">
        {{{graph}}}
        <p class="live-note" id="live-note">{{#live}}This page follows the execution as it runs.{{/live}}\
        {{^live}}Finished.{{/live}} <a href="/console/executions/{{id}}">Reload</a> to see it anew.</p>
        </section>
        <section class="actions">
        {{#actions}}<form method="post" action="/console/executions/{{id}}/{{verb}}">\
        <input type="hidden" name="csrf" value="{{csrf}}">\
        <button type="submit" class="{{verb}}" title="{{help}}">{{label}}</button></form>
        {{/actions}}
        </section>
        {{#hasParameters}}<h2>Parameters</h2>
        <table class="kv">{{#parameters}}<tr><th>{{name}}</th><td><code>{{value}}</code></td></tr>{{/parameters}}</table>
        {{/hasParameters}}
        <h2>Steps</h2>
        <table class="list steps">
        <thead><tr><th>Step</th><th>Status</th><th>Attempt</th><th>Duration</th><th>Cache</th><th>Outputs</th></tr></thead>
        <tbody>
        {{#steps}}<tr data-step-row="{{name}}"><td>{{name}}</td>\
        <td><span class="status st-{{status}}" data-step-status="{{name}}">{{status}}</span></td>\
        <td>{{attempt}}</td><td>{{duration}}</td><td>{{#cacheHit}}<span class="cache">hit</span>{{/cacheHit}}</td>\
        <td>{{#outputs}}<pre>{{outputs}}</pre>{{/outputs}}{{#error}}<p class="failure">{{error}}</p>{{/error}}</td></tr>
        {{/steps}}
        </tbody></table>
        <h2>Attempts</h2>
        <table class="list attempts" id="attempts">
        <thead><tr><th>Step</th><th>#</th><th>Status</th><th>Started</th><th>Duration</th><th>Error</th></tr></thead>
        <tbody>
        {{#attempts}}<tr data-attempt="{{key}}"><td>{{step}}</td><td>{{number}}</td>\
        <td><span class="status st-{{status}}" data-field="status">{{status}}</span></td>\
        <td>{{started}}</td><td data-field="duration">{{duration}}</td><td data-field="error">{{error}}</td></tr>
        {{/attempts}}
        </tbody></table>
        <h2>Events</h2>
        <ol class="events" id="events">
        {{#events}}<li><time>{{time}}</time> <b>{{subject}}</b> {{kind}} <span>{{message}}</span></li>
        {{/events}}
        </ol>
        <section id="logs"{{^hasLogs}} hidden{{/hasLogs}}><h2>Logs</h2>
        {{#logs}}<h3>{{step}} · attempt {{attempt}} · {{file}}</h3><pre class="log" data-log="{{key}}">{{text}}</pre>
        {{/logs}}</section>

        """

    static let approvals = """
        <h1>Approvals</h1>
        {{^items}}<p class="empty">Nothing waits for a decision.</p>{{/items}}
        {{#items}}<article class="approval">
        <h2>{{prompt}}</h2>
        <p class="meta">Step <b>{{step}}</b> of <a href="/console/executions/{{executionID}}">{{executionID}}</a> \
        ({{pipeline}}) · waiting since {{created}}{{#expires}} · times out {{expires}}{{/expires}}</p>
        <form method="post" action="/console/approvals/decide" class="decide">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="approval" value="{{tokenHash}}">
        <input type="hidden" name="decision" value="approve">
        <button type="submit" class="approve" data-approve="{{step}}">Approve</button></form>
        <form method="post" action="/console/approvals/decide" class="decide">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="approval" value="{{tokenHash}}">
        <input type="hidden" name="decision" value="reject">
        <label>Reason <input name="reason" required placeholder="why this is rejected"></label>
        <button type="submit" class="reject">Reject</button></form>
        </article>
        {{/items}}

        """

    static let pipelines = """
        <h1>Pipelines</h1>
        {{^items}}<p class="empty">No pipeline has run yet. Run one with <code>sluice run pipeline.yaml</code>.</p>\
        {{/items}}
        {{#items}}<article class="pipeline">
        <h2><a href="/console/pipelines/{{link}}">{{name}}</a></h2>
        <p class="meta">{{steps}} steps · {{executions}} executions · version <code>{{version}}</code>\
        {{#description}} · {{description}}{{/description}}</p>
        {{{graph}}}
        </article>
        {{/items}}

        """

    static let pipeline = """
        <h1>Pipeline {{name}}</h1>
        <p class="meta">version <code>{{version}}</code> · {{executions}} executions · \
        <a href="/console/executions?pipeline={{link}}">its executions</a></p>
        {{#description}}<p>{{description}}</p>{{/description}}
        {{{graph}}}
        <h2>Triggers</h2>
        {{^triggers}}<p class="empty">None: it runs when started.</p>{{/triggers}}
        <ul>{{#triggers}}<li>{{.}}</li>{{/triggers}}</ul>
        <h2>Parameters</h2>
        {{^parameters}}<p class="empty">None.</p>{{/parameters}}
        <table class="kv">{{#parameters}}<tr><th>{{name}}</th><td>{{type}}{{#value}} = <code>{{value}}</code>{{/value}}</td></tr>\
        {{/parameters}}</table>
        <h2>Spec</h2>
        <pre class="spec">{{spec}}</pre>

        """

    static let registry = """
        <h1>Model registry</h1>
        {{^groups}}<p class="empty">No model is registered yet.</p>{{/groups}}
        {{#hasGroups}}<table class="list groups">
        <thead><tr><th>Group</th><th>Versions</th><th>Latest</th><th>Aliases</th><th>Created</th></tr></thead><tbody>
        {{#groups}}<tr><td><a href="/console/registry/{{link}}">{{name}}</a></td><td>{{versions}}</td>\
        <td>{{#latest}}<span class="status st-{{statusClass}}">v{{version}} {{status}}</span>{{/latest}}</td>\
        <td>{{#aliases}}<span class="alias">{{.}}</span> {{/aliases}}</td><td>{{created}}</td></tr>
        {{/groups}}</tbody></table>{{/hasGroups}}

        """

    static let group = """
        <h1>Model group {{name}}</h1>
        <h2>Versions</h2>
        <table class="list versions">
        <thead><tr><th>Version</th><th>Status</th><th>Metrics</th><th>Lineage</th><th>Registered</th><th></th></tr></thead>
        <tbody>
        {{#versions}}<tr><td>v{{version}}{{#aliases}} <span class="alias">{{.}}</span>{{/aliases}}</td>\
        <td><span class="status st-{{statusClass}}">{{status}}</span></td>\
        <td>{{#metrics}}<pre>{{metrics}}</pre>{{/metrics}}</td>\
        <td>{{#execution}}execution <a href="/console/executions/{{execution}}">{{execution}}</a>\
        {{#step}}, step {{step}}{{/step}}{{/execution}}{{#inputs}}<br><small>{{name}} <code>{{hash}}</code></small>{{/inputs}}\
        <br><small>artifact <code>{{artifact}}</code></small></td><td>{{created}}</td>
        <td>{{#pending}}<form method="post" action="/console/registry/{{link}}/{{version}}/approve" class="decide">\
        <input type="hidden" name="csrf" value="{{csrf}}"><button type="submit" class="approve">Approve</button></form>\
        <form method="post" action="/console/registry/{{link}}/{{version}}/reject" class="decide">\
        <input type="hidden" name="csrf" value="{{csrf}}"><input name="reason" required placeholder="reason">\
        <button type="submit" class="reject">Reject</button></form>{{/pending}}</td></tr>
        {{/versions}}
        </tbody></table>
        <h2>Audit log</h2>
        <table class="list audit">
        <thead><tr><th>Time</th><th>Version</th><th>What</th><th>By</th><th>Reason</th></tr></thead><tbody>
        {{#events}}<tr><td>{{time}}</td><td>{{version}}</td><td>{{kind}}</td><td>{{by}}</td><td>{{reason}}</td></tr>
        {{/events}}</tbody></table>

        """

    static let endpoints = """
        <h1>Endpoints</h1>
        {{^stages}}<p class="empty">Nothing is deployed. Deploy with <code>sluice endpoints deploy</code>.</p>{{/stages}}
        {{#hasStages}}<h2>Live stages</h2>
        <table class="list stages">
        <thead><tr><th>Endpoint</th><th>Stage</th><th>Variants and weights</th><th>Since</th><th>By</th></tr></thead>
        <tbody>
        {{#stages}}<tr><td>{{endpoint}}</td><td>{{stage}}</td><td>{{#variants}}{{name}}: {{model}}\
        {{#aliases}} <span class="alias">{{aliases}}</span>{{/aliases}} \
        ({{weight}}{{#shadow}}, shadow{{/shadow}})<br>{{/variants}}</td><td>{{time}}</td><td>{{by}}</td></tr>
        {{/stages}}</tbody></table>{{/hasStages}}
        <h2>Traffic</h2>
        <p class="meta">Requests answered since this server started (the counts <code>/metrics</code> exposes); \
        requests per second and mean latency over the last second, kept current while this page is open.</p>
        <table class="list traffic" id="traffic" data-traffic-live="/console/endpoints/traffic">
        <thead><tr><th>Endpoint</th><th>Variant</th><th>Requests</th><th>Errors</th><th>Requests/s</th>\
        <th>Mean latency</th></tr></thead><tbody>
        {{#traffic}}<tr data-traffic="{{key}}"><td>{{endpoint}}</td><td>{{variant}}</td>\
        <td data-field="requests">{{requests}}</td><td data-field="errors">{{errors}}</td>\
        <td data-field="rate">{{rate}}</td><td data-field="latency">{{latency}}</td></tr>
        {{/traffic}}</tbody></table>
        {{#endpoints}}<h2>Deployment history of {{name}}</h2>
        <p class="meta">capture {{capture}} % · created {{created}}</p>
        <table class="list history">
        <thead><tr><th>Time</th><th>Stage</th><th>Action</th><th>Variants</th><th>By</th><th>Reason</th></tr></thead>
        <tbody>
        {{#history}}<tr><td>{{time}}</td><td>{{stage}}</td><td>{{action}}</td><td>{{variants}}</td><td>{{by}}</td>\
        <td>{{reason}}</td></tr>
        {{/history}}</tbody></table>
        {{/endpoints}}
        <h2>API keys</h2>
        {{^keys}}<p class="empty">No API keys. Create one with <code>sluice keys create NAME</code>.</p>{{/keys}}
        {{#hasKeys}}<table class="list keys">
        <thead><tr><th>Name</th><th>Id</th><th>Plan</th><th>Used today</th><th>Used this month</th><th>Created</th>\
        <th></th></tr></thead><tbody>
        {{#keys}}<tr><td>{{name}}</td><td><code>{{id}}</code></td><td>{{plan}}</td><td>{{today}}</td><td>{{month}}</td>\
        <td>{{created}}</td><td>{{#revoked}}<span class="status st-rejected">revoked {{revoked}}</span>{{/revoked}}\
        {{^revoked}}<form method="post" action="/console/keys/{{id}}/revoke"><input type="hidden" name="csrf" \
        value="{{csrf}}"><button type="submit" class="reject">Revoke</button></form>{{/revoked}}</td></tr>
        {{/keys}}</tbody></table>{{/hasKeys}}
        <p class="meta">A key's secret is shown once, when it is created; this page never shows it.</p>

        """

    static let monitoring = """
        <h1>Monitoring</h1>
        <h2>Schedules</h2>
        {{^schedules}}<p class="empty">No monitoring schedule. Add one with <code>sluice monitor schedule</code>.</p>\
        {{/schedules}}
        <ul>{{#schedules}}<li>{{endpoint}} / {{stage}} every {{every}}{{#notify}}, alerts to {{notify}}{{/notify}}</li>\
        {{/schedules}}</ul>
        <h2>Runs</h2>
        {{^runs}}<p class="empty">No monitoring run yet.</p>{{/runs}}
        {{#hasRuns}}<table class="list runs">
        <thead><tr><th>Window end</th><th>Endpoint / stage</th><th>Model</th><th>Rows</th><th>Drifted columns</th>\
        <th>Violations</th><th>Dataset drift</th></tr></thead><tbody>
        {{#runs}}<tr><td>{{windowEnd}}</td><td>{{endpoint}} / {{stage}}</td><td>{{model}}</td><td>{{rows}}</td>\
        <td>{{drifted}}</td><td>{{violations}}</td><td>{{#drift}}<span class="status st-failed">drift</span>{{/drift}}\
        {{^drift}}<span class="status st-succeeded">none</span>{{/drift}}</td></tr>
        {{/runs}}</tbody></table>{{/hasRuns}}

        """

    static let features = """
        <h1>Feature store</h1>
        {{^groups}}<p class="empty">No feature group yet.</p>{{/groups}}
        {{#groups}}<article class="pipeline"><h2>{{name}}</h2>
        <p class="meta">record id <code>{{recordIdentifier}}</code> · event time <code>{{eventTime}}</code> · \
        {{records}} records · {{features}} features</p>
        <form method="get" action="/console/features"><input type="hidden" name="group" value="{{name}}">\
        <label>Record id <input name="id" value="{{lookedUp}}"></label> <button type="submit">Look up</button></form>
        {{#record}}<pre>{{record}}</pre>{{/record}}{{#missing}}<p class="empty">{{missing}}</p>{{/missing}}
        </article>{{/groups}}

        """

    static let signIn = """
        <h1>Sign in</h1>
        <p>This server is reachable beyond this machine: sign in with an API key (<code>sluice keys create NAME</code>).</p>
        {{#failure}}<p class="failure">{{failure}}</p>{{/failure}}
        <form method="post" action="/console/sign-in" class="signin">
        <input type="hidden" name="next" value="{{next}}"><input type="hidden" name="csrf" value="{{csrf}}">
        <label>API key <input type="password" name="key" required autocomplete="off"></label>
        <button type="submit">Sign in</button>
        </form>

        """

    static let message = """
        <h1>{{heading}}</h1>
        <p>{{text}}</p>
        {{#link}}<p><a href="{{link}}">{{linkText}}</a></p>{{/link}}

        """
}
