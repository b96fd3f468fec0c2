// twelve's dashboard: follows the live log and draws the metrics charts. Everything else is
// plain HTML forms, which work without this file.
"use strict";

function followLog(pre) {
  const source = new EventSource(pre.dataset.stream);
  source.onmessage = (event) => {
    const line = JSON.parse(event.data).text;
    const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.appendChild(document.createTextNode(line + "\n"));
    while (pre.childNodes.length > 2000) pre.removeChild(pre.firstChild);
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  };
}

const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#4b3f99", "#d9822b", "#1d7a3a", "#b3261e", "#2b7bb9", "#8e44ad"];

function el(name, attrs) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

// One line per series over the points' times: series is {name: [[t, value], ...]}.
function draw(svg, series, unit) {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const width = 600, height = 160, left = 44, bottom = 18;
  const all = Object.values(series).flat();
  svg.dataset.points = String(all.length);
  svg.dataset.total = String(all.reduce((sum, p) => sum + p[1], 0));
  if (!all.length) {
    svg.appendChild(el("text", {x: left, y: height / 2})).textContent = "no data yet";
    return;
  }
  const t0 = Math.min(...all.map((p) => p[0])), t1 = Math.max(...all.map((p) => p[0]), t0 + 1);
  const top = Math.max(...all.map((p) => p[1]), 1e-9) * 1.1;
  const x = (t) => left + ((t - t0) / (t1 - t0)) * (width - left - 4);
  const y = (v) => height - bottom - (v / top) * (height - bottom - 6);
  svg.appendChild(el("line", {class: "axis", x1: left, y1: height - bottom, x2: width, y2: height - bottom}));
  svg.appendChild(el("text", {x: 2, y: 12})).textContent = top.toPrecision(3) + unit;
  svg.appendChild(el("text", {x: left, y: height - 4})).textContent = new Date(t0 * 1000).toLocaleTimeString();
  Object.entries(series).forEach(([name, points], index) => {
    const colour = COLOURS[index % COLOURS.length];
    const d = points.map((p, i) => (i ? "L" : "M") + x(p[0]).toFixed(1) + " " + y(p[1]).toFixed(1)).join(" ");
    svg.appendChild(el("path", {d: d, stroke: colour}));
    for (const p of points) svg.appendChild(el("circle", {cx: x(p[0]).toFixed(1), cy: y(p[1]).toFixed(1), r: 2, fill: colour}));
    svg.appendChild(el("text", {x: width - 80, y: 12 + index * 12, fill: colour})).textContent = name;
  });
}

function add(series, name, t, value) {
  if (value === null || value === undefined) return;
  (series[name] = series[name] || []).push([t, value]);
}

async function refreshCharts(box) {
  const response = await fetch(box.dataset.url, {credentials: "same-origin", headers: {Accept: "application/json"}});
  if (!response.ok) return;
  const data = await response.json();
  const latency = {}, throughput = {}, memory = {}, cpu = {};
  for (const p of data.points) {
    if (p.type === "web") {
      add(latency, "p50", p.at, p.p50_ms); add(latency, "p95", p.at, p.p95_ms); add(latency, "p99", p.at, p.p99_ms);
      for (const [status, rate] of Object.entries(p.rps)) add(throughput, status, p.at, rate);
    }
    add(memory, p.type, p.at, p.memory === null ? null : p.memory / 1048576);
    add(cpu, p.type, p.at, p.cpu * 100);
  }
  draw(document.getElementById("chart-latency"), latency, "ms");
  draw(document.getElementById("chart-throughput"), throughput, "/s");
  draw(document.getElementById("chart-memory"), memory, "MB");
  draw(document.getElementById("chart-cpu"), cpu, "%");
}

document.addEventListener("DOMContentLoaded", () => {
  const log = document.getElementById("log");
  if (log) followLog(log);
  const charts = document.getElementById("charts");
  if (charts) {
    refreshCharts(charts);
    setInterval(() => refreshCharts(charts), 5000);
  }
});
