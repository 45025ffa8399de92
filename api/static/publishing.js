/* Publishing pages. Channels: show only the chosen type's config fields. Publications: while a row is
 * on its way (scheduled, pending, sending, retrying), poll GET /api/publications/{id} every 2 s and update
 * its status, attempts, time and result; the retry/cancel forms show for the states that allow them.
 * Auth is the same-origin HttpOnly cookie; without this script the pages still work (reload to update). */
(function () {
  "use strict";

  var LIVE = { scheduled: true, pending: true, sending: true, retrying: true };
  var RETRY = { failed: true, unknown: true, cancelled: true };
  var CANCEL = { scheduled: true, pending: true, retrying: true, failed: true, unknown: true };
  var t = window.liveslice && window.liveslice.t ? window.liveslice.t : function (s) { return s; };

  var select = document.getElementById("target-type");
  if (select) {
    var sync = function () {
      document.querySelectorAll(".channel-fields").forEach(function (set) {
        var on = set.getAttribute("data-type") === select.value;
        set.hidden = !on;
        set.querySelectorAll("input").forEach(function (input) { input.disabled = !on; });
      });
    };
    select.addEventListener("change", sync);
    sync();
  }

  var table = document.getElementById("publications");
  if (!table) return;

  function field(row, name) { return row.querySelector('[data-field="' + name + '"]'); }

  function update(row, p) {
    row.setAttribute("data-status", p.status);
    var badge = field(row, "status");
    badge.className = "badge badge-" + p.status;
    badge.textContent = t(p.status);
    field(row, "attempts").textContent = String(p.attempts);
    field(row, "when").textContent = p.sent_at || p.due_at || p.scheduled_at || "—";
    var result = field(row, "result");
    result.textContent = "";
    if (p.external_url && /^https?:\/\//.test(p.external_url)) {
      var link = document.createElement("a");
      link.href = p.external_url;
      link.rel = "noopener noreferrer";
      link.textContent = p.external_id || t("open");
      result.appendChild(link);
    } else if (p.external_id) {
      var id = document.createElement("span");
      id.className = "mono";
      id.textContent = p.external_id;
      result.appendChild(id);
    }
    if (p.last_error) {
      var error = document.createElement("div");
      error.className = "error-text";
      error.textContent = p.last_error;
      result.appendChild(error);
    }
    row.querySelector('[data-action="retry"]').hidden = !RETRY[p.status];
    row.querySelector('[data-action="cancel"]').hidden = !CANCEL[p.status];
  }

  function poll() {
    var rows = Array.prototype.filter.call(table.querySelectorAll("tr[data-publication]"), function (row) {
      return LIVE[row.getAttribute("data-status")];
    });
    if (!rows.length) return;
    Promise.all(rows.map(function (row) {
      return fetch("/api/publications/" + encodeURIComponent(row.getAttribute("data-publication")), {
        credentials: "same-origin", headers: { Accept: "application/json" }
      }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (p) { if (p) update(row, p); })
        .catch(function () { /* offline for a moment: the next poll tries again */ });
    })).then(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 2000);
})();
