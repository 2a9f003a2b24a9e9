// Charts above the tables (the tables are always there: without JavaScript, or without
// ECharts, the page is the tables). The numbers come from a <script type="application/json">
// written by Django's json_script (no inline script: the Content-Security-Policy forbids it).
// Each <div data-chart="KEY" hidden> is drawn from the JSON's KEY: horizontal bars, one row
// per label, as wide as the page (a 390 px phone never scrolls sideways).
(function () {
  "use strict";
  var COLOURS = ["#1e88e5", "#c62828"];
  var ROW = 34; // px per label
  var drawn = [];

  function draw(el, data) {
    if (!data || !data.labels || !data.labels.length) return;
    el.hidden = false;
    el.style.width = "100%";
    el.style.height = Math.max(140, data.labels.length * ROW + 70) + "px";
    var chart = window.echarts.init(el, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      color: COLOURS,
      aria: { enabled: true },
      // richText: a tooltip drawn on the canvas, not HTML with style attributes (CSP).
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, renderMode: "richText" },
      legend: { top: 0, data: data.series.map(function (s) { return s.name; }) },
      grid: { left: 4, right: 24, top: 30, bottom: 4, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: {
        type: "category",
        inverse: true,
        data: data.labels,
        axisLabel: { width: 96, overflow: "truncate" },
      },
      series: data.series.map(function (s) {
        return {
          name: s.name,
          type: "bar",
          data: s.data,
          barMaxWidth: 14,
          label: { show: true, position: "right", fontSize: 11 },
        };
      }),
    });
    drawn.push(chart);
  }

  function start() {
    var source = document.getElementById("hazard-charts");
    if (!source || !window.echarts) return;
    var all;
    try {
      all = JSON.parse(source.textContent);
    } catch (e) {
      return;
    }
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      draw(el, all[el.getAttribute("data-chart")]);
    });
    window.addEventListener("resize", function () {
      drawn.forEach(function (chart) { chart.resize(); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
