// The day board refreshes its rows without a full reload. The rows come from a view marked
// passive on the server, so the polling never keeps an idle session alive.
(function () {
  "use strict";
  var table = document.getElementById("day-board");
  if (!table) { return; }
  var url = table.getAttribute("data-refresh-url");
  var seconds = parseInt(table.getAttribute("data-refresh-seconds"), 10) || 30;
  var status = document.getElementById("board-updated");

  function busy() {
    // Do not pull the rows away from someone using a button in them.
    var rows = document.getElementById("day-board-rows");
    return rows && rows.contains(document.activeElement) && document.activeElement !== document.body;
  }

  function refresh() {
    if (document.hidden || busy()) { return; }
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then(function (response) {
        if (response.redirected || !response.ok) {
          // Signed out (idle limit) or an error: reload so the person sees why.
          if (response.redirected) { window.location.reload(); }
          throw new Error("board refresh failed: " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString("<table>" + html + "</table>", "text/html");
        var fresh = doc.getElementById("day-board-rows");
        var current = document.getElementById("day-board-rows");
        if (fresh && current) {
          current.replaceWith(fresh);
          if (status) {
            status.textContent = "Updated " + new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + ". This board updates itself every " + seconds + " seconds.";
          }
        }
      })
      .catch(function () {
        if (status) { status.textContent = "Could not update the board; it will try again."; }
      });
  }

  window.setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });
  window.boardRefresh = refresh;  // lets tests trigger a refresh without waiting
})();
