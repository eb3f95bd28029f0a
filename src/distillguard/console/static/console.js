// DistillGuard console: draw the charts described in data-chart attributes,
// and ask before a form that has data-confirm on its button is sent.
"use strict";

(function () {
  function hourLabel(h) {
    return new Date(h * 3600 * 1000).toISOString().slice(5, 13).replace("T", " ") + "h";
  }

  function config(spec) {
    if (spec.type === "timeline") {
      return {
        type: "bar",
        data: {
          labels: spec.points.map(function (p) { return hourLabel(p[0]); }),
          datasets: [{ label: "requests per hour", data: spec.points.map(function (p) { return p[1]; }),
                       backgroundColor: "#2563eb" }]
        },
        options: { animation: false, plugins: { legend: { display: false } },
                   scales: { x: { ticks: { maxTicksLimit: 12 } } } }
      };
    }
    if (spec.type === "profile") {
      return {
        type: "bar",
        data: {
          labels: spec.labels,
          datasets: [
            { label: "campaign", data: spec.campaign, backgroundColor: "#dc2626" },
            { label: "population", data: spec.population, backgroundColor: "#9aa5b1" }
          ]
        },
        options: { animation: false, indexAxis: "y",
                   scales: { x: { ticks: { callback: function (v) { return Math.round(v * 100) + "%"; } } } } }
      };
    }
    return {
      type: "bar",
      data: { labels: spec.labels, datasets: [{ data: spec.values, backgroundColor: "#1d4ed8" }] },
      options: { animation: false, plugins: { legend: { display: false } },
                 scales: spec.log ? { y: { type: "logarithmic" } } : {} }
    };
  }

  function draw() {
    if (typeof Chart === "undefined") { return; }
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      try {
        new Chart(canvas, config(JSON.parse(canvas.dataset.chart)));
        canvas.dataset.drawn = "1";
      } catch (err) {
        canvas.insertAdjacentText("afterend", "chart unavailable: " + err.message);
      }
    });
  }

  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
    }
  });
  document.addEventListener("DOMContentLoaded", draw);
})();
