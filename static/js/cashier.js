// The recharge page's tile highlight: a typed amount equal to a preset
// chooses that tile, any other amount lets go of every tile and marks the
// typed box instead; pressing a tile empties the typed box, which the
// server would otherwise prefer. The server renders the same highlight
// from the amount it previews, so the page works without this file. An
// external file because our CSP forbids inline script.
(function () {
  // fen reads a typed amount as the server does: yuan with at most two
  // decimals; anything else is no amount (NaN).
  function fen(text) {
    var m = /^\s*(\d{1,9})(?:\.(\d{0,2}))?\s*$/.exec(text);
    if (!m) {
      return NaN;
    }
    return parseInt(m[1], 10) * 100 + parseInt(((m[2] || "") + "00").slice(0, 2), 10);
  }
  function follow(form) {
    var input = form.querySelector("#custom-amount");
    var box = form.querySelector("[data-custom-box]");
    if (!input || !box) {
      return;
    }
    var typed = input.value.trim();
    var want = fen(typed);
    var matched = false;
    form.querySelectorAll('input[type="radio"][name="amount"]').forEach(function (r) {
      var hit = typed !== "" && !r.disabled && parseInt(r.dataset.fen, 10) === want;
      if (typed !== "") {
        r.checked = hit;
      }
      matched = matched || hit;
    });
    box.dataset.active = String(typed !== "" && !matched);
  }
  document.addEventListener(
    "input",
    function (e) {
      if (e.target && e.target.id === "custom-amount") {
        var form = e.target.closest("form[data-cashier]");
        if (form) {
          follow(form);
        }
      }
    },
    true
  );
  // A pressed tile or method fires both input and change, and the form's
  // preview listens to both (input is for typing, after a pause). So each
  // press asked for two previews, and the second replaced the pay bar a
  // moment after the first had settled: a press on 立即充值 in between
  // landed on a button about to go. A choice is previewed on change alone.
  document.addEventListener(
    "input",
    function (e) {
      var t = e.target;
      if (t && (t.type === "radio" || t.type === "checkbox") && t.closest("form[data-cashier]")) {
        e.stopPropagation();
      }
    },
    true
  );
  // Capture phase: the typed box is emptied before htmx, listening on the
  // form, reads the form for the preview.
  document.addEventListener(
    "change",
    function (e) {
      var t = e.target;
      if (t && t.name === "amount" && t.type === "radio" && t.checked) {
        var form = t.closest("form[data-cashier]");
        var input = form && form.querySelector("#custom-amount");
        if (input && input.value !== "") {
          input.value = "";
          follow(form);
        }
        var box = form && form.querySelector("[data-custom-box]");
        if (box) {
          box.dataset.active = "false";
        }
      }
    },
    true
  );
})();
