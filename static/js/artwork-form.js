// The order form's artwork check before paying (templates/artwork/_form_preview.html): the
// front design typed is checked for the chosen garment and colour, and its mockup shown. The
// same check runs again on the order once it is placed.
(function () {
  "use strict";
  var box = document.getElementById("artwork-preview");
  var form = document.getElementById("order-form");
  if (!box || !form) return;
  var button = document.getElementById("artwork-preview-button");
  var status = document.getElementById("artwork-preview-status");
  var list = document.getElementById("artwork-preview-checks");
  var figure = document.getElementById("artwork-preview-figure");
  var image = document.getElementById("artwork-preview-image");
  var caption = document.getElementById("artwork-preview-caption");
  var words = { pass: "Ready to print", warning: "Prints, with warnings", fail: "Will not print well" };

  function value(name) {
    var field = form.querySelector('[name="' + name + '"]:checked') || form.querySelector('[name="' + name + '"]');
    return field ? field.value : "";
  }

  function show(text) { status.textContent = text; status.hidden = false; }

  button.addEventListener("click", function () {
    var params = new URLSearchParams({
      garment: value("garment"), color: value("color"), placement: "front", url: value("design_url")
    });
    button.disabled = true;
    list.hidden = true;
    figure.hidden = true;
    show("Checking the design…");
    fetch(box.getAttribute("data-preview-url") + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        button.disabled = false;
        if (!body.ok) { show(body.message); return; }
        show("Artwork check: " + (words[body.verdict] || body.verdict));
        list.replaceChildren.apply(list, body.checks.map(function (check) {
          var item = document.createElement("li");
          item.className = "check-" + check.status;
          var title = document.createElement("strong");
          title.textContent = check.title + " ";
          item.appendChild(title);
          item.appendChild(document.createTextNode(check.message));
          return item;
        }));
        list.hidden = false;
        if (body.mockupUrl) {
          image.src = body.mockupUrl;
          caption.textContent = "On " + body.colorName + ", at its print size in the print area";
          figure.hidden = false;
        }
      })
      .catch(function () { button.disabled = false; show("The check could not be reached: try again."); });
  });
})();
