// Searchable pickers: a checkbox list ([data-picker]) gets a filter box that hides the options
// not matching what is typed (chosen ones stay in view). Without this file the list still works.
(function () {
  "use strict";
  function words(text) { return text.toLowerCase().replace(/\s+/g, " ").trim(); }
  document.querySelectorAll("[data-picker]").forEach(function (picker) {
    var box = picker.querySelector("[data-picker-filter]");
    var input = box && box.querySelector("input");
    var status = picker.querySelector("[data-picker-status]");
    var options = Array.prototype.slice.call(picker.querySelectorAll("[data-picker-option]"));
    if (!input) { return; }
    box.hidden = false;
    function chosen() {
      return options.filter(function (o) { return o.querySelector("input").checked; }).length;
    }
    function update() {
      var wanted = words(input.value);
      var shown = 0;
      options.forEach(function (option) {
        var match = !wanted || words(option.textContent).indexOf(wanted) >= 0;
        var keep = match || option.querySelector("input").checked;
        option.hidden = !keep;
        if (match) { shown += 1; }
      });
      if (status) {
        status.textContent = (wanted ? shown + " matching · " : "") + chosen() + " chosen";
      }
    }
    input.addEventListener("input", update);
    // Enter in the filter box must not send the form.
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); }
    });
    picker.addEventListener("change", update);
    update();
  });
})();
