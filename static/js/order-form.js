// The order form (/orders/new/), improved when JavaScript runs; without it the form works as is
// (the page is rendered for one garment's sizes, and "Update price" asks the server for the price).
// - Switching the garment swaps the size fields in place (each garment's sizes come from the
//   server as JSON: #garment-sizes), keeping quantities typed for sizes both garments share.
// - The price follows what is typed: the server's own pricing (GET /orders/new/price), debounced,
//   so the price shown is the checkout total.
// - Submitting disables the button ("Starting checkout…"): no double submit from a double click.
//   The server's idempotency token remains the real guard.
(function () {
  "use strict";

  var form = document.getElementById("order-form");
  var data = document.getElementById("garment-sizes");
  if (!form || !data || !window.fetch) return;

  var garments = JSON.parse(data.textContent);
  var sizeFields = document.getElementById("size-fields");
  var sizesFor = form.querySelector('input[name="sizes_for"]');
  var total = document.getElementById("price-total");
  var detail = document.getElementById("price-detail");
  var submit = document.getElementById("submit-order");
  var updatePrice = document.getElementById("update-price");
  var DEBOUNCE_MS = 250;
  var timer = null;
  var latest = 0;

  updatePrice.hidden = true;  // the price updates by itself

  function chosenGarment() {
    var checked = form.querySelector('input[name="garment"]:checked');
    return checked ? checked.value : "";
  }

  function sizeField(size, value) {
    var wrap = document.createElement("div");
    wrap.className = "size-field";
    var label = document.createElement("label");
    label.htmlFor = "id_" + size.field;
    label.textContent = size.size;
    var input = document.createElement("input");
    input.type = "number";
    input.name = size.field;
    input.id = "id_" + size.field;
    input.min = "0";
    input.max = "10000";
    input.inputMode = "numeric";
    input.title = size.unitPrice + " each";
    if (value) input.value = value;
    wrap.append(label, input);
    return wrap;
  }

  function swapSizes() {
    var gid = chosenGarment();
    var garment = garments[gid];
    if (!garment || sizesFor.value === gid) return;
    var typed = {};
    sizeFields.querySelectorAll("input").forEach(function (input) { typed[input.name] = input.value; });
    sizeFields.replaceChildren.apply(sizeFields, garment.sizes.map(function (size) {
      return sizeField(size, typed[size.field]);
    }));
    sizesFor.value = gid;
    // An error about the previous garment's sizes no longer applies.
    document.getElementById("size-errors").replaceChildren();
  }

  function showPrice(body) {
    if (body.ok) {
      total.textContent = body.total;
      var text = body.quantity + " item" + (body.quantity === 1 ? "" : "s");
      if (body.rushSurcharge) text += ", rush +" + body.rushSurcharge + " included";
      detail.textContent = text;
    } else {
      total.textContent = "—";
      detail.textContent = body.message || "";
    }
  }

  function refreshPrice() {
    var query = new URLSearchParams();
    query.set("garment", chosenGarment());
    query.set("sizes_for", sizesFor.value);
    var priority = form.querySelector('input[name="priority"]:checked');
    if (priority) query.set("priority", priority.value);
    sizeFields.querySelectorAll("input").forEach(function (input) {
      if (input.value) query.set(input.name, input.value);
    });
    var ticket = ++latest;
    fetch(form.dataset.priceUrl + "?" + query.toString(), {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    })
      .then(function (response) { return response.json(); })
      .then(function (body) { if (ticket === latest) showPrice(body); })
      .catch(function () { if (ticket === latest) showPrice({ ok: false, message: "Price unavailable: it is confirmed at checkout." }); });
  }

  function schedulePrice() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refreshPrice, DEBOUNCE_MS);
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "garment") swapSizes();
    schedulePrice();
  });
  form.addEventListener("input", function (event) {
    if (event.target.name && event.target.name.indexOf("qty_") === 0) {
      event.target.removeAttribute("aria-invalid");
      schedulePrice();
    }
  });

  form.addEventListener("submit", function (event) {
    if (submit.disabled) { event.preventDefault(); return; }
    // Disabled after this event, so the button's own submission still goes out.
    window.setTimeout(function () {
      submit.disabled = true;
      submit.textContent = submit.dataset.busyText;
    }, 0);
  });
  // Back from checkout through the browser's cache: the button must work again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    submit.disabled = false;
    submit.textContent = "Continue to payment";
  });

  swapSizes();
  schedulePrice();
})();
