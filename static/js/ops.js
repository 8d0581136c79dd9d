// Live rows for /ops/orders: when the ws/ops/orders/ socket is there, each "order.updated"
// message refreshes the matching row's state, production status and priority. A row that no
// longer matches the page's filters is marked, not removed (the operator may be about to click
// it); an order that changed to match them but is not on the page is counted in a notice with a
// reload link. The tab counts and "N matching" are fetched again (ops/orders/counts, same query
// string) shortly after orders change, once per burst. Without a socket (not deployed, refused,
// dropped) the page simply stays as the server rendered it.
(function () {
  "use strict";

  var table = document.querySelector("#ops-orders table.orders");
  if (!table) return;

  // "Select every order on this page": only useful with JavaScript, so only shown with it.
  var selectPage = document.getElementById("select-page");
  if (selectPage) {
    selectPage.hidden = false;
    selectPage.addEventListener("change", function () {
      table.querySelectorAll('input[name="ids"]').forEach(function (box) {
        box.checked = selectPage.checked;
      });
    });
  }

  if (!("WebSocket" in window) || !window.LiveSocket) return;
  var labels = { status: {}, priority: {} };
  try {
    labels = JSON.parse(document.getElementById("ops-labels").textContent);
  } catch (e) { /* labels are a nicety: raw values are shown instead */ }

  function setText(row, field, text) {
    var cell = row.querySelector('[data-field="' + field + '"]');
    if (cell && text != null) cell.textContent = text;
    return cell;
  }

  // The filters a pushed order can be checked against (search and dates need the server).
  var params = new URLSearchParams(window.location.search);
  function wanted(name) {
    return params.getAll(name).filter(function (value) { return value !== ""; });
  }
  var filters = {
    status: wanted("status"),
    productionStatus: wanted("productionStatus"),
    priority: wanted("priority")
  };
  function matches(order) {
    function ok(allowed, value) { return !allowed.length || allowed.indexOf(value) >= 0; }
    return ok(filters.status, order.orderStatus) &&
      ok(filters.productionStatus, order.status) &&
      ok(filters.priority, String(order.priority || "").toLowerCase());
  }

  var elsewhere = {};
  function noticeChangeElsewhere(order) {
    elsewhere[order.id] = true;
    var count = Object.keys(elsewhere).length;
    var notice = document.getElementById("ops-elsewhere");
    if (!notice) {
      notice = document.createElement("p");
      notice.id = "ops-elsewhere";
      notice.className = "live-notice";
      notice.setAttribute("role", "status");
      var text = document.createElement("span");
      var reload = document.createElement("a");
      reload.href = window.location.href;
      reload.textContent = "Show the latest list";
      notice.appendChild(text);
      notice.appendChild(document.createTextNode(" "));
      notice.appendChild(reload);
      table.closest(".table-wrap").before(notice);
    }
    notice.firstChild.textContent = count === 1
      ? "1 more order may match these filters now."
      : count + " more orders may match these filters now.";
  }

  function markMatch(row, order) {
    var stale = !matches(order);
    row.classList.toggle("stale", stale);
    var note = row.querySelector(".stale-note");
    if (stale && !note) {
      note = document.createElement("span");
      note.className = "stale-note";
      note.textContent = "No longer matches these filters";
      row.querySelector("td:nth-child(2)").appendChild(note);
    } else if (!stale && note) {
      note.remove();
    }
  }

  function update(order) {
    if (!order || !order.id) return;
    var row = table.querySelector('tr[data-order-id="' + order.id + '"]');
    if (!row) {
      if (matches(order)) noticeChangeElsewhere(order);
      return;
    }
    // One status, in the server's words for operators (opsStatusText, on the operators' frames).
    var stateCell = row.querySelector('[data-field="status"]');
    if (stateCell) {
      stateCell.setAttribute("data-value", order.orderStatus);
      var words = typeof order.opsStatusText === "string" ? order.opsStatusText : labels.status[order.orderStatus] || order.orderStatus;
      stateCell.textContent = "";
      var text = document.createElement("span");
      text.setAttribute("data-field", "status-text");
      text.textContent = words;
      stateCell.appendChild(text);
      if (order.opsChangesRequested) {
        var asked = document.createElement("span");
        asked.className = "badge changes";
        asked.textContent = labels.changesRequested || "Changes requested";
        stateCell.append(" ", asked);
      }
    }
    var priority = row.querySelector('[data-field="priority"]');
    if (priority && order.priority) {
      priority.textContent = "";
      row.classList.remove("rush", "held", "draft");
      if (order.orderStatus === "draft") {
        // An unpaid draft has no rush or due time yet.
        var none = document.createElement("span");
        none.className = "muted";
        none.textContent = "—";
        priority.appendChild(none);
        row.classList.add("draft");
      } else if (order.priority === "Rush" || order.priority === "Hold") {
        var badge = document.createElement("span");
        var rush = order.priority === "Rush";
        badge.className = "badge " + (rush ? "rush" : "hold");
        badge.textContent = rush ? "Rush" : "On hold";
        priority.appendChild(badge);
        row.classList.add(rush ? "rush" : "held");
      } else {
        priority.textContent = order.priority;
      }
    }
    markMatch(row, order);
    row.classList.remove("updated");
    void row.offsetWidth; // restart the highlight animation
    row.classList.add("updated");
  }

  // Counts: a push says what one order is now, not what it was, so the list's counts cannot be
  // adjusted here (search and dates filter too); the server counts them again. One request per
  // burst of pushes (a bulk change sends many), after a short random wait so that every open
  // list does not ask in the same instant.
  var countsUrl = document.getElementById("ops-orders").getAttribute("data-counts-url");
  var countsTimer = null;
  function refreshCounts() {
    if (!countsUrl || !window.fetch || countsTimer) return;
    countsTimer = setTimeout(function () {
      countsTimer = null;
      fetch(countsUrl + window.location.search, {
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (counts) {
          if (!counts) return;
          document.querySelectorAll(".tabs .tab[data-state]").forEach(function (tab) {
            var count = tab.querySelector(".count");
            var value = counts.tabs[tab.getAttribute("data-state")];
            if (count && value != null) count.textContent = value;
          });
          document.querySelectorAll('[data-count="matching"]').forEach(function (el) {
            el.textContent = counts.matching;
          });
        })
        .catch(function () { /* counts stay as they were; the next change tries again */ });
    }, 500 + Math.random() * 1000);
  }

  // The connection is live-socket.js's. 4429 (this operator has too many live pages open) is
  // retried in a minute; other 44xx (no access, not deployed here) stop, without a word; anything
  // else (4503: the server lost Redis; 1011, 1006: error, network) backs off, up to 30 s, and
  // keeps trying, so the list is live again once the server is.
  LiveSocket.open({
    path: "/ws/ops/orders/",
    firstRetryMs: 2000,
    tooManyCode: 4429,
    isFinal: function (code) { return code >= 4400 && code < 4500; },
    texts: {
      // Pushes missed while the socket was down are not replayed: say so rather than look current.
      live: function (info) {
        return info.reconnected ? "Live (reload for changes made while it was down)" : "Live";
      },
      reconnecting: function (info) {
        return info.attempt <= 5 ? "Reconnecting…" : "Not live: reconnecting (reload to see changes)";
      },
      waiting: "Not live: too many live pages open (close some tabs); retrying in a minute",
      stopped: null
    },
    onStatus: LiveSocket.statusLine(document.getElementById("live-status")),
    onOpen: function (reconnected) {
      if (reconnected) refreshCounts();
    },
    onMessage: function (data) {
      try {
        if (data.type === "order.updated") {
          update(data.order);
          refreshCounts();
        }
      } catch (e) { /* ignore what we do not understand */ }
    }
  });
})();
