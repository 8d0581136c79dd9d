// The order form (/orders/new/), improved when JavaScript runs; without it the form works as is
// (the page is rendered for one garment's sizes, and "Update price" asks the server for the price).
// - Switching the garment swaps the colour swatches, size fields and placement fields in place
//   (each garment's catalogue comes from the server as JSON: #garment-sizes), keeping quantities
//   typed for sizes both keep. Switching the colour offers only the sizes it has in stock.
// - The price follows what is typed: the server's own pricing (GET /orders/new/price), debounced,
//   so the price shown is the checkout total.
// - The address fields hide while pickup is chosen; delivery and country price the shipping line.
// - Submitting disables the button ("Starting checkout…"): no double submit from a double click.
//   The server's idempotency token remains the real guard.
(function () {
  "use strict";

  var form = document.getElementById("order-form");
  var data = document.getElementById("garment-sizes");
  if (!form || !data || !window.fetch) return;

  var garments = JSON.parse(data.textContent);
  var sizeFields = document.getElementById("size-fields");
  var swatches = document.getElementById("swatches");
  var placements = document.getElementById("placements");
  var placementFields = document.getElementById("placement-fields");
  var SVG = "http://www.w3.org/2000/svg";
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

  function chosenColor(garment) {
    var checked = form.querySelector('input[name="color"]:checked');
    var name = checked ? checked.value : "";
    var colors = garment.colors || [];
    return colors.find(function (c) { return c.name === name; }) ||
      colors.find(function (c) { return c.default; }) || colors[0] || null;
  }

  function swatch(color, index, checked) {
    var wrap = document.createElement("div");
    wrap.className = "swatch";
    var input = document.createElement("input");
    input.type = "radio";
    input.name = "color";
    input.value = color.name;
    input.id = "id_color_" + index;
    input.className = "swatch-input";
    input.checked = checked;
    var label = document.createElement("label");
    label.htmlFor = input.id;
    // The swatch colour as an SVG fill: not an inline style, which the CSP forbids.
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "swatch-chip");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var circle = document.createElementNS(SVG, "circle");
    [["cx", "12"], ["cy", "12"], ["r", "11"], ["fill", color.hex], ["stroke", "#6b6b70"],
     ["stroke-width", "1.5"]].forEach(function (pair) { circle.setAttribute(pair[0], pair[1]); });
    svg.append(circle);
    var name = document.createElement("span");
    name.textContent = color.name;
    label.append(svg, name);
    wrap.append(input, label);
    return wrap;
  }

  function placementField(placement) {
    var wrap = document.createElement("div");
    wrap.className = "placement-field";
    var label = document.createElement("label");
    label.htmlFor = "id_" + placement.field;
    label.textContent = placement.label;
    var input = document.createElement("input");
    input.type = "url";
    input.name = placement.field;
    input.id = "id_" + placement.field;
    input.maxLength = 2048;
    var help = document.createElement("span");
    help.className = "muted";
    help.id = input.id + "_helptext";
    help.textContent = "Optional: the design printed on the " + placement.label.split(" — ")[0].toLowerCase() + ".";
    input.setAttribute("aria-describedby", help.id);
    wrap.append(label, input, help);
    return wrap;
  }

  // The size fields the garment offers in the chosen colour, keeping what was typed.
  function showSizes(garment) {
    var color = chosenColor(garment);
    var inStock = color ? color.sizes.map(function (s) { return s.size; }) : null;
    var typed = {};
    sizeFields.querySelectorAll("input").forEach(function (input) { typed[input.name] = input.value; });
    var offered = garment.sizes.filter(function (size) {
      return inStock === null || inStock.indexOf(size.size) !== -1;
    });
    sizeFields.replaceChildren.apply(sizeFields, offered.map(function (size) {
      return sizeField(size, typed[size.field]);
    }));
  }

  function swapSizes() {
    var gid = chosenGarment();
    var garment = garments[gid];
    if (!garment || sizesFor.value === gid) return;
    var colors = garment.colors || [];
    var current = chosenColor(garment);
    swatches.replaceChildren.apply(swatches, colors.map(function (color, index) {
      return swatch(color, index, color === current);
    }));
    showSizes(garment);
    var typedDesigns = {};
    placementFields.querySelectorAll("input").forEach(function (input) { typedDesigns[input.name] = input.value; });
    placementFields.replaceChildren.apply(placementFields, garment.placements.map(function (placement) {
      var field = placementField(placement);
      if (typedDesigns[placement.field]) field.querySelector("input").value = typedDesigns[placement.field];
      return field;
    }));
    placements.hidden = garment.placements.length === 0;
    sizesFor.value = gid;
    // An error about the previous garment's sizes or colour no longer applies.
    document.getElementById("size-errors").replaceChildren();
    document.getElementById("color-errors").replaceChildren();
  }

  function showPrice(body) {
    if (body.ok) {
      total.textContent = body.total;
      var text = body.quantity + " item" + (body.quantity === 1 ? "" : "s");
      if (body.rushSurcharge) text += ", rush +" + body.rushSurcharge + " included";
      if (body.shipping) text += ", shipping +" + body.shipping + " included";
      detail.textContent = text;
    } else {
      total.textContent = "—";
      var errors = body.errors || {};
      var refusal = (errors.color || errors.sizes_for || [])[0];
      detail.textContent = refusal || body.message || "";
    }
  }

  function refreshPrice() {
    var query = new URLSearchParams();
    query.set("garment", chosenGarment());
    query.set("sizes_for", sizesFor.value);
    var priority = form.querySelector('input[name="priority"]:checked');
    if (priority) query.set("priority", priority.value);
    var color = form.querySelector('input[name="color"]:checked');
    if (color) query.set("color", color.value);
    var delivery = form.querySelector('input[name="delivery"]:checked');
    if (delivery) query.set("delivery", delivery.value);
    var country = form.querySelector('select[name="ship_country"]');
    if (country && country.value) query.set("ship_country", country.value);
    sizeFields.querySelectorAll("input").forEach(function (input) {
      if (input.value) query.set(input.name, input.value);
    });
    placementFields.querySelectorAll("input").forEach(function (input) {
      if (input.value.trim()) query.set(input.name, input.value.trim());
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

  // The address fields are for shipping: hidden while pickup is chosen.
  var addressFields = document.getElementById("address-fields");
  function showAddress() {
    var delivery = form.querySelector('input[name="delivery"]:checked');
    if (addressFields) addressFields.hidden = !!delivery && delivery.value === "pickup";
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "garment") swapSizes();
    if (event.target.name === "delivery") showAddress();
    if (event.target.name === "color") {
      var garment = garments[chosenGarment()];
      if (garment) showSizes(garment);
      document.getElementById("size-errors").replaceChildren();
      document.getElementById("color-errors").replaceChildren();
    }
    schedulePrice();
  });
  form.addEventListener("input", function (event) {
    if (event.target.name && (event.target.name.indexOf("qty_") === 0 ||
        event.target.name.indexOf("design_") === 0)) {
      event.target.removeAttribute("aria-invalid");
      schedulePrice();
    }
    if (event.target.name && event.target.name.indexOf("ship_") === 0) {
      event.target.removeAttribute("aria-invalid");
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
  showAddress();
  schedulePrice();
})();
