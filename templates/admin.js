// Optional keyboard shortcuts for the admin page. Each one clicks a button,
// box or link the page already has, so everything works the same without
// this file (and with JavaScript off): j/k move between comments, a approve,
// r reject, s spam, u unpublish, x tick the box, e edit, / search.
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll(".ka-row"));
  var current = -1;

  function focusRow(i) {
    if (!rows.length) return;
    current = Math.max(0, Math.min(rows.length - 1, i));
    rows.forEach(function (row, n) {
      row.classList.toggle("ka-focus", n === current);
    });
    rows[current].scrollIntoView({ block: "nearest" });
  }

  function press(selector) {
    var target = current >= 0 && rows[current].querySelector(selector);
    if (target) target.click();
  }

  function typing(el) {
    if (!el || !el.tagName) return false;
    var tag = el.tagName.toLowerCase();
    return tag === "textarea" || tag === "select" ||
      (tag === "input" && el.type !== "checkbox");
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    switch (event.key) {
      case "j": focusRow(current + 1); break;
      case "k": focusRow(current - 1); break;
      case "a": press("button[value^='approve:']"); break;
      case "r": press("button[value^='reject:']"); break;
      case "s": press("button[value^='spam:']"); break;
      case "u": press("button[value^='unpublish:']"); break;
      case "x": press("input[type=checkbox]"); break;
      case "e": press(".ka-edit-link"); break;
      case "/":
        var search = document.querySelector(".ka-search input[name=q]");
        if (search) search.focus();
        break;
      default: return;
    }
    event.preventDefault();
  });

  var keys = document.getElementById("ka-keys");
  if (keys) keys.hidden = false;
  // After each action the page reloads with the next comment on top:
  // pressing `a` again and again works through the queue.
  focusRow(0);
})();
