// Keeps the gift form's "quantity × unit price = total" line current as the
// person picks a gift and types a quantity. The server renders the line
// (and asks to confirm a large total before sending), so without script
// nothing is lost. An external file because our CSP forbids inline script;
// listening on the document also covers a form htmx swapped in.
(function () {
  function yuan(fen) {
    // As wallet.Money.String formats it on the server: thousands grouped
    // with commas, two decimals, in both languages.
    var s = (fen / 100).toFixed(2).split(".");
    return "¥" + s[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + s[1];
  }
  function update(form) {
    var line = form.querySelector("[data-gift-total]");
    if (!line) {
      return;
    }
    var chosen = form.querySelector('input[name="gift"]:checked');
    var unit = chosen ? parseInt(chosen.dataset.fen, 10) || 0 : 0;
    var qty = parseInt(form.querySelector('input[name="quantity"]').value, 10);
    if (!(qty >= 1 && qty <= 99)) {
      qty = 0;
    }
    line.querySelector("[data-gift-total-unit]").textContent = yuan(unit);
    line.querySelector("[data-gift-total-qty]").textContent = String(qty);
    line.querySelector("[data-gift-total-sum]").textContent = yuan(unit * qty);
  }
  function onChange(e) {
    var form = e.target.closest && e.target.closest("#gift-form");
    if (form) {
      update(form);
    }
  }
  document.addEventListener("input", onChange);
  document.addEventListener("change", onChange);
})();
