/* The supplier's commit grid (templates/forecasts/version.html, a form with data-commit-grid).
 *
 * - "Commit all as forecast" (button[data-fill-forecast], in a small form of its own so that Enter in the grid
 *   never means "fill") fills every commit input with its cell's forecast (input[data-forecast]) and clears the
 *   reasons; nothing is saved until the user presses "Save commits". Without this script the same button asks
 *   the server for the filled page.
 * - Keyboard: in a commit input, ArrowUp/ArrowDown move to the same week of the row above/below, ArrowLeft/Right
 *   move a week when the caret is at the start/end of the text, Enter moves down (Shift+Enter up) instead of
 *   submitting. The focused cell is scrolled into view inside the grid's own scrolling region.
 * No inline script, no eval: loaded with defer from the page's head (CSP default-src 'self').
 */
(function () {
  "use strict";

  function setup(form) {
    var table = form.querySelector("table.grid-table");
    if (!table) { return; }
    var rows = Array.prototype.slice.call(table.tBodies[0] ? table.tBodies[0].rows : []);

    function inputAt(r, c) {
      var row = rows[r];
      if (!row) { return null; }
      var cell = row.cells[c];
      return cell ? cell.querySelector("input.commit-input") : null;
    }

    function position(input) {
      var cell = input.closest("td");
      var row = cell.parentElement;
      return { r: rows.indexOf(row), c: cell.cellIndex };
    }

    function find(r, c, dr, dc) {
      /* the next cell with an input in a direction, skipping empty cells */
      for (var n = 0; n < 200; n++) {
        r += dr; c += dc;
        if (r < 0 || r >= rows.length || c < 0) { return null; }
        if (c >= rows[r].cells.length) { return null; }
        var found = inputAt(r, c);
        if (found) { return found; }
      }
      return null;
    }

    function go(target) {
      if (!target) { return false; }
      target.focus();
      if (target.select) { target.select(); }
      var cell = target.closest("td");
      if (cell && cell.scrollIntoView) { cell.scrollIntoView({ block: "nearest", inline: "nearest" }); }
      return true;
    }

    form.addEventListener("keydown", function (event) {
      var input = event.target;
      if (!input.classList || !input.classList.contains("commit-input")) { return; }
      if (event.altKey || event.ctrlKey || event.metaKey) { return; }
      var at = position(input);
      var len = (input.value || "").length;
      var start = input.selectionStart, end = input.selectionEnd;
      var whole = start === 0 && end === len;
      var target = null, handled = false;
      switch (event.key) {
        case "ArrowUp": target = find(at.r, at.c, -1, 0); handled = true; break;
        case "ArrowDown": target = find(at.r, at.c, 1, 0); handled = true; break;
        case "Enter": target = find(at.r, at.c, event.shiftKey ? -1 : 1, 0); handled = true; break;
        case "ArrowLeft":
          if (whole || (start === 0 && end === 0)) { target = find(at.r, at.c, 0, -1); handled = true; }
          break;
        case "ArrowRight":
          if (whole || (start === len && end === len)) { target = find(at.r, at.c, 0, 1); handled = true; }
          break;
        default: return;
      }
      if (handled) {
        event.preventDefault();
        go(target);
      }
    });

    var fill = document.querySelector("[data-fill-forecast]");  /* in its own small form, before the grid */
    if (fill) {
      fill.addEventListener("click", function (event) {
        event.preventDefault();
        var inputs = form.querySelectorAll("input.commit-input[data-forecast]");
        for (var i = 0; i < inputs.length; i++) {
          inputs[i].value = inputs[i].getAttribute("data-forecast");
          var select = inputs[i].parentElement.querySelector("select");
          if (select) { select.value = ""; }
        }
        form.setAttribute("data-filled", String(inputs.length));
        if (inputs.length) { go(inputs[0]); }
      });
    }
    form.setAttribute("data-grid-ready", "1");
  }

  function init() {
    var forms = document.querySelectorAll("form[data-commit-grid]");
    for (var i = 0; i < forms.length; i++) { setup(forms[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
