// The live balance (views/components/live.templ). htmx's SSE extension
// swaps the header's balance and appends toasts; this file does the rest,
// as an external file because our CSP forbids inline script:
//  - copies each new balance to the account center's own figure
//    (data-live-mirror), which lies outside the stream's element;
//  - lets each toast fade after a while (the line stays in the history);
//  - polls lightly where the browser has no EventSource, or once the server
//    closed the stream (it says "bye" on shutdown, or when the session
//    ended): a poll answered with anything but 200 stops polling.
(function () {
  "use strict";
  var POLL_MS = 30000;
  var TOAST_MS = 8000;

  function live() {
    return document.getElementById("live");
  }

  // apply shows a balance fragment (<span data-live-amount data-fen=…>) in
  // the header and in every mirror.
  function apply(html, intoHeader) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var amount = doc.querySelector("[data-live-amount]");
    if (!amount) {
      return;
    }
    if (intoHeader) {
      var header = document.getElementById("live-balance");
      if (header) {
        header.replaceChildren(document.importNode(amount, true));
      }
    }
    var fen = amount.getAttribute("data-fen");
    document.querySelectorAll("[data-live-mirror=balance]").forEach(function (el) {
      el.textContent = amount.textContent;
      el.setAttribute("data-fen", fen);
    });
    // A notice true only below an amount (余额为 ¥0.00, the low-balance
    // reminder) goes once the balance is no longer below it.
    document.querySelectorAll("[data-live-below]").forEach(function (el) {
      el.hidden = !(Number(fen) < Number(el.getAttribute("data-live-below")));
    });
  }

  var polling = null;
  function poll() {
    var el = live();
    var url = el && el.getAttribute("data-live-poll");
    if (!url || polling) {
      return;
    }
    state("polling");
    polling = window.setInterval(function () {
      fetch(url, { credentials: "same-origin", redirect: "manual", headers: { Accept: "text/html" } })
        .then(function (r) {
          if (r.status !== 200) {
            window.clearInterval(polling);
            return "";
          }
          return r.text();
        })
        .then(function (html) {
          if (html) {
            apply(html, true);
          }
        })
        .catch(function () {
          // Offline for a moment: the next beat tries again.
        });
    }, POLL_MS);
  }

  document.addEventListener("htmx:sseMessage", function (e) {
    var type = e.detail && e.detail.type;
    if (type === "balance") {
      apply(e.detail.data, false);
    } else if (type === "toast") {
      var region = document.getElementById("live-toasts");
      var last = region && region.lastElementChild;
      if (last) {
        window.setTimeout(function () {
          last.remove();
        }, TOAST_MS);
      }
    }
  });
  // data-live-state says where the page stands ("open": following the
  // stream, "polling"), for people's tools and the browser tests.
  function state(s) {
    var el = live();
    if (el) {
      el.setAttribute("data-live-state", s);
    }
  }
  document.addEventListener("htmx:sseOpen", function () {
    state("open");
  });
  document.addEventListener("htmx:sseClose", function (e) {
    // "message": the server said bye. Not a page being left or swapped.
    if (e.detail && e.detail.type === "message") {
      poll();
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    if (!("EventSource" in window)) {
      poll();
    }
  });
})();
