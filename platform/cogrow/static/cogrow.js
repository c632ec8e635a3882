/* Cogrow's page behaviour: charts drawn from the data tables beside them, sortable tables, menus.
 *
 * A chart is a <figure class="chart"> holding a <canvas> and a <table data-chart-table>. The table is the
 * source: each <th> of the header row that has data-series becomes one dataset, each body row one point on
 * the x axis (its first cell's data-x, else its text). So what a chart shows is always what its table says,
 * and tests read it back through Chart.getChart(canvas).data.
 *
 * Header cell attributes:
 *   data-series="bar|line|area|marker"  how the column is drawn (marker: a point only where the value is > 0)
 *   data-stack="name"                    bars with the same name stack
 *   data-color="po|firm|fab|raw|supply|projected|excess|shortage|exposure|series-N"
 *   data-dash                            a dashed line
 * Body cells: data-value="123.5" (raw number; an empty value is a gap), else the cell's text without grouping.
 * Figure attributes:
 *   data-horizontal        bars run left to right (one row per category, e.g. per supplier)
 *   data-fences='[{"at": "<x label>", "label": "Firm fence"}]'   vertical lines at those x labels
 *   data-y-label="₩"       the y axis title
 */
(function () {
  "use strict";

  var COLORS = {
    po: "#1f4e8c", firm: "#3f7fcf", fab: "#8fb8e8", raw: "#c5dbf3",
    supply: "#1b7a43", projected: "#1b7a43", excess: "rgba(214, 96, 18, 0.28)",
    shortage: "#b3261e", exposure: "#d66012", neutral: "#5f6b7a"
  };
  var SERIES = ["#1f4e8c", "#d66012", "#1b7a43", "#7b3fa0", "#b3261e", "#00838f", "#8d6e00", "#5f6b7a"];

  function colorOf(key, index) {
    if (key && COLORS[key]) { return COLORS[key]; }
    if (key && key.indexOf("series-") === 0) { return SERIES[parseInt(key.slice(7), 10) % SERIES.length]; }
    return SERIES[index % SERIES.length];
  }

  function numberOf(cell) {
    if (!cell) { return null; }
    var raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent;
    raw = (raw || "").replace(/[,\s₩%]/g, "");
    if (raw === "" || raw === "-" || raw === "—") { return null; }
    var value = Number(raw);
    return isFinite(value) ? value : null;
  }

  function readTable(table) {
    var headRow = table.tHead ? table.tHead.rows[table.tHead.rows.length - 1] : table.rows[0];
    var columns = [];
    Array.prototype.forEach.call(headRow.cells, function (th, index) {
      if (th.hasAttribute("data-series")) {
        columns.push({
          index: index, label: th.getAttribute("data-label") || th.textContent.trim(),
          kind: th.getAttribute("data-series"), stack: th.getAttribute("data-stack"),
          color: th.getAttribute("data-color"), dash: th.hasAttribute("data-dash"), values: []
        });
      }
    });
    var labels = [];
    var body = table.tBodies[0];
    Array.prototype.forEach.call(body ? body.rows : [], function (row) {
      if (row.hasAttribute("data-chart-skip")) { return; }
      var first = row.cells[0];
      labels.push(first.getAttribute("data-x") || first.textContent.trim());
      columns.forEach(function (column) { column.values.push(numberOf(row.cells[column.index])); });
    });
    return { labels: labels, columns: columns };
  }

  function datasetOf(column, index) {
    var color = colorOf(column.color, index);
    var base = { label: column.label, data: column.values, borderColor: color, backgroundColor: color };
    // On a stacked value axis Chart.js stacks every dataset with the same stack id, and a dataset's id defaults
    // to its type: lines, areas and markers would sit on top of one another. Only bars with data-stack stack;
    // every other dataset gets a stack of its own, so it is drawn at its own values.
    base.stack = (column.kind === "bar" && column.stack) ? column.stack : "own-" + index;
    if (column.kind === "bar") {
      base.type = "bar";
      base.order = 2;
    } else if (column.kind === "area") {
      base.type = "line";
      base.fill = "origin";
      base.pointRadius = 0;
      base.borderWidth = 0;
      base.order = 3;
    } else if (column.kind === "marker") {
      base.type = "line";
      base.showLine = false;
      base.pointStyle = "triangle";
      base.pointRadius = column.values.map(function (v) { return v ? 7 : 0; });
      base.data = column.values.map(function (v) { return v ? v : null; });
      base.order = 0;
    } else {
      base.type = "line";
      base.fill = false;
      base.tension = 0;
      base.pointRadius = 2;
      base.borderWidth = 2;
      base.order = 1;
      if (column.dash) { base.borderDash = [6, 4]; }
    }
    return base;
  }

  // Vertical lines for the firm and material fences, drawn after the datasets.
  var fencePlugin = {
    id: "cogrowFences",
    afterDatasetsDraw: function (chart) {
      var fences = chart.options.plugins.cogrowFences && chart.options.plugins.cogrowFences.fences;
      if (!fences || !fences.length) { return; }
      var scale = chart.scales.x;
      var area = chart.chartArea;
      var ctx = chart.ctx;
      fences.forEach(function (fence, index) {
        var position = chart.data.labels.indexOf(fence.at);
        if (position < 0) { return; }
        // A fence lies between the last week before it and the first week on it, not through that week's point.
        var x = position > 0 ? (scale.getPixelForValue(position - 1) + scale.getPixelForValue(position)) / 2
          : scale.getPixelForValue(position);
        ctx.save();
        ctx.strokeStyle = index === 0 ? "#b3261e" : "#8d6e00";
        ctx.setLineDash([4, 3]);
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(x, area.top);
        ctx.lineTo(x, area.bottom);
        ctx.stroke();
        ctx.setLineDash([]);
        ctx.fillStyle = ctx.strokeStyle;
        ctx.font = "12px sans-serif";
        ctx.fillText(fence.label || "", x + 4, area.top + 12 + index * 14);
        ctx.restore();
      });
    }
  };

  function drawChart(figure) {
    var canvas = figure.querySelector("canvas");
    var table = figure.querySelector("table[data-chart-table]");
    if (!canvas || !table || typeof window.Chart === "undefined") { return; }
    var existing = window.Chart.getChart(canvas);
    if (existing) { existing.destroy(); }
    var read = readTable(table);
    var horizontal = figure.hasAttribute("data-horizontal");
    var fences = [];
    if (figure.getAttribute("data-fences")) {
      try { fences = JSON.parse(figure.getAttribute("data-fences")); } catch (e) { fences = []; }
    }
    var stacked = read.columns.some(function (c) { return c.stack; });
    var yTitle = figure.getAttribute("data-y-label");
    var valueAxis = { beginAtZero: true, stacked: stacked, title: { display: !!yTitle, text: yTitle || "" } };
    var categoryAxis = { stacked: stacked, ticks: { autoSkip: true, maxRotation: 0 } };
    var chart = new window.Chart(canvas, {
      type: "bar",
      data: { labels: read.labels, datasets: read.columns.map(datasetOf) },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          cogrowFences: { fences: fences }
        }
      },
      plugins: [fencePlugin]
    });
    figure.setAttribute("data-chart-ready", String(chart.data.labels.length));
  }

  function drawCharts(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("figure.chart"), drawChart);
  }

  // Sortable tables: <table data-sortable>, a header button per column; numbers sort as numbers.
  function sortBy(table, columnIndex, button) {
    var body = table.tBodies[0];
    var ascending = button.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.removeAttribute("aria-sort"); });
    button.closest("th").setAttribute("aria-sort", ascending ? "ascending" : "descending");
    button.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = numberOf(a.cells[columnIndex]);
      var y = numberOf(b.cells[columnIndex]);
      var result;
      if (x !== null && y !== null) { result = x - y; } else {
        result = a.cells[columnIndex].textContent.trim().localeCompare(b.cells[columnIndex].textContent.trim());
      }
      return ascending ? result : -result;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function makeSortable(root) {
    Array.prototype.forEach.call((root || document).querySelectorAll("table[data-sortable]"), function (table) {
      if (table.hasAttribute("data-sortable-ready") || !table.tHead) { return; }
      table.setAttribute("data-sortable-ready", "1");
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
        if (th.hasAttribute("data-nosort")) { return; }
        var button = document.createElement("button");
        button.type = "button";
        button.className = "sort";
        while (th.firstChild) { button.appendChild(th.firstChild); }
        th.appendChild(button);
        button.addEventListener("click", function () { sortBy(table, index, button); });
      });
    });
  }

  function init(root) {
    drawCharts(root);
    makeSortable(root);
  }

  // htmx leaves 4xx answers unswapped. A view that answers a refused action with a fragment (the same block,
  // unchanged, with the reason) marks it with X-Cogrow-Fragment, and that fragment is swapped in like a success,
  // so the person sees why in place.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr && xhr.status >= 400 && xhr.status < 500 && xhr.getResponseHeader("X-Cogrow-Fragment")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  window.Cogrow = { drawCharts: drawCharts, readTable: readTable, init: init };
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // Content swapped in by htmx gets the same treatment.
  document.addEventListener("htmx:afterSettle", function (event) { init(event.target); });
})();
