// Submits the provider form on pages that carry one (the card payment
// page): an external file because our CSP forbids inline script. Without
// JavaScript the person presses the visible button instead.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.querySelector("form[data-autosubmit]");
  if (form) {
    form.submit();
  }
});
