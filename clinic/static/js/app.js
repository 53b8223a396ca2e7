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
  // A form sent back with something wrong: open the folded sections around the first field
  // marked invalid and put the cursor there, so the reason beside it is what the user sees
  // (and what a screen reader reads) first. Focusing here also stops `autofocus` elsewhere.
  // A group of boxes (a fieldset) points at its reason instead: its first box takes the cursor.
  var invalid = document.querySelector('[aria-invalid=true], fieldset[aria-describedby*="-error"]');
  if (invalid) {
    for (var fold = invalid.closest("details"); fold; fold = fold.parentElement.closest("details")) {
      fold.open = true;
    }
    if (invalid.tagName === "FIELDSET") {
      invalid = invalid.querySelector("input[type=checkbox], input[type=radio]") || invalid;
    }
    invalid.focus();
  }
  // Buttons marked data-print open the browser's print dialog (labels, day lists).
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-print]")) {
      window.print();
    }
  });
})();
