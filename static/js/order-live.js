// Live order page: applies the server's pushes (ws/orders/<id>/) to the server-rendered page.
// Without JavaScript the page is complete, it just does not update. The connection is
// live-socket.js's: after a dropped connection it reconnects with exponential backoff, and each
// time the socket opens this script refetches the order, so nothing sent while it was offline
// stays missing. Frames: {"type": "order.updated", "order": {...}} (the JSON of
// GET /api/production/<id>) and {"type": "event.created", "event": {...}}.
// Close codes: 4401/4403/4404 stop for good; 4429 (too many live pages open) retries once a
// minute; anything else (4503: the server lost its Redis, 1011: server error, 1006: network) backs off.
(function () {
  "use strict";

  var root = document.getElementById("order");
  if (!root || !("WebSocket" in window) || !window.LiveSocket) return;

  var FINAL_CODES = { 4401: "Logged out: live updates stopped.", 4403: "Live updates are not available for this order.", 4404: "This order no longer exists." };

  // The customer's words come from the server (production/lifecycle.py): the order's status line,
  // estimate, hold text, progress steps, canceled banner and shipped count with the order itself
  // (statusText, etaText, holdText, progress, canceledText, shippedText), the few fixed ones in the
  // page (CUSTOMER_WORDS). This script has none of its own.
  var words = JSON.parse(document.getElementById("customer-words").textContent);
  var statusLine = document.getElementById("live-status");
  var notice = document.getElementById("action-notice");
  var noticeTimer = null;
  var progress = document.getElementById("progress");
  var timeline = document.getElementById("timeline");
  var lastUpdatedAt = Date.parse(root.dataset.updatedAt) || 0;
  var showStatus = LiveSocket.statusLine(statusLine);

  function field(name) {
    return root.querySelector('[data-field="' + name + '"]');
  }

  function formatTime(iso) {
    var date = new Date(iso);
    return isNaN(date) ? iso : date.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  }

  function localizeTimes(scope) {
    scope.querySelectorAll("time[datetime]").forEach(function (node) {
      node.textContent = formatTime(node.getAttribute("datetime"));
    });
  }

  // An action's confirmation ("Thank you: proof 1 approved…"): beside the live badge, never in
  // its place, and gone after a few seconds.
  function confirmAction(text) {
    if (!notice) return;
    window.clearTimeout(noticeTimer);
    notice.textContent = text;
    notice.hidden = false;
    // Gone at once, not faded out: text fading to nothing fails the contrast check while it
    // fades (axe saw it mid-fade in the journey test).
    noticeTimer = window.setTimeout(function () { notice.hidden = true; }, 7000);
  }

  // The server's words for a field, if the order brought them (JSON cached by a previous release
  // may not have them yet: what is shown then stays).
  function showText(node, text) {
    if (typeof text === "string") node.textContent = text;
  }

  function renderProgress(order) {
    progress.classList.toggle("stopped", order.orderStatus === "canceled");
    if (!Array.isArray(order.progress)) return;
    progress.replaceChildren.apply(progress, order.progress.map(function (step) {
      var li = document.createElement("li");
      li.dataset.step = step.step;
      li.className = step.state;
      if (step.state === "current") li.setAttribute("aria-current", "step");
      li.textContent = step.label;
      return li;
    }));
  }

  function eventItem(event) {
    var isMessage = event.metadata && event.metadata.field === "message";
    var li = document.createElement("li");
    li.dataset.eventId = event.id;
    if (isMessage) li.className = "message";
    var time = document.createElement("time");
    time.setAttribute("datetime", event.occurredAt);
    time.textContent = formatTime(event.occurredAt);
    var message = document.createElement("span");
    message.textContent = event.message || "";
    li.append(time, " ");
    if (isMessage) {
      var from = document.createElement("strong");
      from.textContent = words.message_from_shop;
      li.append(from, " ");
    }
    li.append(message);
    return li;
  }

  // Newest first, as the server renders it.
  function addEvent(event) {
    if (timeline.querySelector('li[data-event-id="' + CSS.escape(String(event.id)) + '"]')) return;
    timeline.prepend(eventItem(event));
  }

  // --- shipments: the section is rendered from order.shipments / order.shippedQuantity ------
  var shipmentSection = document.getElementById("shipment-section");

  function formatDate(isoDate) {
    var parts = String(isoDate).split("-");
    var date = new Date(Number(parts[0]), Number(parts[1]) - 1, Number(parts[2]));
    return isNaN(date) ? isoDate : date.toLocaleDateString([], { dateStyle: "medium" });
  }

  function shipmentItem(shipment) {
    var li = document.createElement("li");
    li.dataset.shipmentId = shipment.id;
    var what = document.createElement("strong");
    if (shipment.kind === "pickup") {
      what.textContent = words.shipment_picked_up;
      li.append(what);
    } else {
      what.textContent = shipment.carrierName || shipment.carrier;
      var number;
      if (shipment.trackingUrl) {
        number = document.createElement("a");
        number.className = "tracking-link";
        number.href = shipment.trackingUrl;
        number.target = "_blank";
        number.rel = "noopener noreferrer";
      } else {
        number = document.createElement("span");
        number.className = "tracking-number";
      }
      number.textContent = shipment.trackingNumber;
      li.append(what, " ", number);
    }
    var when = document.createElement("span");
    when.className = "muted";
    var day = document.createElement("span");
    day.className = "shipped-on";
    day.dataset.date = shipment.shippedOn;
    day.textContent = formatDate(shipment.shippedOn);
    when.append("· " + (shipment.kind === "pickup" ? "" : words.shipment_shipped + " "), day);
    var items = document.createElement("span");
    items.className = "shipment-items";
    items.textContent = (shipment.items || []).map(function (item) {
      return item.quantity + " × " + item.size;
    }).join(", ");
    li.append(" ", when, " · ", items);
    return li;
  }

  function renderShipments(order) {
    if (!shipmentSection || !order.shipments) return;
    var shipments = order.shipments;
    var pickupWaiting = Boolean(order.pickupReadyAt) && order.orderStatus === "in_production";
    shipmentSection.hidden = shipments.length === 0 && !pickupWaiting;
    document.getElementById("pickup-banner").hidden = !pickupWaiting;
    if (typeof order.shippedText === "string") {
      document.getElementById("shipped-progress").hidden = !order.shippedText;
      field("shipped").textContent = order.shippedText;
    }
    var list = document.getElementById("shipment-list");
    list.replaceChildren.apply(list, shipments.map(shipmentItem));
  }

  // --- artwork proofs: the section is rendered from order.proofs / order.proofWaiting ---------
  var proofSection = document.getElementById("proof-section");
  var proofLabels = JSON.parse(document.getElementById("proof-state-labels").textContent);

  function proofUrl(template, revision) {
    return template.replace("/proofs/0/", "/proofs/" + encodeURIComponent(revision) + "/");
  }

  function proofItem(proof) {
    var li = document.createElement("li");
    li.dataset.revision = proof.revision;
    var link = document.createElement("a");
    link.href = proof.url;
    link.target = "_blank";
    link.rel = "noopener";
    link.textContent = "Proof " + proof.revision;
    var badge = document.createElement("span");
    badge.className = "badge proof-" + proof.state;
    badge.textContent = proofLabels[proof.state] || proof.state;
    li.append(link, " ", badge);
    if (proof.decidedVia === "phone") {
      var phone = document.createElement("span");
      phone.className = "muted";
      phone.textContent = "(by phone)";
      li.append(" ", phone);
    }
    if (proof.comment) {
      var quote = document.createElement("q");
      quote.textContent = proof.comment;
      li.append(" ", quote);
    }
    return li;
  }

  function renderProofs(order) {
    if (!proofSection || !order.proofs) return;
    var proofs = order.proofs;
    proofSection.hidden = proofs.length === 0;
    document.getElementById("proof-history").replaceChildren.apply(
      document.getElementById("proof-history"), proofs.map(proofItem));
    var waiting = null;
    proofs.forEach(function (proof) { if (proof.state === "waiting") waiting = proof; });
    var box = document.getElementById("proof-waiting");
    box.hidden = !(order.proofWaiting && waiting);
    if (box.hidden) return;
    var fileUrl = proofUrl(proofSection.dataset.fileUrl, waiting.revision);
    box.querySelector('[data-proof="revision"]').textContent = waiting.revision;
    box.querySelector('[data-proof="link"]').href = fileUrl;
    var image = box.querySelector('[data-proof="image"]');
    image.hidden = waiting.kind !== "image";
    if (waiting.kind === "image" && image.getAttribute("src") !== fileUrl) image.src = fileUrl;
    image.alt = "Proof " + waiting.revision;
    var confirmImage = box.querySelector('[data-proof="confirm-image"]');
    if (confirmImage) {
      confirmImage.hidden = waiting.kind !== "image";
      if (waiting.kind === "image" && confirmImage.getAttribute("src") !== fileUrl) confirmImage.src = fileUrl;
      confirmImage.alt = image.alt;
      box.querySelector('[data-proof="confirm-revision"]').textContent = waiting.revision;
    }
    box.querySelector('[data-proof="pdf"]').hidden = waiting.kind !== "pdf";
    box.querySelector('[data-proof="notes"]').textContent = waiting.notes || "";
    box.querySelectorAll("form[data-proof-form]").forEach(function (form) {
      var action = proofUrl(proofSection.dataset.decisionUrl, waiting.revision);
      if (form.getAttribute("action") !== action) {
        form.setAttribute("action", action);
        form.reset();
      }
    });
  }

  // The decision forms post in the background: the socket's push then shows the outcome, so the
  // page (and anything typed elsewhere on it) stays. Without JavaScript they post as usual.
  // Approving cannot be undone: the proof is shown once more in a dialog that asks first.
  var confirmDialog = document.getElementById("proof-confirm");
  var approveConfirmed = false;
  if (confirmDialog && typeof confirmDialog.showModal === "function") {
    document.getElementById("proof-confirm-yes").addEventListener("click", function () {
      approveConfirmed = true;
      confirmDialog.close();
      var approve = document.getElementById("proof-approve");
      approve.form.requestSubmit(approve);
    });
    document.getElementById("proof-confirm-no").addEventListener("click", function () {
      confirmDialog.close();
    });
  }

  if (proofSection) {
    proofSection.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.matches("form[data-proof-form]")) return;
      var approving = form.elements.decision && form.elements.decision.value === "approve";
      if (approving && confirmDialog && typeof confirmDialog.showModal === "function" && !approveConfirmed) {
        event.preventDefault();
        confirmDialog.showModal();
        document.getElementById("proof-confirm-no").focus();
        return;
      }
      approveConfirmed = false;
      if (!window.fetch) return;
      event.preventDefault();
      var error = document.getElementById("proof-error");
      var buttons = proofSection.querySelectorAll("form[data-proof-form] button");
      buttons.forEach(function (button) { button.disabled = true; });
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { "X-Requested-With": "XMLHttpRequest", Accept: "application/json" }
      })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (result) {
          if (error) {
            error.hidden = result.ok;
            error.textContent = result.ok ? "" : result.body.error || "That did not work.";
          }
          if (result.ok) {
            confirmAction(result.body.message);
            return refetch();  // the push follows too; this covers a socket that is down
          }
        })
        .catch(function () {
          if (error) { error.hidden = false; error.textContent = "Could not send your answer: try again."; }
        })
        .then(function () { buttons.forEach(function (button) { button.disabled = false; }); });
    });
  }

  function applyOrder(order) {
    // A refetch may answer after a newer push: never go back in time.
    var updatedAt = Date.parse(order.updatedAt) || 0;
    if (updatedAt < lastUpdatedAt) return;
    lastUpdatedAt = updatedAt;
    // Other parts of the page follow the order too (the artwork check: artwork-live.js).
    document.dispatchEvent(new CustomEvent("order:updated", { detail: order }));
    root.dataset.orderStatus = order.orderStatus;
    root.dataset.productionStatus = order.status;
    renderProgress(order);
    showText(field("stage"), order.statusText);
    var hold = document.getElementById("hold-banner");
    if (typeof order.holdText === "string") {
      hold.hidden = !order.holdText;
      if (order.holdText) hold.textContent = order.holdText;
    }
    var thanks = document.getElementById("checkout-thanks");
    // The thank-you stays for the payment just confirmed, and goes once the order moves on.
    if (thanks && order.orderStatus === "submitted" && !thanks.dataset.confirmed) {
      thanks.dataset.confirmed = "1";
      thanks.textContent = words.paid_thanks;
    }
    if (thanks && order.orderStatus !== "draft" && order.orderStatus !== "submitted") thanks.hidden = true;
    var canceledCheckout = document.getElementById("checkout-canceled");
    if (canceledCheckout && order.orderStatus !== "draft") canceledCheckout.hidden = true;
    var badge = document.createElement("span");
    badge.className = "badge " + String(order.priority).toLowerCase();
    badge.textContent = order.priority;
    field("priority").replaceChildren(badge);
    var eta = field("eta");
    if (typeof order.etaText === "string") {
      eta.hidden = !order.etaText;
      eta.textContent = order.etaText;
    }
    var canceled = field("canceled");
    if (typeof order.canceledText === "string") {
      canceled.hidden = !order.canceledText;
      canceled.textContent = order.canceledText;
    } else {
      canceled.hidden = order.orderStatus !== "canceled";
    }
    document.getElementById("draft-banner").hidden = order.orderStatus !== "draft";
    (order.events || []).forEach(addEvent);
    renderProofs(order);
    renderShipments(order);
  }

  function refetch() {
    return fetch(root.dataset.apiUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (body) { applyOrder(body.order); })
      .catch(function () { /* the socket still delivers; the next reconnect refetches again */ });
  }

  localizeTimes(root);
  root.querySelectorAll(".shipped-on[data-date]").forEach(function (node) {
    node.textContent = formatDate(node.dataset.date);
  });
  LiveSocket.open({
    path: root.dataset.wsPath,
    isFinal: function (code) { return Boolean(FINAL_CODES[code]); },
    tooManyCode: 4429,
    texts: {
      live: "Live",
      reconnecting: "Connection lost — reconnecting…",
      waiting: "Too many live pages open — close some tabs; live updates resume within a minute.",
      stopped: function (info) { return FINAL_CODES[info.code]; }
    },
    onStatus: showStatus,
    // Subscribed now: whatever changed since the page was rendered (or while offline) is fetched
    // once; later changes arrive as pushes.
    onOpen: function () { refetch(); },
    onMessage: function (frame) {
      if (frame.type === "order.updated") applyOrder(frame.order);
      else if (frame.type === "event.created") addEvent(frame.event);
    }
  });
})();
