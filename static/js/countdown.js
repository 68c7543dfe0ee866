// Counts down every [data-countdown] element: its value is the seconds
// left when the server rendered it (the server's clock decides; the
// browser's only counts). Elements swapped in by htmx are picked up on the
// next tick with their fresh value. At zero the element gets
// data-countdown-done, and [data-countdown-expired] siblings are shown.
// An external file because our CSP forbids inline script.
(function () {
  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      if (!el.dataset.countdownEnd) {
        el.dataset.countdownEnd = String(now + 1000 * parseInt(el.dataset.countdown, 10));
      }
      var left = Math.max(0, Math.round((parseInt(el.dataset.countdownEnd, 10) - now) / 1000));
      var text = pad(Math.floor(left / 60)) + ":" + pad(left % 60);
      var out = el.querySelector("[data-countdown-text]") || el;
      if (out.textContent !== text) {
        out.textContent = text;
      }
      if (left === 0 && !el.hasAttribute("data-countdown-done")) {
        el.setAttribute("data-countdown-done", "");
        var box = el.closest("[data-countdown-box]") || document;
        box.querySelectorAll("[data-countdown-expired]").forEach(function (x) {
          x.hidden = false;
        });
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
  });
})();
