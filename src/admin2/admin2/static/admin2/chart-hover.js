/* Hover values for the charts drawn on the server (admin2.charts): the value under the
   pointer, in a box readable at any chart size. Each mark's SVG <title> stays the no-script
   fallback; while a mark is shown here its title is emptied, so the browser's own tooltip
   does not repeat it. No inline code, no eval: a static file under script-src 'self'. */
(function () {
  "use strict";

  var REACH = 24; // px: a line's or scatter's point this near the pointer counts as under it
  var GAP = 14; // px between the pointer and the box
  var box = null;
  var shown = null; // the mark whose value the box holds
  var kept = ""; // its title's text, put back when the pointer leaves it

  function titleOf(mark) {
    for (var child = mark.firstElementChild; child; child = child.nextElementSibling) {
      if (child.localName === "title") return child;
    }
    return null;
  }

  // Off a mark, the nearest point: on a scatter the nearest in the plane; on a line or an
  // area the one nearest along x (among series there, the nearest in y), as a reader scans
  // a line left to right; none farther than REACH along x.
  function nearestPoint(svg, x, y) {
    var plane = svg.getAttribute("data-kind") === "scatter";
    var best = null;
    var bestFar = REACH + 1;
    var bestAside = Infinity;
    var points = svg.querySelectorAll(".analytics-point");
    for (var i = 0; i < points.length; i++) {
      var r = points[i].getBoundingClientRect();
      var dx = r.left + r.width / 2 - x;
      var dy = Math.abs(r.top + r.height / 2 - y);
      var far = plane ? Math.hypot(dx, dy) : Math.round(Math.abs(dx));
      var aside = plane ? 0 : dy;
      if (far < bestFar || (far === bestFar && aside < bestAside)) {
        best = points[i];
        bestFar = far;
        bestAside = aside;
      }
    }
    return best;
  }

  // A mark is an element of the chart with a <title> of its own (the chart's is its name).
  function markAt(target, svg, x, y) {
    for (var node = target; node && node !== svg; node = node.parentElement) {
      if (titleOf(node)) return node;
    }
    return nearestPoint(svg, x, y);
  }

  function theBox() {
    if (!box) {
      box = document.createElement("div");
      box.className = "chart-hover";
      box.setAttribute("role", "tooltip");
      box.hidden = true;
      document.body.appendChild(box);
    }
    return box;
  }

  function hide() {
    if (shown) {
      var title = titleOf(shown);
      if (title && !title.textContent) title.textContent = kept;
      shown.classList.remove("chart-hovered");
      shown = null;
    }
    if (box) box.hidden = true;
  }

  function show(mark, x, y) {
    var tip = theBox();
    if (mark !== shown) {
      hide();
      var title = titleOf(mark);
      kept = title.textContent;
      title.textContent = "";
      shown = mark;
      mark.classList.add("chart-hovered");
      tip.textContent = kept;
    }
    tip.hidden = false;
    // Beside the pointer, flipped to the other side near the window's edge.
    var left = x + GAP;
    var top = y + GAP;
    if (left + tip.offsetWidth > window.innerWidth) left = x - GAP - tip.offsetWidth;
    if (top + tip.offsetHeight > window.innerHeight) top = y - GAP - tip.offsetHeight;
    tip.style.left = Math.max(0, left) + "px";
    tip.style.top = Math.max(0, top) + "px";
  }

  function place(target, x, y) {
    var svg = target instanceof Element && target.closest("svg.analytics-chart");
    var mark = svg && markAt(target, svg, x, y);
    if (mark) show(mark, x, y);
    else hide();
  }

  var pointer = null; // where the pointer last was in the window

  function follow(event) {
    pointer = { x: event.clientX, y: event.clientY };
    place(event.target, pointer.x, pointer.y);
  }

  // Scrolling moves the page under a still pointer: show what is under it now.
  function rescan() {
    if (pointer) place(document.elementFromPoint(pointer.x, pointer.y), pointer.x, pointer.y);
  }

  function gone() {
    pointer = null;
    hide();
  }

  document.addEventListener("pointermove", follow, { passive: true });
  document.addEventListener("pointerdown", follow, { passive: true }); // a tap on a touch screen
  document.documentElement.addEventListener("pointerleave", gone);
  window.addEventListener("scroll", rescan, { passive: true });
  window.addEventListener("blur", gone);
})();
