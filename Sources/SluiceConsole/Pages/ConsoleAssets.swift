/// The console's one stylesheet and its one script, served from `/console/static/`.
enum ConsoleAssets {
    static let stylesheet = """
        :root{--ok:#2a7d2a;--bad:#b03030;--run:#1f5fbf;--wait:#b07800;--mute:#777;--line:#ddd}
        *{box-sizing:border-box}
        [hidden]{display:none!important}
        body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
        header.top{display:flex;gap:2em;align-items:center;background:#1d2733;color:#fff;padding:.6em 1.5em}
        header.top a{color:#dfe7f1;text-decoration:none}
        header.top .brand{font-weight:700;color:#fff}
        header.top nav{display:flex;gap:1.2em;flex:1}
        header.top nav a[aria-current]{color:#fff;border-bottom:2px solid #8fb8ff}
        .badge{background:var(--wait);color:#fff;border-radius:8px;padding:0 .45em;font-size:.85em}
        .signout{display:flex;gap:.5em;align-items:center}
        main{max-width:80em;margin:0 auto;padding:1em 1.5em 3em}
        h1 code{font-size:.8em}
        table{border-collapse:collapse;width:100%;background:#fff}
        th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid var(--line);vertical-align:top}
        th{color:#555;font-weight:600}
        table.kv{width:auto}
        pre{margin:0;white-space:pre-wrap;word-break:break-all;font-size:.9em}
        pre.log,pre.spec{background:#10161d;color:#d7e0ea;padding:.7em;max-height:24em;overflow:auto}
        .meta{color:#555}
        .empty{color:var(--mute)}
        .failure{color:var(--bad)}
        .notice{background:#eef6ee;border-left:4px solid var(--ok);padding:.5em .8em}
        .status{font-weight:600}
        .st-succeeded,.st-approved{color:var(--ok)}
        .st-failed,.st-rejected,.st-cancelled{color:var(--bad)}
        .st-running{color:var(--run)}
        .st-waiting,.st-queued{color:var(--wait)}
        .st-pending,.st-skipped,.st-interrupted{color:var(--mute)}
        .cache{background:#e6effa;color:var(--run);padding:0 .4em;border-radius:4px}
        .alias{background:#efe6fa;color:#5a2d91;padding:0 .4em;border-radius:4px;font-size:.9em}
        .filters{display:flex;gap:1em;align-items:end;margin:1em 0}
        .paging{display:flex;gap:1.5em}
        .actions{display:flex;gap:.8em;margin:1em 0}
        button{font:inherit;padding:.35em 1.1em;border:1px solid #bbb;border-radius:4px;background:#fff;cursor:pointer}
        button.approve{background:var(--ok);color:#fff;border:0}
        button.reject,button.cancel{background:var(--bad);color:#fff;border:0}
        article.approval,article.pipeline{background:#fff;border:1px solid var(--line);padding:.4em 1em 1em;margin:1em 0}
        form.decide{display:inline-flex;gap:.6em;align-items:center;margin-right:1.5em}
        .events{font-size:.9em;padding-left:1.5em}
        .events time{color:var(--mute)}
        svg.pipeline-graph{background:#fff;border:1px solid var(--line);max-width:100%;height:auto}
        svg .edge{fill:none;stroke:#999;stroke-width:1.5}
        svg .node rect{fill:#f3f3f3;stroke:#999;stroke-width:1.5;rx:6px}
        svg .node text{font:13px system-ui,sans-serif;fill:#222}
        svg .node text.kind{font-size:11px;fill:#666}
        svg .node.st-running rect{fill:#e3ecfb;stroke:var(--run)}
        svg .node.st-waiting rect{fill:#fdf1d6;stroke:var(--wait)}
        svg .node.st-succeeded rect{fill:#dff1df;stroke:var(--ok)}
        svg .node.st-failed rect,svg .node.st-cancelled rect{fill:#f8dede;stroke:var(--bad)}
        svg .node.st-caught rect{fill:#f7e8d0;stroke:var(--wait)}
        svg .node.st-skipped rect{fill:#fff;stroke:#ccc;stroke-dasharray:4 3}
        .live-note{color:var(--mute);font-size:.9em}

        """

    /// Follows an open execution page over server-sent events (colours the graph's nodes, updates the step and
    /// attempt tables and the status, appends new events and log text) and an open endpoints page (its traffic table). Without
    /// JavaScript each page is complete as served.
    static let script = """
        "use strict";
        function each(selector, attribute, name, apply) {
          document.querySelectorAll(selector).forEach(function (element) {
            if (element.getAttribute(attribute) === name) apply(element);
          });
        }
        function recolour(element, status) {
          element.classList.forEach(function (name) {
            if (name.indexOf("st-") === 0) element.classList.remove(name);
          });
          element.classList.add("st-" + status);
        }
        function showLog(log) {
          var pre = null;
          each("pre[data-log]", "data-log", log.key, function (found) { pre = found; });
          var section = document.getElementById("logs");
          if (!pre && section) {
            var heading = document.createElement("h3");
            heading.textContent = log.step + " · attempt " + log.attempt + " · " + log.file;
            pre = document.createElement("pre");
            pre.className = "log";
            pre.setAttribute("data-log", log.key);
            section.append(heading, pre);
            section.hidden = false;
          }
          if (!pre) return;
          var text = log.replace ? log.text : pre.textContent + log.text;
          // A page follows a log; it keeps the last 64 K characters.
          pre.textContent = text.length > 65536 ? text.slice(-65536) : text;
          pre.scrollTop = pre.scrollHeight;
        }
        function cell(row, text, field) {
          var td = document.createElement("td");
          if (field) td.setAttribute("data-field", field);
          td.textContent = text;
          row.appendChild(td);
          return td;
        }
        function showAttempt(attempt) {
          var row = null;
          each("tr[data-attempt]", "data-attempt", attempt.key, function (found) { row = found; });
          var table = document.getElementById("attempts");
          if (!row && table) {
            row = document.createElement("tr");
            row.setAttribute("data-attempt", attempt.key);
            cell(row, attempt.step); cell(row, attempt.number);
            var status = document.createElement("span");
            status.className = "status";
            status.setAttribute("data-field", "status");
            cell(row, "").appendChild(status);
            cell(row, attempt.started); cell(row, "", "duration"); cell(row, "", "error");
            table.tBodies[0].appendChild(row);
          }
          if (!row) return;
          var badge = row.querySelector('[data-field="status"]');
          badge.textContent = attempt.status; recolour(badge, attempt.status);
          row.querySelector('[data-field="error"]').textContent = attempt.error;
          if (attempt.duration) row.querySelector('[data-field="duration"]').textContent = attempt.duration;
        }
        function followExecution(graph) {
          var source = new EventSource(graph.getAttribute("data-live"));
          source.addEventListener("state", function (message) {
            var state = JSON.parse(message.data);
            var badge = document.getElementById("execution-status");
            if (badge) { badge.textContent = state.status; recolour(badge, state.status); }
            state.steps.forEach(function (step) {
              each("[data-step]", "data-step", step.name, function (node) {
                recolour(node, step.status);
                var label = node.querySelector("text.kind");
                if (label) label.textContent = step.label;
              });
              each("[data-step-status]", "data-step-status", step.name, function (cell) {
                cell.textContent = step.status; recolour(cell, step.status);
              });
            });
            var list = document.getElementById("events");
            (state.events || []).forEach(function (event) {
              var item = document.createElement("li");
              var time = document.createElement("time"); time.textContent = event.time;
              var subject = document.createElement("b"); subject.textContent = event.subject;
              item.append(time, " ", subject, " " + event.kind + " ", event.message);
              if (list) list.appendChild(item);
            });
            (state.attempts || []).forEach(showAttempt);
            (state.logs || []).forEach(showLog);
            if (state.finished) {
              source.close();
              var note = document.getElementById("live-note");
              if (note) note.firstChild.textContent = "Finished (" + state.status + "). ";
              // The offered actions were those of a running execution; the reloaded page shows the current ones.
              var actions = document.querySelector(".actions");
              if (actions) actions.hidden = true;
            }
          });
        }
        function followTraffic(table) {
          var source = new EventSource(table.getAttribute("data-traffic-live"));
          var fields = ["requests", "errors", "rate", "latency"];
          source.addEventListener("traffic", function (message) {
            JSON.parse(message.data).forEach(function (series) {
              var row = null;
              each("tr[data-traffic]", "data-traffic", series.key, function (found) { row = found; });
              if (!row) {
                row = document.createElement("tr");
                row.setAttribute("data-traffic", series.key);
                ["endpoint", "variant"].concat(fields).forEach(function (name) {
                  var cell = document.createElement("td");
                  if (fields.indexOf(name) >= 0) cell.setAttribute("data-field", name);
                  else cell.textContent = series[name];
                  row.appendChild(cell);
                });
                table.tBodies[0].appendChild(row);
              }
              fields.forEach(function (name) {
                row.querySelector('[data-field="' + name + '"]').textContent = series[name];
              });
            });
          });
        }
        document.addEventListener("DOMContentLoaded", function () {
          if (!window.EventSource) return;
          var graph = document.querySelector("[data-live]");
          if (graph && graph.getAttribute("data-live")) followExecution(graph);
          var traffic = document.querySelector("[data-traffic-live]");
          if (traffic) followTraffic(traffic);
        });

        """
}
