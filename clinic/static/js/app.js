// Site-wide behaviour, loaded as a file (the CSP allows no inline scripts).
(function () {
  "use strict";
  // Forms marked data-confirm ask before they are sent.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    // One click sends a form once: disable its buttons until the next page loads.
    if (!event.defaultPrevented) {
      form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (b) {
        window.setTimeout(function () { b.disabled = true; }, 0);
      });
    }
  });
  // Buttons marked data-print open the browser's print dialog (labels, day lists).
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) {
      window.print();
    }
  });
})();
