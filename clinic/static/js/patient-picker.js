// The patient picker searches as you type. Without this script it is a plain search form whose
// results are links; with it, the same links appear while typing (from /patients/pick.json).
(function () {
  "use strict";
  var PLACEHOLDER = "__PATIENT__";

  function facts(p) {
    var parts = ["born " + p.born, "MRN " + p.mrn];
    if (p.phone) { parts.push("phone " + p.phone); }
    return parts.join(" \u00b7 ");
  }

  function render(list, status, chooseUrl, patients) {
    list.textContent = "";
    patients.forEach(function (p) {
      var item = document.createElement("li");
      item.className = "list-group-item";
      var link = document.createElement("a");
      link.href = chooseUrl.replace(PLACEHOLDER, encodeURIComponent(String(p.id)));
      link.textContent = "Choose ";
      var hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = p.full_name;
      link.appendChild(hidden);
      var body = document.createElement("div");
      var name = document.createElement("span");
      name.className = "picker-name fw-semibold";
      name.textContent = p.name;
      var more = document.createElement("span");
      more.className = "picker-facts d-block small";
      more.textContent = facts(p);
      body.appendChild(name);
      body.appendChild(more);
      item.appendChild(link);
      item.appendChild(body);
      list.appendChild(item);
    });
    var n = patients.length;
    status.textContent = n + (n >= 10 ? "+" : "") + (n === 1 ? " patient" : " patients") + " found.";
  }

  function setUp(form) {
    if (form.hasAttribute("data-picker-ready")) { return; }  // two pickers load this twice
    form.setAttribute("data-picker-ready", "");
    var input = form.querySelector("[data-picker-input]");
    var section = form.closest("section") || document;
    var list = section.querySelector(".picker-results");
    var status = section.querySelector(".picker-status");
    if (!input || !list || !status) { return; }
    var url = form.getAttribute("data-search-url");
    var chooseUrl = form.getAttribute("data-choose-url");
    var timer = null;
    var asked = "";

    function search() {
      var text = input.value.trim();
      if (text.length < 2 || text === asked) { return; }
      asked = text;
      fetch(url + "?q=" + encodeURIComponent(text), {
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-Requested-With": "fetch" }
      })
        .then(function (response) {
          if (!response.ok || response.redirected) { throw new Error("search failed"); }
          return response.json();
        })
        .then(function (data) {
          if (input.value.trim() === text) { render(list, status, chooseUrl, data.patients); }
        })
        .catch(function () {
          status.textContent = "Could not search just now; press Search to try again.";
          asked = "";
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(search, 250);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown") {
        var first = list.querySelector("a");
        if (first) { event.preventDefault(); first.focus(); }
      }
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-patient-picker]"), setUp);
})();
