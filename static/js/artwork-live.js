// The artwork check on the order pages (customer and ops): while a design is being checked, the
// section is fetched again when the live page hears the order changed ("order:updated", sent by
// order-live.js for each socket frame), and every few seconds as a fallback, until a verdict
// is there; the server renders it (templates/artwork/_preflight_report.html).
(function () {
  "use strict";
  var section = document.getElementById("artwork-check");
  if (!section) return;
  var url = section.getAttribute("data-fragment-url");
  if (section.hasAttribute("data-ops")) url += "?ops=1";
  var busy = false;

  function refresh() {
    if (busy) return;
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        busy = false;
        if (!html) return;
        var holder = document.createElement("div");
        holder.innerHTML = html.trim();
        var fresh = holder.querySelector("#artwork-check");
        if (!fresh) return;
        section.replaceWith(fresh);
        section = fresh;
        followGate();
      })
      .catch(function () { busy = false; });
  }

  // A checkout started before the check refused it: its link is not offered while it refuses
  // (the Pay form goes through the server, which says why).
  function followGate() {
    var link = document.getElementById("checkout-link");
    if (link) link.hidden = section.classList.contains("artwork-blocked");
  }
  followGate();

  function pending() { return section.getAttribute("data-verdict") === "pending"; }

  document.addEventListener("order:updated", function (event) {
    var preflight = event.detail && event.detail.preflight;
    if (!preflight || preflight.verdict !== section.getAttribute("data-verdict")) refresh();
  });
  var timer = window.setInterval(function () {
    if (pending()) refresh(); else window.clearInterval(timer);
  }, 3000);
})();
