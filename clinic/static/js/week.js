// The week grid: one move form for the whole page. A visit's "Move" (a link to its reschedule
// page without scripts) opens that form in a dialog, filled in with the visit; dragging a
// booked visit onto free time fills in the same form with the free slot and sends it. Either
// way the server runs the same clash and working-hours checks.
(function () {
  "use strict";
  var dialog = document.getElementById("move-dialog");
  var form = document.getElementById("move-form");
  if (!dialog || !form || typeof dialog.showModal !== "function") { return; }
  var opener = null;
  var dragged = null;

  function visitOf(id) { return document.querySelector('[data-move-visit="' + id + '"]'); }

  // Point the shared form at this visit: its address, version, and where it is now.
  function fill(visit) {
    var id = visit.getAttribute("data-move-visit");
    form.action = form.getAttribute("data-action").replace("{id}", id);
    form.elements.version.value = visit.getAttribute("data-version");
    form.elements.provider.value = visit.getAttribute("data-provider");
    form.elements.day.value = visit.getAttribute("data-day");
    form.elements.start.value = visit.getAttribute("data-start");
    var who = visit.querySelector("[data-move-open] .visually-hidden");
    document.getElementById("move-who").textContent = who ? who.textContent.trim() : "";
  }

  function open(link) {
    fill(link.closest("[data-move-visit]"));
    opener = link;
    dialog.showModal();
    form.elements.provider.focus();
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-move-open]"), function (link) {
    link.setAttribute("role", "button");
    link.setAttribute("aria-haspopup", "dialog");
    link.addEventListener("click", function (event) {
      event.preventDefault();
      open(link);
    });
    link.addEventListener("keydown", function (event) {  // a button also answers the space bar
      if (event.key === " ") {
        event.preventDefault();
        open(link);
      }
    });
  });

  dialog.querySelector("[data-move-cancel]").addEventListener("click", function () {
    dialog.close();
  });
  dialog.addEventListener("close", function () {
    if (opener) { opener.focus(); }
    opener = null;
  });

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

  // Today's free time that began earlier starts at the page's "now" (the clinic's clock when
  // the page was served, rounded up to the next five minutes): a time already past is
  // refused.
  function startFrom(slot) {
    var start = slot.getAttribute("data-start");
    var today = form.getAttribute("data-today");
    var now = form.getAttribute("data-now");
    var end = slot.getAttribute("data-end");
    if (today && now && slot.getAttribute("data-day") === today && start < now && now < end) {
      return now;  // (free time that has ended altogether keeps its start, and is refused)
    }
    return start;
  }

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
      var visit = visitOf(event.dataTransfer.getData("text/plain") || dragged);
      if (!visit) { return; }
      fill(visit);
      form.elements.provider.value = slot.getAttribute("data-provider");
      form.elements.day.value = slot.getAttribute("data-day");
      form.elements.start.value = startFrom(slot);
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    });
  });
})();
