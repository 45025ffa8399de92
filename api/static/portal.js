/* The leader portal's Copy buttons: the Clipboard API where it works, else select the text and
 * execCommand("copy") (WeChat's older WebView), and a short confirmation either way. */
(function () {
  "use strict";

  function legacyCopy(box) {
    box.focus();
    box.select();
    box.setSelectionRange(0, box.value.length); /* iOS needs the range */
    var done = false;
    try { done = document.execCommand("copy"); } catch (e) { done = false; }
    return done;
  }

  function say(button, ok) {
    var status = button.closest(".p-clip").querySelector(".p-status");
    if (!status) return;
    status.textContent = button.getAttribute(ok ? "data-copied" : "data-failed") || "";
    status.classList.toggle("is-error", !ok);
    clearTimeout(button._timer);
    button._timer = setTimeout(function () { status.textContent = ""; }, 4000);
  }

  function copy(button) {
    var box = document.getElementById(button.getAttribute("data-copy"));
    if (!box) return;
    var text = box.value;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { say(button, true); },
        function () { say(button, legacyCopy(box)); }
      );
    } else {
      say(button, legacyCopy(box));
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (button) {
      button.addEventListener("click", function () { copy(button); });
    });
  });
})();
