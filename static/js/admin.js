// Read-only inline tables scroll sideways on narrow screens and hold nothing focusable: make each
// a named, focusable region so keyboard users can scroll it too (axe: scrollable-region-focusable).
(function () {
  "use strict";
  document.querySelectorAll(".inline-group .tabular").forEach(function (region) {
    if (region.hasAttribute("tabindex")) return;
    var heading = region.querySelector("h2");
    region.setAttribute("tabindex", "0");
    region.setAttribute("role", "region");
    if (heading) region.setAttribute("aria-label", heading.textContent.trim());
  });
})();
