// Kept in a file: the Content-Security-Policy allows no inline scripts.
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});

// A table wider than the page (many columns on a phone, a long unbroken name anywhere) scrolls inside its own box
// instead of pushing the whole page sideways: each table of the page is put in Bootstrap's .table-responsive unless a
// template already did. The table itself is untouched, so screen readers still meet a table. Without JavaScript,
// app.css makes the table scroll inside itself on phones.
(function () {
  function wrapTables() {
    document.querySelectorAll("main table").forEach(function (table) {
      var parent = table.parentElement;
      if (!parent || parent.classList.contains("table-responsive")) {
        return;
      }
      var box = document.createElement("div");
      box.className = "table-responsive";
      parent.insertBefore(box, table);
      box.appendChild(table);
    });
  }

  // On a phone the case's tabs scroll sideways in their strip: bring the current one into view (scrollLeft, not
  // scrollIntoView, so that the page itself does not move).
  function showCurrentTab() {
    document.querySelectorAll(".case-nav").forEach(function (strip) {
      var current = strip.querySelector("[aria-current=page]");
      if (current && strip.scrollWidth > strip.clientWidth) {
        strip.scrollLeft = current.offsetLeft - strip.offsetLeft - 16;
      }
    });
  }

  // A box that scrolls must be reachable by keyboard to scroll it: one holding no link or control takes the focus
  // itself (axe's scrollable-region-focusable), only while it does scroll.
  var FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]";

  function focusableScrollers() {
    document.querySelectorAll("main .table-responsive").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth;
      if (scrolls && !box.querySelector(FOCUSABLE)) {
        box.setAttribute("tabindex", "0");
      } else if (!scrolls && box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
      }
    });
  }

  function start() {
    wrapTables();
    showCurrentTab();
    focusableScrollers();
    var timer = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(focusableScrollers, 200);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
