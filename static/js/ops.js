// Live rows for /ops/orders: when the ws/ops/orders/ socket is there, each "order.updated"
// message refreshes the matching row's state, production status and priority. Without a socket
// (not deployed, refused, dropped) the page simply stays as the server rendered it.
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

  if (!("WebSocket" in window)) return;
  var labels = { status: {}, priority: {} };
  try {
    labels = JSON.parse(document.getElementById("ops-labels").textContent);
  } catch (e) { /* labels are a nicety: raw values are shown instead */ }

  function setText(row, field, text) {
    var cell = row.querySelector('[data-field="' + field + '"]');
    if (cell && text != null) cell.textContent = text;
    return cell;
  }

  function update(order) {
    if (!order || !order.id) return;
    var row = table.querySelector('tr[data-order-id="' + order.id + '"]');
    if (!row) return;
    var stateCell = setText(row, "status", labels.status[order.orderStatus] || order.orderStatus);
    if (stateCell) stateCell.setAttribute("data-value", order.orderStatus);
    setText(row, "production-status", order.status);
    var priority = row.querySelector('[data-field="priority"]');
    if (priority && order.priority) {
      priority.textContent = "";
      row.classList.remove("rush", "held");
      if (order.priority === "Rush" || order.priority === "Hold") {
        var badge = document.createElement("span");
        var rush = order.priority === "Rush";
        badge.className = "badge " + (rush ? "rush" : "hold");
        badge.textContent = rush ? "Rush" : "\u23F8 On hold";
        priority.appendChild(badge);
        row.classList.add(rush ? "rush" : "held");
      } else {
        priority.textContent = order.priority;
      }
    }
    row.classList.remove("updated");
    void row.offsetWidth; // restart the highlight animation
    row.classList.add("updated");
  }

  var attempts = 0;
  function connect() {
    var socket;
    try {
      var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + window.location.host + "/ws/ops/orders/");
    } catch (e) {
      return;
    }
    socket.onopen = function () { attempts = 0; };
    socket.onmessage = function (message) {
      try {
        var data = JSON.parse(message.data);
        if (data.type === "order.updated") update(data.order);
      } catch (e) { /* ignore what we do not understand */ }
    };
    socket.onerror = function () { /* onclose follows; nothing to tell the operator */ };
    socket.onclose = function (event) {
      // 44xx: refused (no access, not deployed here) — do not knock again.
      if (event.code >= 4400 && event.code < 4500) return;
      attempts += 1;
      if (attempts <= 5) setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, attempts)));
    };
  }
  connect();
})();
