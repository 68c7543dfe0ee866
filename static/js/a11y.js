// What htmx's swaps need to reach people who cannot see them happen: an
// external file because our CSP forbids inline script. Without JavaScript
// every form is a full page, which browsers and screen readers already
// handle.
//
// 1. After a form sent by its submit button comes back with problems (a 422
//    swaps the form in place), focus moves to the first field marked
//    aria-invalid, or else to the form's alert, so a keyboard or screen
//    reader user lands on what to fix instead of at the top of nothing.
//    Swaps nobody asked for by submitting (a preview refreshed while
//    typing) never move focus.
// 2. A swapped region that carries data-announce (an order's state, say)
//    has its new value read out through the shell's polite live region,
//    once per change: a poll that brings the same state says nothing.
(function () {
  "use strict";

  var announced = {};

  function announceFrom(root) {
    var live = document.getElementById("live-region");
    if (!live || !root || !root.querySelectorAll) {
      return;
    }
    var found = root.matches("[data-announce]") ? [root] : [];
    found = found.concat(Array.prototype.slice.call(root.querySelectorAll("[data-announce]")));
    found.forEach(function (el) {
      var key = el.id || "page";
      var text = el.getAttribute("data-announce");
      if (text && announced[key] !== undefined && announced[key] !== text) {
        live.textContent = text;
      }
      announced[key] = text;
    });
  }

  function focusFirstProblem(root) {
    var target = root.querySelector('[aria-invalid="true"]') || root.querySelector('[role="alert"]');
    if (!target) {
      return;
    }
    if (!target.matches("input, select, textarea, button, a[href]") && !target.hasAttribute("tabindex")) {
      target.setAttribute("tabindex", "-1");
    }
    target.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    announceFrom(document.body);
  });

  document.addEventListener("htmx:afterSettle", function (evt) {
    var d = evt.detail || {};
    var elt = d.elt;
    // After an outerHTML swap the element htmx reports may be the one that
    // left the page; its id finds the one that replaced it.
    if (elt && !elt.isConnected && elt.id) {
      elt = document.getElementById(elt.id);
    }
    if (!elt) {
      return;
    }
    announceFrom(elt);
    var cfg = d.requestConfig || {};
    if (cfg.triggeringEvent && cfg.triggeringEvent.type === "submit") {
      focusFirstProblem(elt);
    }
  });
})();
