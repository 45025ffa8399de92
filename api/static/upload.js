/* Resumable recording upload with tus-js-client (vendored at /static/vendor/tus.min.js).
 * Auth is the same-origin HttpOnly cookie: no key ever reaches this script. */
(function () {
  "use strict";
  var t = window.t || function (text) { return text; }; /* app.js: the page's language */

  var form = document.getElementById("upload-form");
  if (!form) return;

  var $ = function (id) { return document.getElementById(id); };
  var fileInput = $("file"), titleInput = $("title"), startInput = $("stream_started_at"), zoneInput = $("timezone");
  var startBtn = $("start"), pauseBtn = $("pause"), cancelBtn = $("cancel");
  var box = $("progress-box"), bar = $("progress"), pctEl = $("pct"), bytesEl = $("bytes");
  var speedEl = $("speed"), etaEl = $("eta"), stateEl = $("state");
  var errorEl = $("error"), doneEl = $("done"), resumeNote = $("resume-note");

  var endpoint = form.getAttribute("data-endpoint");
  var maxBytes = Number(form.getAttribute("data-max-bytes")) || Infinity;
  var RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000];
  var AUTO_RETRY_MS = 15000;

  var upload = null;
  var state = "idle"; // idle | uploading | paused | waiting (network) | done | failed
  var samples = [];
  var retryTimer = null;
  var titleFromFile = "";

  if (!window.tus || !window.tus.isSupported) {
    showError(t("This browser cannot do resumable uploads (tus). Use a current Chrome, Edge, Firefox or Safari."));
    startBtn.disabled = true;
    return;
  }

  function humanBytes(n) {
    var units = ["B", "KB", "MB", "GB", "TB"], i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return i === 0 ? Math.round(n) + " B" : n.toFixed(1) + " " + units[i];
  }

  function humanTime(seconds) {
    if (!isFinite(seconds) || seconds < 0) return "";
    seconds = Math.round(seconds);
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s";
  }

  /* "2024-05-01T20:00" (datetime-local) -> "2024-05-01T20:00:00": wall-clock time in the chosen zone. */
  function wallClock(local) {
    if (!local) return "";
    return local.length === 16 ? local + ":00" : local.slice(0, 19);
  }

  /* Offer the browser's own zone next to the server's default. */
  var browserZone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
  var zoneList = $("timezones");
  if (browserZone && zoneList && !zoneList.querySelector('option[value="' + browserZone + '"]')) {
    var option = document.createElement("option");
    option.value = browserZone;
    zoneList.appendChild(option);
  }

  function setState(next, text) {
    state = next;
    stateEl.textContent = text || "";
    var active = next === "uploading" || next === "paused" || next === "waiting";
    startBtn.hidden = active || next === "done";
    pauseBtn.hidden = !active;
    cancelBtn.hidden = !active;
    pauseBtn.textContent = next === "uploading" ? t("Pause") : t("Resume");
    fileInput.disabled = titleInput.disabled = startInput.disabled = zoneInput.disabled = active || next === "done";
    startBtn.textContent = next === "failed" ? t("Try again") : t("Start upload");
  }

  function showError(message) {
    errorEl.textContent = message;
    errorEl.hidden = !message;
  }

  /* The server's own words: {"detail": {"code", "message"}} (or a string detail). */
  function serverMessage(err) {
    var res = err && err.originalResponse;
    if (res) {
      var status = res.getStatus(), body = res.getBody() || "";
      try {
        var detail = JSON.parse(body).detail;
        if (detail && detail.message) return detail.message + (detail.code ? " (" + detail.code + ")" : "");
        if (typeof detail === "string") return detail;
      } catch (e) { /* not JSON: fall through to the raw text */ }
      if (status === 401) return t("You are signed out. Sign in again in another tab, then press Resume.");
      return body ? t("The server answered %(status)s: %(body)s", { status: status, body: body.slice(0, 300) }) : t("The server answered %(status)s.", { status: status });
    }
    return (err && err.message) || String(err);
  }

  function isNetworkError(err) {
    var res = err && err.originalResponse;
    if (!res) return true;
    var status = res.getStatus();
    return status === 0 || status >= 500 || status === 409 || status === 423;
  }

  function progress(sent, total) {
    var now = Date.now();
    samples.push([now, sent]);
    while (samples.length > 2 && now - samples[0][0] > 5000) samples.shift();
    var pct = total ? (sent / total) * 100 : 0;
    bar.value = pct;
    pctEl.textContent = pct.toFixed(pct < 10 ? 1 : 0) + "%";
    bytesEl.textContent = t("%(sent)s of %(total)s", { sent: humanBytes(sent), total: humanBytes(total) });
    var first = samples[0], span = (now - first[0]) / 1000;
    if (span >= 0.5) {
      var rate = (sent - first[1]) / span;
      speedEl.textContent = rate > 0 ? humanBytes(rate) + "/s" : "";
      etaEl.textContent = rate > 0 ? t("%(time)s left", { time: humanTime((total - sent) / rate) }) : "";
    }
  }

  function clearRetry() {
    if (retryTimer) { clearTimeout(retryTimer); retryTimer = null; }
  }

  function resume() {
    clearRetry();
    showError("");
    samples = [];
    setState("uploading", t("Uploading …"));
    upload.start();
  }

  function onError(err) {
    samples = [];
    speedEl.textContent = etaEl.textContent = "";
    if (isNetworkError(err)) {
      var status = err && err.originalResponse ? err.originalResponse.getStatus() : 0;
      setState("waiting", status
        ? t("The server could not take the upload just now. Retrying by itself shortly (or press Resume).")
        : t("Connection lost. The upload continues by itself when the network is back (or press Resume)."));
      showError(status ? serverMessage(err) : "");
      clearRetry();
      retryTimer = setTimeout(function () { if (state === "waiting") resume(); }, AUTO_RETRY_MS);
      return;
    }
    setState("failed", "");
    showError(serverMessage(err));
  }

  function onSuccess(payload) {
    clearRetry();
    showError("");
    var res = payload && payload.lastResponse;
    var id = res && res.getHeader("X-Recording-Id");
    var summary = null;
    try { summary = res ? JSON.parse(res.getBody() || "null") : null; } catch (e) { summary = null; }
    if (!id && summary && summary.id) id = summary.id;
    bar.value = 100;
    pctEl.textContent = "100%";
    speedEl.textContent = etaEl.textContent = "";
    setState("done", t("Upload complete."));
    doneEl.textContent = "";
    var strong = document.createElement("strong");
    strong.textContent = t("Uploaded.") + " ";
    doneEl.appendChild(strong);
    var link = document.createElement("a");
    if (id) {
      link.href = "/recordings/" + encodeURIComponent(id);
      link.textContent = summary && summary.title ? t("Open %(title)s", { title: summary.title }) : t("Open the recording");
    } else {
      link.href = "/recordings";
      link.textContent = t("See it in the recordings list");
    }
    doneEl.appendChild(link);
    doneEl.appendChild(document.createTextNode(" — probing continues there."));
    var again = document.createElement("button");
    again.type = "button";
    again.className = "btn";
    again.textContent = t("Upload another");
    again.addEventListener("click", function () { window.location.reload(); });
    doneEl.appendChild(document.createElement("br"));
    doneEl.appendChild(again);
    doneEl.hidden = false;
    upload = null;
  }

  /* tus Upload-Metadata; empty optional fields are left out. */
  function metadataFor(file) {
    var meta = { filename: file.name, filetype: file.type || "application/octet-stream" };
    var optional = {
      title: titleInput.value.trim() || titleFromFile,
      stream_started_at: wallClock(startInput.value),
      timezone: zoneInput.value.trim()
    };
    Object.keys(optional).forEach(function (key) { if (optional[key]) meta[key] = optional[key]; });
    return meta;
  }

  function makeUpload(file) {
    return new window.tus.Upload(file, {
      endpoint: endpoint,
      chunkSize: 8 * 1024 * 1024,
      retryDelays: RETRY_DELAYS,
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      metadata: metadataFor(file),
      onProgress: progress,
      onError: onError,
      onSuccess: onSuccess
    });
  }

  fileInput.addEventListener("change", function () {
    showError("");
    resumeNote.hidden = true;
    var file = fileInput.files && fileInput.files[0];
    if (!file) return;
    var stem = file.name.replace(/\.[^.]+$/, "");
    if (!titleInput.value.trim() || titleInput.value === titleFromFile) titleInput.value = stem;
    titleFromFile = stem;
    if (file.size > maxBytes) {
      showError(t("This file is %(size)s, over the limit of %(limit)s.", { size: humanBytes(file.size), limit: humanBytes(maxBytes) }));
      return;
    }
    makeUpload(file).findPreviousUploads().then(function (previous) {
      if (previous.length) {
        var when = new Date(previous[0].creationTime);
        resumeNote.textContent = t("An unfinished upload of this file (started %(when)s) was found. Start continues it where it stopped.",
          { when: when.toLocaleString() });
        resumeNote.hidden = false;
      }
    }).catch(function () { /* no stored uploads: a fresh start */ });
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    showError("");
    doneEl.hidden = true;
    var file = fileInput.files && fileInput.files[0];
    if (!file) { showError(t("Choose a recording file first.")); return; }
    if (file.size > maxBytes) {
      showError(t("This file is %(size)s, over the limit of %(limit)s.", { size: humanBytes(file.size), limit: humanBytes(maxBytes) }));
      return;
    }
    upload = makeUpload(file);
    resumeNote.hidden = true;
    box.hidden = false;
    progress(0, file.size);
    setState("uploading", t("Checking for an earlier upload of this file …"));
    upload.findPreviousUploads().then(function (previous) {
      if (previous.length) {
        upload.resumeFromPreviousUpload(previous[0]);
        stateEl.textContent = t("Resuming an earlier upload …");
      } else {
        stateEl.textContent = t("Uploading …");
      }
      samples = [];
      upload.start();
    }).catch(function (err) {
      setState("failed", "");
      showError(serverMessage(err));
    });
  });

  pauseBtn.addEventListener("click", function () {
    if (!upload) return;
    if (state === "uploading") {
      clearRetry();
      upload.abort();
      samples = [];
      speedEl.textContent = etaEl.textContent = "";
      setState("paused", t("Paused. Press Resume to continue."));
    } else {
      resume();
    }
  });

  cancelBtn.addEventListener("click", function () {
    if (!upload || !window.confirm(t("Cancel this upload and discard what was sent?"))) return;
    clearRetry();
    var current = upload;
    upload = null;
    current.abort(true).catch(function () { /* the server drops it when it expires */ });
    bar.value = 0;
    box.hidden = true;
    setState("idle", "");
  });

  window.addEventListener("online", function () {
    if (state === "waiting" && upload) resume();
  });

  window.addEventListener("beforeunload", function (event) {
    if (state === "uploading") {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();
