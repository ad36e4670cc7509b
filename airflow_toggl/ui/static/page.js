"use strict";
(function () {
  // Every URL is relative to this page, so the page works under any [api] base_url prefix.
  var API = "api/sessions";
  var AIRFLOW_BASE = "../";
  var LABELS = {
    healthy: "Healthy",
    expiring: "Expiring",
    stale_pending: "Stale pending",
    rotation_failing: "Rotation failing",
    invalid: "Invalid",
    no_session: "No session"
  };
  var serverNow = null;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function colour(state) {
    return "var(--" + state + ", var(--no_session))";
  }

  function duration(seconds) {
    var s = Math.abs(Math.round(seconds));
    var d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d) return d + " d" + (h ? " " + h + " h" : "");
    if (h) return h + " h" + (m ? " " + m + " min" : "");
    if (m) return m + " min";
    return s + " s";
  }

  function ago(iso) {
    if (!iso) return "never";
    var seconds = (serverNow - new Date(iso).getTime()) / 1000;
    return seconds >= 0 ? duration(seconds) + " ago" : "in " + duration(seconds);
  }

  function when(iso) {
    if (!iso) return "";
    return new Date(iso).toISOString().replace("T", " ").slice(0, 16) + " UTC";
  }

  function stateCell(row) {
    var td = el("td");
    var pill = el("span", "pill", LABELS[row.state] || row.state);
    pill.dataset.state = row.state;
    td.appendChild(pill);
    td.appendChild(el("div", "reason", row.reason));
    return td;
  }

  function connectionCell(row) {
    var td = el("td");
    td.appendChild(el("span", "conn line", row.conn_id));
    td.appendChild(el("span", "small line", row.auth_mode ? "auth: " + row.auth_mode : "auth: unknown"));
    return td;
  }

  function userCell(row) {
    var td = el("td");
    var user = row.user;
    if (!user) {
      td.appendChild(el("span", "small", "not known yet"));
      return td;
    }
    td.appendChild(el("span", "line", user.email || "email unknown"));
    td.appendChild(el("span", "small line", "id " + (user.id === null ? "?" : user.id)));
    td.appendChild(el("span", "hint line", "from " + user.source + (user.seen_at ? ", " + ago(user.seen_at) : "")));
    return td;
  }

  function sessionCell(row) {
    var td = el("td");
    var s = row.session;
    if (!s.stored) {
      td.appendChild(el("span", "line", "none stored"));
      if (s.key) td.appendChild(el("code", "small line", s.key));
      return td;
    }
    td.appendChild(el("span", "line", "stored" + (s.age_seconds !== null ? ", " + duration(s.age_seconds) + " old" : "")));
    if (s.expires_at) {
      td.appendChild(el("span", "small line", "expires " + when(s.expires_at)));
      td.appendChild(el("span", "hint line", "from the cookie's exp: a hint"));
    } else {
      td.appendChild(el("span", "small line", "expiry unknown"));
    }
    if (s.stale_pending) {
      td.appendChild(el("span", "small line stale", s.stale_pending + " stale awaiting deletion"));
    }
    return td;
  }

  function timeLeftCell(row) {
    var td = el("td");
    var s = row.session;
    if (!s.stored || s.remaining_seconds === null || s.remaining_seconds === undefined) {
      td.appendChild(el("span", "small", s.stored ? "unknown" : "\u2014"));
      return td;
    }
    var left = Math.max(s.remaining_seconds, 0);
    var threshold = s.threshold_seconds || 0;
    var scale = Math.max(left, threshold) * 1.25 || 1;
    var bar = el("div", "bar");
    bar.setAttribute("role", "img");
    bar.setAttribute("aria-label", duration(left) + " left; rotation threshold " + duration(threshold));
    var fill = el("div", "fill");
    fill.style.width = Math.max((left / scale) * 100, left > 0 ? 2 : 0) + "%";
    var mark = el("div", "mark");
    mark.style.left = (threshold / scale) * 100 + "%";
    mark.title = "rotation threshold";
    bar.appendChild(fill);
    bar.appendChild(mark);
    td.appendChild(el("span", "line", s.remaining_seconds > 0 ? duration(left) + " left" : "expired"));
    td.appendChild(bar);
    td.appendChild(el("span", "small line", "threshold " + duration(threshold) + " (" + s.threshold_source + ")"));
    return td;
  }

  function rotationCell(row) {
    var td = el("td");
    var r = row.rotation;
    if (!r) {
      td.appendChild(el("span", "small", "no rotation task found"));
      return td;
    }
    td.appendChild(el("span", "small line", r.dag_id + " \u203a " + r.task_id));
    var last = r.last_run;
    var line = el("span", "line run");
    if (last) {
      line.appendChild(el("span", "badge " + (last.state || "none"), last.state || "no state"));
      line.appendChild(document.createTextNode(" " + ago(last.at) + " "));
      var link = el("a", null, "run \u2197");
      link.href = AIRFLOW_BASE + last.url;
      link.target = "_top";
      line.appendChild(link);
    } else {
      line.appendChild(el("span", "small", "never ran"));
    }
    td.appendChild(line);
    var next = "no next run scheduled";
    if (r.paused) {
      next = "DAG paused: no next run";
    } else if (r.next_run_at) {
      var due = new Date(r.next_run_at).getTime() <= serverNow;
      next = due ? "next run due now" : "next " + ago(r.next_run_at) + " (" + when(r.next_run_at) + ")";
    }
    td.appendChild(el("span", "small line", next));
    return td;
  }

  function quotaCell(row) {
    var td = el("td");
    if (!row.quotas.length) {
      td.appendChild(el("span", "small", "none seen yet"));
      return td;
    }
    row.quotas.forEach(function (q) {
      var left = q.remaining === null ? "?" : q.remaining;
      td.appendChild(el("span", "quota", q.scope + ": " + left + " left"));
      var detail = "seen " + ago(q.seen_at);
      if (q.resets_in !== null && q.seen_at) {
        var resetsAt = new Date(q.seen_at).getTime() + q.resets_in * 1000;
        detail = (resetsAt > serverNow ? "resets in " + duration((resetsAt - serverNow) / 1000) : "reset since") + "; " + detail;
      }
      td.appendChild(el("span", "hint line", detail));
    });
    return td;
  }

  function checkCell(row) {
    var td = el("td");
    var button = el("button", null, "Check now");
    button.type = "button";
    button.disabled = !row.can_check || !row.session.stored;
    button.title = !row.can_check
      ? "Needs permission to edit connections"
      : row.session.stored
      ? "Sends one GET /api/v9/me/logged with the stored session (user quota)"
      : "No stored session to check";
    var result = el("div", "check-result");
    if (row.last_check) {
      result.textContent = (row.last_check.ok ? "\u2713 " : "\u2717 ") + row.last_check.message + " (" + ago(row.last_check.at) + ")";
      result.className = "check-result " + (row.last_check.ok ? "ok" : "bad");
    }
    button.addEventListener("click", function () { checkNow(row.conn_id, button, result); });
    td.appendChild(button);
    td.appendChild(result);
    return td;
  }

  function renderRow(row) {
    var tr = el("tr");
    tr.dataset.conn = row.conn_id;
    tr.dataset.state = row.state;
    tr.style.setProperty("--row-colour", colour(row.state));
    [stateCell, connectionCell, userCell, sessionCell, timeLeftCell, rotationCell, quotaCell, checkCell].forEach(function (cell) {
      tr.appendChild(cell(row));
    });
    return tr;
  }

  function renderLegend(states) {
    var legend = document.getElementById("legend");
    legend.textContent = "";
    states.forEach(function (state) {
      var item = el("li");
      var dot = el("span", "dot");
      dot.style.background = colour(state);
      item.appendChild(dot);
      item.appendChild(document.createTextNode(LABELS[state] || state));
      legend.appendChild(item);
    });
  }

  function notice(text) {
    var node = document.getElementById("notice");
    node.textContent = text || "";
    node.hidden = !text;
  }

  function request(url, options) {
    var init = Object.assign({ credentials: "same-origin", headers: { Accept: "application/json" } }, options || {});
    return fetch(url, init).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (!response.ok) {
          var why = response.status === 401 ? "Sign in to Airflow to see this page."
            : response.status === 403 ? "You lack the permission this needs on connections."
            : "The request failed (" + response.status + ").";
          throw new Error(why + (body.detail && typeof body.detail === "string" ? " " + body.detail : ""));
        }
        return body;
      });
    });
  }

  function load() {
    return request(API).then(function (data) {
      serverNow = new Date(data.generated_at).getTime();
      renderLegend(data.states);
      var body = document.querySelector("#sessions tbody");
      body.textContent = "";
      if (!data.connections.length) {
        var td = el("td", "empty", "No toggl connection is defined.");
        td.colSpan = 8;
        var tr = el("tr");
        tr.appendChild(td);
        body.appendChild(tr);
      }
      data.connections.forEach(function (row) { body.appendChild(renderRow(row)); });
      document.getElementById("generated").textContent = "read " + when(data.generated_at);
      document.body.dataset.loaded = "true";
      notice("");
    }).catch(function (error) {
      notice(error.message);
      document.body.dataset.loaded = "error";
    });
  }

  function checkNow(connId, button, result) {
    button.disabled = true;
    result.className = "check-result";
    result.textContent = "Sending GET /api/v9/me/logged\u2026";
    request(API + "/" + encodeURIComponent(connId) + "/check", {
      method: "POST",
      headers: { Accept: "application/json", "Content-Type": "application/json" },
      body: "{}"
    }).then(function (answer) {
      serverNow = Date.now();
      var old = document.querySelector('tr[data-conn="' + CSS.escape(connId) + '"]');
      var fresh = renderRow(answer.row);
      var freshResult = fresh.querySelector(".check-result");
      freshResult.className = "check-result " + (answer.ok ? "ok" : "bad");
      freshResult.textContent = (answer.ok ? "\u2713 " : "\u2717 ") + answer.message + ". Cost: " + answer.cost + ".";
      if (old) old.replaceWith(fresh);
    }).catch(function (error) {
      result.className = "check-result bad";
      result.textContent = error.message;
      button.disabled = false;
    });
  }

  document.getElementById("refresh").addEventListener("click", load);
  load();
})();
