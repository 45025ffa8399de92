/* Small page helpers: the translation function t(), refresh recordings that are still probing, and finish a login that a
 * SameSite=Strict cookie hid (a link from another site does not carry the cookie). */
(function () {
  "use strict";

  /* t("msgid", {name: value}): the page's language, from the JSON the server embeds (api/i18n.py). */
  var messages = {};
  try {
    var embedded = document.getElementById("i18n-messages");
    if (embedded) messages = JSON.parse(embedded.textContent) || {};
  } catch (e) { messages = {}; }
  window.t = function (msgid, vars) {
    var text = Object.prototype.hasOwnProperty.call(messages, msgid) ? messages[msgid] : msgid;
    return !vars ? text : text.replace(/%\((\w+)\)s/g, function (whole, name) {
      return Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : whole;
    });
  };

  /* Poll each probing badge's status.json; reload once one has moved on. */
  function pollProbing() {
    var badges = Array.prototype.slice.call(document.querySelectorAll("[data-poll]"));
    if (!badges.length || !window.fetch) return;
    var delay = 2000, stopped = false;

    function check() {
      if (stopped) return;
      var pending = badges.map(function (badge) {
        return fetch(badge.getAttribute("data-poll"), { credentials: "same-origin", cache: "no-store" })
          .then(function (res) {
            if (res.status === 401 || res.status === 403 || res.status === 404) { stopped = true; return null; }
            return res.ok ? res.json() : null;
          })
          .then(function (body) { return body && body.status !== badge.getAttribute("data-status"); })
          .catch(function () { return false; });
      });
      Promise.all(pending).then(function (changed) {
        if (changed.some(Boolean)) { window.location.reload(); return; }
        delay = Math.min(delay * 1.5, 15000);
        setTimeout(check, delay);
      });
    }
    setTimeout(check, delay);
  }

  /* On the login page: if this browser already holds a live key, go on to the page asked for. */
  function resumeSession() {
    var login = document.getElementById("login");
    if (!login || !window.fetch) return;
    fetch("/session.json", { credentials: "same-origin", cache: "no-store" })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (body) {
        if (body && body.authenticated) window.location.replace(login.getAttribute("data-next") || "/");
      })
      .catch(function () { /* stay on the form */ });
  }

  document.addEventListener("DOMContentLoaded", function () {
    pollProbing();
    resumeSession();
  });
})();
