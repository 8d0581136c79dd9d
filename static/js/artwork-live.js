// The artwork check on the order pages (customer and ops): while a design is being checked, the
// section is fetched again when the live page hears the order changed ("order:updated", sent by
// order-live.js for each socket frame), and every few seconds as a fallback (which also sees a
// running check's hold on the payment end), until a verdict is there; the server renders it
// (templates/artwork/_preflight_report.html).
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

  // The payment line of the order page follows the check: while the rulebook stops the payment
  // (a running check within its hold, a fail, unread warnings) it says so and offers no payment
  // (not even a checkout started before the check refused it); once the verdict allows it,
  // "Continue to payment" is there at once. The server renders the words (data-pay-waits).
  function followGate() {
    if (section.hasAttribute("data-ops")) return;
    var waits = section.getAttribute("data-pay-waits") || "";
    var note = document.getElementById("pay-waits");
    var offer = document.getElementById("pay-offer");
    if (note) { note.textContent = waits; note.hidden = !waits; }
    if (offer) offer.hidden = Boolean(waits);
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
