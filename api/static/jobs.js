/* The job page, live: poll GET /api/jobs/{id} every 1.5 s while the job is queued or running and
 * update the progress bar, stage, time left, each clip's row, the stages and the errors. Cancel and
 * "Retry failed parts" post to the API. Auth is the same-origin HttpOnly cookie; the page works
 * without this script (its forms post to the page routes), it just is not live. */
(function () {
  "use strict";

  var INTERVAL = 1500, MAX_BACKOFF = 15000;
  var t = window.t || function (text) { return text; }; /* app.js: the page's language */
  var LIVE = { queued: true, running: true };

  function field(root, name) { return root.querySelector('[data-field="' + name + '"]'); }
  function show(el, visible) { if (el) el.hidden = !visible; }
  function setText(el, value) { if (el && el.textContent !== value) el.textContent = value; }

  /* Same wording as the server's filters (job_pages.fmt_percent, fmt_eta, pages.fmt_seconds). */
  function percent(fraction) {
    return Math.floor(Math.max(0, Math.min(1, fraction || 0)) * 100) + "%";
  }
  function eta(seconds) {
    if (seconds === null || seconds === undefined || !isFinite(seconds)) return "—";
    if (seconds < 60) return t("under a minute");
    var minutes = Math.ceil(seconds / 60);
    if (minutes < 60) return t("about %(minutes)s min", { minutes: minutes });
    var rest = minutes % 60;
    return t("about %(hours)s h %(minutes)s min", { hours: Math.floor(minutes / 60), minutes: (rest < 10 ? "0" : "") + rest });
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function offset(value) {
    if (value === null || value === undefined) return "—";
    var whole = Math.floor(value), tenths = Math.floor((value % 1) * 10);
    var h = Math.floor(whole / 3600), m = Math.floor((whole % 3600) / 60), s = whole % 60;
    return h + ":" + pad(m) + ":" + pad(s) + "." + tenths;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }
  function badge(status) { return el("span", { "class": "badge badge-" + status }, [t(status)]); }
  function cell(label, attrs, children) {
    var all = { "data-label": label };
    Object.keys(attrs || {}).forEach(function (k) { all[k] = attrs[k]; });
    return el("td", all, children);
  }

  function clipRow(c) {
    var last = null;
    if (c.status === "ready") {
      last = el("a", { href: "/clips?recording=" + encodeURIComponent(c.recording_id || "") +
        "#clip-" + encodeURIComponent(c.clip_id) }, [t("Open in the gallery")]);
    } else if (c.error) {
      last = el("span", { "class": "error-text" }, [c.error]);
    }
    var window_ = c.start === null || c.start === undefined ? "—" : offset(c.start) + "–" + offset(c.end);
    return el("tr", { "data-clip": c.clip_id }, [
      cell(t("Clip"), { "class": "mono" }, [c.clip_id.slice(0, 8)]),
      cell(t("Platform"), {}, [c.preset || "—"]),
      cell(t("Window"), { "class": "mono" }, [window_]),
      cell("SKU", { "class": "mono" }, [c.sku || "—"]),
      cell(t("Status"), {}, [badge(c.status), c.stage ? " " : null, c.stage ? el("span", { "class": "muted" }, [c.stage]) : null]),
      cell("", {}, [last])
    ]);
  }

  function stageRow(s) {
    return el("tr", {}, [
      cell(t("Stage"), { "class": "mono" }, [s.key || s.kind]),
      cell(t("Status"), {}, [badge(s.status)]),
      cell(t("Progress"), {}, [percent(s.progress)]),
      cell(t("Attempts"), { "class": "num" }, [String(s.attempts || 0)]),
      cell(t("Error"), { "class": "error-text" }, [s.error || ""])
    ]);
  }

  /* Replace a tbody's rows only when what they show changed (keeps focus and selection steady). */
  function fill(body, items, make) {
    if (!body) return;
    var key = JSON.stringify(items);
    if (body.getAttribute("data-key") === key) return;
    body.setAttribute("data-key", key);
    while (body.firstChild) body.removeChild(body.firstChild);
    items.forEach(function (item) { body.appendChild(make(item)); });
  }

  function update(root, job) {
    var live = !!LIVE[job.status];
    root.setAttribute("data-status", job.status);
    var status = field(root, "status");
    if (status) { status.className = "badge badge-" + job.status; setText(status, t(job.status)); }
    var bar = field(root, "progress");
    if (bar) { bar.value = job.progress || 0; setText(bar, percent(job.progress)); }
    setText(field(root, "percent"), percent(job.progress));
    setText(field(root, "stage"), job.stage || "—");
    setText(field(root, "eta"), eta(job.eta_seconds));
    show(field(root, "cancelling"), live && job.cancel_requested);
    var error = field(root, "error");
    setText(error, job.error || "");
    show(error, !!job.error);
    show(root.querySelector('[data-show="cancel"]'), live && !job.cancel_requested);
    show(root.querySelector('[data-show="retry"]'), job.status === "failed" || job.status === "cancelled");
    show(root.querySelector('[data-show="manifest"]'), job.status === "succeeded");
    if (job.clips) {
      setText(field(root, "clip-count"), String(job.clips.length));
      show(field(root, "no-clips"), !job.clips.length);
      show(field(root, "clips-table"), job.clips.length > 0);
      fill(field(root, "clips"), job.clips, clipRow);
    }
    if (job.stages) {
      setText(field(root, "stage-count"), String(job.stages.length));
      fill(field(root, "stages"), job.stages, stageRow);
    }
    if (job.errors) {
      show(field(root, "errors-card"), job.errors.length > 0);
      fill(field(root, "errors"), job.errors, function (text) { return el("li", {}, [text]); });
    }
  }

  function message(root, text) {
    var box = field(root, "message");
    setText(box, text || "");
    show(box, !!text);
  }

  function detail(body, res) {
    if (body && typeof body.detail === "string") return body.detail;
    if (body && body.detail && body.detail.message) return body.detail.message;
    return t("The server answered %(status)s.", { status: res.status });
  }

  function Poller(root) {
    this.root = root;
    this.api = root.getAttribute("data-api");
    this.timer = null;
    this.delay = INTERVAL;
    this.wasLive = !!LIVE[root.getAttribute("data-status")];
  }

  Poller.prototype.schedule = function (ms) {
    var self = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.tick(); }, ms);
  };

  Poller.prototype.tick = function () {
    var self = this;
    if (document.hidden) { this.schedule(INTERVAL); return; }
    fetch(this.api, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
      .then(function (res) {
        if (res.status === 401) { window.location.reload(); return null; } /* the page sends the login form */
        if (res.status === 403 || res.status === 404) { message(self.root, t("This job cannot be followed any more (%(status)s).", { status: res.status })); return null; }
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      })
      .then(function (job) {
        if (!job) return;
        self.delay = INTERVAL;
        self.seen(job);
      })
      .catch(function () {
        self.delay = Math.min(self.delay * 2, MAX_BACKOFF); /* server or network trouble: try again, slower */
        self.schedule(self.delay);
      });
  };

  Poller.prototype.seen = function (job) {
    update(this.root, job);
    if (LIVE[job.status]) {
      this.wasLive = true;
      this.schedule(INTERVAL);
    } else if (this.wasLive) {
      this.wasLive = false;
      window.location.reload(); /* finished: the server's page shows times, manifest and final state */
    }
  };

  /* Cancel / Retry: post to the API, show the job it returns, keep polling. */
  function wireActions(root, poller) {
    Array.prototype.forEach.call(root.querySelectorAll("form[data-api]"), function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var button = form.querySelector("button");
        if (button) button.disabled = true;
        message(root, "");
        fetch(form.getAttribute("data-api"), {
          method: "POST", credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" }
        })
          .then(function (res) {
            return res.json().catch(function () { return null; }).then(function (body) {
              if (!res.ok) throw new Error(detail(body, res));
              poller.wasLive = poller.wasLive || !!LIVE[body.status];
              poller.seen(body);
            });
          })
          .catch(function (err) { message(root, err.message || t("The request failed; try again.")); })
          .then(function () { if (button) button.disabled = false; });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("job");
    if (!root || !window.fetch) return;
    var poller = new Poller(root);
    wireActions(root, poller);
    if (poller.wasLive) poller.schedule(INTERVAL);
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && LIVE[root.getAttribute("data-status")]) poller.schedule(0);
    });
  });
})();
