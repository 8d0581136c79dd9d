// The production board (/ops/board/). Cards move by drag and drop (a mouse drags the card; a
// finger drags its handle, pointer events) or by each card's "Move to" menu, which is a plain form
// without JavaScript. Either way the move is posted to ops:board-move and the services decide: a
// refused move puts the card back where it was, with the rulebook's reason beside it.
// Live: on each "order.updated" from ws/ops/orders/ that concerns the board, the columns are fetched
// again (the same page with ?fragment=1, one request per burst of changes) and swapped in, keeping
// focus, scroll and any reason shown; never in the middle of a drag or a move.
(function () {
  "use strict";

  var root = document.getElementById("board");
  var holder = document.getElementById("board-columns");
  if (!root || !holder || !window.fetch) return;
  var moveUrl = root.getAttribute("data-move-url");
  // The rulebook's open states (paid, not over: lifecycle.OPEN_STATES), put in the page by the server.
  var openStates = (root.getAttribute("data-open-states") || "").split(" ").filter(Boolean);
  var fragmentUrl = root.getAttribute("data-fragment-url");
  var reasons = {}; // order id -> reason shown, kept across refreshes for a while
  var changed = {}; // order ids pushed since the last refresh (highlighted after it)
  var dragging = null; // {card, parent, next}
  var moving = 0; // moves waiting for the server's answer
  var refreshWanted = false;
  var announcer = document.getElementById("board-announce");
  var announceTimer = null;
  var refocus = ""; // the id to focus once the board is redrawn after a move from the keyboard

  function stageLabel(stage) {
    var heading = document.getElementById("col-" + stage);
    return heading && heading.firstChild ? heading.firstChild.textContent.trim() : stage;
  }

  // A move that worked is said on screen and to screen readers (a polite live region), then the
  // words go after a few seconds; a refusal is said on the card itself.
  function announce(text) {
    if (!announcer) return;
    window.clearTimeout(announceTimer);
    announcer.textContent = text;
    // Cleared at once, not faded out: text fading to nothing fails the contrast check while it
    // fades (as the order page's confirmation did, commit cbc1188). The empty line keeps its
    // height, so the board does not jump.
    announceTimer = window.setTimeout(function () { announcer.textContent = ""; }, 6000);
  }

  function csrf() {
    var field = holder.querySelector('input[name="csrfmiddlewaretoken"]');
    return field ? field.value : "";
  }
  function cardFor(id) {
    return holder.querySelector('.board-card[data-order-id="' + id + '"]');
  }

  function showReason(card, text) {
    var note = card.querySelector(".card-refusal");
    if (!note) return;
    note.textContent = text;
    note.hidden = !text;
    var id = card.getAttribute("data-order-id");
    if (text) {
      reasons[id] = { text: text, until: Date.now() + 15000 };
    } else {
      delete reasons[id];
    }
  }

  // --- moving a card ------------------------------------------------------------------------------
  function move(card, stage, undo) {
    var form = card.querySelector("form.card-move");
    var body = new URLSearchParams(new FormData(form));
    body.set("stage", stage);
    showReason(card, "");
    card.classList.add("pending");
    moving += 1;
    return fetch(moveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), Accept: "application/json" },
      body: body
    })
      .then(function (response) {
        return response.json().catch(function () { return { ok: false, message: "The server did not answer (HTTP " + response.status + ")." }; });
      })
      .catch(function () { return { ok: false, message: "The server did not answer: try again." }; })
      .then(function (answer) {
        moving -= 1;
        card.classList.remove("pending");
        if (answer.ok) {
          card.setAttribute("data-stage", stage);
          announce(card.getAttribute("data-reference") + " moved to " + stageLabel(stage) + ".");
          refreshSoon(0);
        } else {
          if (undo) undo();
          refocus = "";
          showReason(card, answer.message);
          if (refreshWanted) refreshSoon(0);
        }
        return answer;
      });
  }

  function listOf(column) {
    return column.querySelector(".board-cards");
  }

  function dropOn(column, card, origin) {
    var stage = column.getAttribute("data-stage");
    if (!stage || stage === card.getAttribute("data-stage")) {
      origin.parent.insertBefore(card, origin.next);
      return;
    }
    listOf(column).appendChild(card);
    move(card, stage, function () {
      origin.parent.insertBefore(card, origin.next && origin.next.parentNode === origin.parent ? origin.next : null);
    });
  }

  // The "Move to" menu: the same move, without moving the card first.
  holder.addEventListener("submit", function (event) {
    var form = event.target.closest("form.card-move");
    if (!form) return;
    event.preventDefault();
    var card = form.closest(".board-card");
    var button = event.submitter;
    var stage = button && button.name === "stage" ? button.value : "";
    if (!stage || stage === card.getAttribute("data-stage")) return;
    var menu = form.closest("details");
    if (menu) menu.open = false;
    // Focus stays with the card: on its menu now, and again once the board is redrawn.
    refocus = "menu-" + card.getAttribute("data-order-id");
    var summary = document.getElementById(refocus);
    if (summary) summary.focus();
    move(card, stage, null);
  });

  // Mouse: HTML5 drag and drop on the whole card.
  holder.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".board-card");
    if (!card) return;
    dragging = { card: card, parent: card.parentNode, next: card.nextSibling };
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-reference"));
  });
  holder.addEventListener("dragend", function () {
    if (dragging) dragging.card.classList.remove("dragging");
    clearTargets();
    dragging = null;
    if (refreshWanted && !moving) refreshSoon(0);
  });
  holder.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (!dragging || !column) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    target(column);
  });
  holder.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (!dragging || !column) return;
    event.preventDefault();
    var origin = dragging;
    origin.card.classList.remove("dragging");
    clearTargets();
    dropOn(column, origin.card, origin);
  });

  function target(column) {
    holder.querySelectorAll(".board-column.drop-target").forEach(function (other) {
      if (other !== column) other.classList.remove("drop-target");
    });
    if (column) column.classList.add("drop-target");
  }
  function clearTargets() { target(null); }

  // Touch and pen: drag by the card's handle (touch-action: none there, so the page still scrolls
  // everywhere else), following the pointer; the column under the finger takes the card.
  holder.addEventListener("pointerdown", function (event) {
    var handle = event.target.closest && event.target.closest(".drag-handle");
    if (!handle || event.pointerType === "mouse") return;
    var card = handle.closest(".board-card");
    event.preventDefault();
    handle.setPointerCapture(event.pointerId);
    var origin = { card: card, parent: card.parentNode, next: card.nextSibling };
    dragging = origin;
    card.classList.add("dragging");
    function columnAt(x, y) {
      var under = document.elementFromPoint(x, y);
      return under && under.closest ? under.closest(".board-column") : null;
    }
    function onMove(moveEvent) { target(columnAt(moveEvent.clientX, moveEvent.clientY)); }
    function onUp(upEvent) {
      handle.removeEventListener("pointermove", onMove);
      handle.removeEventListener("pointerup", onUp);
      handle.removeEventListener("pointercancel", onUp);
      card.classList.remove("dragging");
      clearTargets();
      dragging = null;
      var column = upEvent.type === "pointerup" ? columnAt(upEvent.clientX, upEvent.clientY) : null;
      if (column) dropOn(column, card, origin);
      if (refreshWanted && !moving) refreshSoon(0);
    }
    handle.addEventListener("pointermove", onMove);
    handle.addEventListener("pointerup", onUp);
    handle.addEventListener("pointercancel", onUp);
  });

  // --- live refresh -------------------------------------------------------------------------------
  var timer = null;
  var loading = false;
  function refreshSoon(delay) {
    refreshWanted = true;
    if (timer || loading) return;
    timer = setTimeout(refresh, delay);
  }
  function refresh() {
    timer = null;
    if (dragging || moving) return; // dragend / the move's answer asks again
    refreshWanted = false;
    loading = true;
    fetch(fragmentUrl, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        if (dragging || moving) { refreshWanted = true; return; }
        swap(html);
      })
      .catch(function () { /* the next change tries again */ })
      .then(function () {
        loading = false;
        if (refreshWanted && !timer) refreshSoon(300);
      });
  }

  function swap(html) {
    var focused = document.activeElement && holder.contains(document.activeElement) ? document.activeElement.id : "";
    var scrolls = {};
    holder.querySelectorAll(".board-column").forEach(function (column) {
      scrolls[column.getAttribute("data-stage")] = column.scrollTop;
    });
    var scrollX = holder.scrollLeft;
    holder.innerHTML = html;
    holder.scrollLeft = scrollX;
    holder.querySelectorAll(".board-column").forEach(function (column) {
      column.scrollTop = scrolls[column.getAttribute("data-stage")] || 0;
    });
    var now = Date.now();
    Object.keys(reasons).forEach(function (id) {
      var card = cardFor(id);
      if (reasons[id].until < now || !card) { delete reasons[id]; return; }
      var note = card.querySelector(".card-refusal");
      note.textContent = reasons[id].text;
      note.hidden = false;
    });
    Object.keys(changed).forEach(function (id) {
      var card = cardFor(id);
      if (card) card.classList.add("updated");
    });
    changed = {};
    if (refocus) focused = refocus;
    refocus = "";
    if (focused) {
      var again = document.getElementById(focused);
      if (again) again.focus({ preventScroll: true });
    }
  }

  // Drafts (unpaid) are not on the board; a final order matters only if its card is shown.
  function concernsBoard(order) {
    if (!order || !order.id) return false;
    if (cardFor(order.id)) return true;
    return openStates.indexOf(order.orderStatus) >= 0;
  }

  // The connection is live-socket.js's. A refusal (44xx but 4429) stops, without a word; anything
  // else, 4429 (too many live pages open) included, backs off, up to 30 s, and keeps trying.
  if (!("WebSocket" in window) || !window.LiveSocket) return;
  LiveSocket.open({
    path: "/ws/ops/orders/",
    firstRetryMs: 2000,
    isFinal: function (code) { return code >= 4400 && code < 4500 && code !== 4429; },
    texts: {
      live: "Live",
      reconnecting: function (info) {
        return info.attempt <= 5 ? "Reconnecting…" : "Not live: reconnecting (reload to see changes)";
      },
      stopped: null
    },
    onStatus: LiveSocket.statusLine(document.getElementById("live-status")),
    onOpen: function (reconnected) {
      if (reconnected) refreshSoon(0); // changes made while the socket was down
    },
    onMessage: function (data) {
      if (data.type !== "order.updated" || !concernsBoard(data.order)) return;
      changed[data.order.id] = true;
      refreshSoon(200 + Math.random() * 300);
    }
  });
})();
