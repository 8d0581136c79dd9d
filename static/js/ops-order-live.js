// Live ops order page: when ws/orders/<id>/ pushes a change (the customer answered a proof,
// another operator moved the order), the page's server-rendered parts marked data-live are fetched
// again and swapped in, so buttons, refusals and CSRF tokens stay the server's. A part the
// operator is typing in is left alone, with a note to reload. Without a socket the page simply
// stays as rendered.
(function () {
  "use strict";

  var root = document.getElementById("ops-order");
  if (!root || !("WebSocket" in window) || !window.LiveSocket || !window.fetch || !window.DOMParser) return;

  var pending = null;
  // Once the operator submits a form, the page is about to be replaced by the answer: a refresh
  // now would only race it (and take the flash message meant for the next page).
  var leaving = false;
  // A form marked data-download (the job ticket) answers with a file: the page stays.
  document.addEventListener("submit", function (event) {
    if (!event.target.hasAttribute("data-download")) leaving = true;
  });

  function busy(part) {
    if (part.contains(document.activeElement) && document.activeElement !== document.body) {
      var tag = document.activeElement.tagName;
      if (tag === "TEXTAREA" || tag === "INPUT" || tag === "SELECT") return true;
    }
    return Array.prototype.some.call(part.querySelectorAll("textarea, input[type=file]"), function (f) {
      return f.type === "file" ? f.files && f.files.length > 0 : f.value.trim() !== "";
    });
  }

  function noteStale() {
    if (document.getElementById("ops-stale")) return;
    var note = document.createElement("p");
    note.id = "ops-stale";
    note.className = "live-notice";
    note.setAttribute("role", "status");
    note.append("This order changed while you were typing. ");
    var link = document.createElement("a");
    link.href = window.location.href;
    link.textContent = "Reload the order";
    note.append(link);
    root.prepend(note);
  }

  function refresh() {
    if (pending || leaving) return;
    pending = fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        root.querySelectorAll("[data-live]").forEach(function (part) {
          var replacement = fresh.querySelector('[data-live="' + part.dataset.live + '"]');
          if (!replacement) return;
          if (busy(part)) { noteStale(); return; }
          part.replaceWith(document.importNode(replacement, true));
        });
      })
      .catch(function () { /* the next push tries again */ })
      .then(function () { pending = null; });
  }

  // The connection is live-socket.js's: 4400-4409 (logged out, forbidden, gone) stop; anything
  // else backs off and reconnects.
  LiveSocket.open({
    path: root.dataset.wsPath,
    isFinal: function (code) { return code >= 4400 && code < 4410; },
    onMessage: function (frame) {
      if (frame.type === "order.updated") refresh();
    }
  });
})();
