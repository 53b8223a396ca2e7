// Pages with several forms (a stage page: record, checklist, time-out, sites, notes) keep what
// was typed in the other forms when one of them is saved, and warn before leaving with changes.
// Forms take part when they carry data-keep-input; the page's key is on [data-unsaved-key].
(function () {
  "use strict";
  var holder = document.querySelector("[data-unsaved-key]");
  if (!holder) { return; }
  var storeKey = "unsaved:" + holder.getAttribute("data-unsaved-key");
  var maxAgeMs = 10 * 60 * 1000;
  var forms = Array.prototype.slice.call(document.querySelectorAll("form[data-keep-input][id]"));
  var submitting = false;

  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      // Passwords are never kept (nor compared): they are typed at the moment of confirming.
      return el.name && ["hidden", "submit", "button", "file", "password"].indexOf(el.type) < 0;
    });
  }
  function keyOf(el) {
    return el.type === "checkbox" || el.type === "radio" ? el.name + "=" + el.value : el.name;
  }
  function valueOf(el) {
    if (el.type === "checkbox" || el.type === "radio") { return el.checked; }
    if (el.multiple) {
      return Array.prototype.filter.call(el.options, function (o) { return o.selected; })
        .map(function (o) { return o.value; });
    }
    return el.value;
  }
  function setValue(el, value) {
    if (el.type === "checkbox" || el.type === "radio") { el.checked = !!value; return; }
    if (el.multiple) {
      Array.prototype.forEach.call(el.options, function (o) { o.selected = value.indexOf(o.value) >= 0; });
      return;
    }
    el.value = value;
  }
  function state(form) {
    var out = {};
    fields(form).forEach(function (el) { out[keyOf(el)] = valueOf(el); });
    return out;
  }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

  var initial = {};
  forms.forEach(function (form) { initial[form.id] = state(form); });
  function changed(form) { return !same(state(form), initial[form.id]); }

  // Bring back what was typed in the other forms before the last save on this page.
  var kept = null;
  try { kept = JSON.parse(window.sessionStorage.getItem(storeKey) || "null"); } catch (e) { kept = null; }
  window.sessionStorage.removeItem(storeKey);
  if (kept && Date.now() - kept.at < maxAgeMs) {
    var restored = false;
    forms.forEach(function (form) {
      var saved = kept.forms[form.id];
      if (!saved) { return; }
      fields(form).forEach(function (el) {
        var key = keyOf(el);
        if (Object.prototype.hasOwnProperty.call(saved, key)) { setValue(el, saved[key]); restored = true; }
      });
      form.classList.add("has-kept-input");
    });
    if (restored) {
      var note = document.getElementById("kept-input-note");
      if (note) { note.hidden = false; }
    }
  }

  document.addEventListener("submit", function (event) {
    var sent = event.target;
    if (event.defaultPrevented || forms.indexOf(sent) < 0) { return; }
    submitting = true;
    var others = {};
    forms.forEach(function (form) {
      if (form !== sent && changed(form)) { others[form.id] = state(form); }
    });
    if (Object.keys(others).length) {
      window.sessionStorage.setItem(storeKey, JSON.stringify({ at: Date.now(), forms: others }));
    }
  });

  window.addEventListener("beforeunload", function (event) {
    if (submitting) { return; }
    if (forms.some(changed)) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();
