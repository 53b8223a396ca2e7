// The week grid: drag a booked visit onto free time to move it there. The drop fills in the
// visit's own move form (the same form a keyboard user fills in) and sends it, so the server
// runs the same clash and working-hours checks either way.
(function () {
  "use strict";
  var dragged = null;

  Array.prototype.forEach.call(document.querySelectorAll("[data-move-visit]"), function (visit) {
    visit.addEventListener("dragstart", function (event) {
      dragged = visit.getAttribute("data-move-visit");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged);
      visit.classList.add("dragging");
    });
    visit.addEventListener("dragend", function () {
      visit.classList.remove("dragging");
      dragged = null;
    });
  });

  Array.prototype.forEach.call(document.querySelectorAll("[data-drop-slot]"), function (slot) {
    slot.addEventListener("dragover", function (event) {
      if (dragged === null) { return; }
      event.preventDefault();
      slot.classList.add("drop-here");
    });
    slot.addEventListener("dragleave", function () { slot.classList.remove("drop-here"); });
    slot.addEventListener("drop", function (event) {
      event.preventDefault();
      slot.classList.remove("drop-here");
      var id = event.dataTransfer.getData("text/plain") || dragged;
      var form = document.getElementById("move-" + id);
      if (!form) { return; }
      form.elements.provider.value = slot.getAttribute("data-provider");
      form.elements.day.value = slot.getAttribute("data-day");
      form.elements.start.value = slot.getAttribute("data-start");
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    });
  });
})();
