// Opens the browser's print dialog from a [data-print] button (the
// receipt's 打印凭证). An external file because our CSP forbids inline script.
(function () {
  document.addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("[data-print]");
    if (b) {
      e.preventDefault();
      window.print();
    }
  });
})();
