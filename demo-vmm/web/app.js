// The demo page: one uPlot chart per panel, each fed by /metrics/query.
// Every panel has one unit (its value axis says which). Buckets with no
// data are gaps, except for counters, which had zero events there (the
// store's series kind, from /metrics/info, says which series count). After
// every refresh each chart's element carries what the headless browser test
// checks: data-title, data-points (values drawn), data-gaps (missing buckets drawn as
// gaps), data-legend (series in the legend), data-axis-size and
// data-axis-label-width (the value axis' width and its widest label, px),
// data-time-axis (the time axis' label, with the zone);
// <body> carries data-charts-with-data and data-zone. After every draw,
// where things landed (CSS px of the page): data-plot-rect (the plot area:
// left,top,width,height), data-canvas-left, data-x-range and data-y-range
// (the scales' min,max; x in seconds), data-axis-labels (the value axis'
// labels, "|"-separated) and data-axis-label-ys (their rows), so that the
// test can check the screenshot's pixels where they should be.
// A band panel (the latency quantiles) also carries data-band-points (the
// buckets where both its edges were drawn), data-band-last (the newest such
// bucket's "lower,upper" in the panel's unit) and data-band-fill (its colour).
"use strict";

// The p50-to-p99 band of a latency series: both edges are stored quantiles
// of each bucket, at the tier the store answers from (never a quantile of
// averages), so a 5-minute bucket's p99 is that 5 minutes' p99.
function bandPanel(title, series) {
  return { title: title + ", p50 to p99", unit: "µs", scale: 1e-3, fromZero: true,
           queries: [{ series, fn: "p50", band: "lower", label: () => "p50" },
                     { series, fn: "p99", band: "upper", label: () => "p99" }] };
}

const PANELS = [
  { title: "VM exits per second, by reason", unit: "exits/s",
    queries: [{ series: "vcpu_exits_total", fn: "sum", label: (s) => s.labels.reason }] },
  { title: "Exit handling and KVM_RUN time", unit: "µs", scale: 1e-3,
    queries: [
      { series: "vcpu_exit_duration_ns", fn: "avg", label: () => "exit handling avg" },
      { series: "vcpu_exit_duration_ns", fn: "max", label: () => "exit handling max" },
      { series: "vcpu_run_duration_ns", fn: "avg", label: () => "in KVM_RUN avg" }] },
  bandPanel("Exit handling time", "vcpu_exit_duration_ns"),
  bandPanel("Time in KVM_RUN", "vcpu_run_duration_ns"),
  { title: "virtio-blk requests per second", unit: "req/s",
    queries: [{ series: "blk_requests_total", fn: "sum", label: (s) => s.labels.op },
              { series: "blk_request_errors_total", fn: "sum", label: (s) => "error " + s.labels.status }] },
  { title: "virtio-blk throughput", unit: "MiB/s", scale: 1 / 1048576,
    queries: [{ series: "blk_bytes_total", fn: "sum", label: (s) => s.labels.direction }] },
  { title: "virtio-blk request time", unit: "µs", scale: 1e-3,
    queries: [
      { series: "blk_request_duration_ns", fn: "avg", label: () => "request avg" },
      { series: "blk_request_duration_ns", fn: "max", label: () => "request max" }] },
  bandPanel("virtio-blk request time", "blk_request_duration_ns"),
  { title: "virtio-blk queue depth", unit: "entries",
    queries: [{ series: "blk_queue_depth", fn: "max", label: () => "queue depth max" }] },
  { title: "VMM resident memory", unit: "MiB", scale: 1 / 1048576,
    queries: [{ series: "vmm_rss_bytes", fn: "avg", label: () => "RSS" }] },
  { title: "VMM open file descriptors", unit: "count",
    queries: [{ series: "vmm_open_fds", fn: "avg", label: () => "open fds" }] },
  { title: "vCPU steal time per sample", unit: "ms", scale: 1e-6,
    queries: [{ series: "vcpu_steal_ns", fn: "sum", label: () => "vCPU steal" }] },
];

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const AXIS_FONT = "12px system-ui, sans-serif";
const BAND_FILL = "rgba(255, 127, 14, 0.3)";  // light orange: unlike a band chart's two lines (blue, red)

// schema name -> { kind, intervals_ms: [tier 0, tier 1, ...] }, from /metrics/info.
let schemas = new Map();

async function loadSchemas() {
  const info = await (await fetch("/metrics/info")).json();
  schemas = new Map(info.schemas.map((s) => [s.name, {
    kind: s.kind, intervals_ms: s.tiers.map((t) => Math.round(t.interval_s * 1000)) }]));
}

// "UTC+01:00 (Europe/Paris)": the zone the time axis is drawn in.
function zoneLabel() {
  const minutes = -new Date().getTimezoneOffset();
  const sign = minutes < 0 ? "-" : "+";
  const hh = String(Math.floor(Math.abs(minutes) / 60)).padStart(2, "0");
  const mm = String(Math.abs(minutes) % 60).padStart(2, "0");
  const name = Intl.DateTimeFormat().resolvedOptions().timeZone || "local";
  return `UTC${sign}${hh}:${mm} (${name})`;
}

function queryUrl(q, range) {
  const p = new URLSearchParams({ series: q.series, range: range, tier: "auto", fn: q.fn });
  return "/metrics/query?" + p.toString();
}

// One answer's points on its buckets' grid: every bucket of every span of
// its plan, the missing ones null (a gap), or 0 for a counter (no events).
// Times in milliseconds from here on (the answer's are Unix nanoseconds).
function onGrid(s, counter) {
  const points = s.points.map(([t, v]) => [t / 1e6, v]);
  const have = new Map(points);
  const intervals = (schemas.get(s.schema) || { intervals_ms: [] }).intervals_ms;
  const out = [];
  const firstPoint = points.length ? points[0][0] : Infinity;  // nothing before the series began
  for (const span of s.plan || []) {
    const step = intervals[span.tier];
    if (!step) continue;
    // The first bucket overlapping the span (it may begin before the span's start).
    const first = Math.max(Math.floor(span.start_ns / 1e6 / step) * step, firstPoint);
    for (let t = first; t <= span.end_ns / 1e6; t += step) {
      const v = have.has(t) ? have.get(t) : (counter ? 0 : null);
      out.push([t, v]);
    }
  }
  return out.length ? out : points;
}

// Several lines -> uPlot's aligned columns [xs, ys...] (seconds, null = gap).
// A counter line has zero, not a gap, where another line of the chart has a
// bucket it lacks (e.g. before its reason's first exit): no events then.
function align(lines) {
  const xs = new Set();
  for (const l of lines) for (const [t] of l.points) xs.add(t);
  const times = [...xs].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const data = [times.map((t) => t / 1000)];
  for (const l of lines) {
    const ys = new Array(times.length).fill(l.counter ? 0 : null);
    for (const [t, v] of l.points) ys[index.get(t)] = v === null ? null : v * l.scale;
    data.push(ys);
  }
  return data;
}

async function fetchPanel(panel, range) {
  const lines = [];
  for (const q of panel.queries) {
    const res = await fetch(queryUrl(q, range));
    if (!res.ok) throw new Error(q.series + ": HTTP " + res.status + " " + (await res.text()));
    const body = await res.json();
    for (const s of body.series) {
      if (s.error) continue;  // e.g. a function this schema does not store
      // Legends only for series with data in the range.
      if (!s.points.some(([, v]) => v !== null)) continue;
      const counter = (schemas.get(s.schema) || {}).kind === "counter";
      lines.push({ label: q.label(s), points: onGrid(s, counter), scale: q.scale ?? panel.scale ?? 1, counter,
                   band: q.band });
    }
  }
  lines.sort((a, b) => a.label.localeCompare(b.label));
  return lines;
}

// Whole numbers in full with thousands separators (1,500,000), fractions
// with the few digits the axis steps need.
function axisValues(u, splits) {
  const step = splits.length > 1 ? Math.abs(splits[1] - splits[0]) : 1;
  const digits = step >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(step)));
  return splits.map((v) => v.toLocaleString("en-US", { minimumFractionDigits: digits,
                                                       maximumFractionDigits: digits }));
}

let measureContext = null;
function textWidth(text) {
  measureContext = measureContext || document.createElement("canvas").getContext("2d");
  measureContext.font = AXIS_FONT;
  return Math.ceil(measureContext.measureText(text).width);
}

class Chart {
  constructor(panel, parent) {
    this.panel = panel;
    this.el = document.createElement("div");
    this.el.className = "chart";
    this.el.dataset.title = panel.title;
    this.el.dataset.points = "0";
    this.el.innerHTML = `<h2></h2><div class="plot"></div><div class="note"></div>`;
    this.el.querySelector("h2").textContent = panel.title + " (" + panel.unit + ")";
    parent.appendChild(this.el);
    this.plot = null;
    this.labels = "";
    this.labelWidth = 0;
  }

  // The value axis is as wide as its widest label (plus tick and gap).
  axisSize(u, values) {
    if (!values) return 40;
    this.labelWidth = Math.max(0, ...values.map(textWidth));
    return this.labelWidth + 18;
  }

  // uPlot's band between the lines marked upper and lower (series indices
  // are 1-based: 0 is time); none unless both have data.
  bands(lines) {
    const upper = lines.findIndex((l) => l.band === "upper");
    const lower = lines.findIndex((l) => l.band === "lower");
    return upper < 0 || lower < 0 ? [] : [{ series: [upper + 1, lower + 1], fill: BAND_FILL }];
  }

  reportBand(lines, data) {
    const band = this.bands(lines)[0];
    if (!band) return;
    const [hi, lo] = band.series;
    let n = 0, last = "";
    for (let i = 0; i < data[0].length; i++) {
      if (data[hi][i] === null || data[lo][i] === null) continue;
      n++;
      last = `${data[lo][i]},${data[hi][i]}`;
    }
    this.el.dataset.bandPoints = String(n);
    this.el.dataset.bandLast = last;
    this.el.dataset.bandFill = BAND_FILL;
  }

  // Where the plot, its scales and the value axis' labels were drawn.
  reportGeometry(u) {
    const page = (r) => [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height];
    const plot = page(u.over.getBoundingClientRect());
    const axis = u.axes[1];
    const d = this.el.dataset;
    d.plotRect = plot.map((v) => v.toFixed(1)).join(",");
    d.canvasLeft = page(u.ctx.canvas.getBoundingClientRect())[0].toFixed(1);
    d.xRange = `${u.scales.x.min},${u.scales.x.max}`;
    d.yRange = `${u.scales.y.min},${u.scales.y.max}`;
    const shown = (axis._splits || []).map((v, i) => [v, (axis._values || [])[i]]).filter(([, t]) => t != null);
    d.axisLabels = shown.map(([, t]) => t).join("|");
    d.axisLabelYs = shown.map(([v]) => (plot[1] + u.valToPos(v, "y")).toFixed(1)).join("|");
  }

  update(lines) {
    const data = align(lines);
    const labels = lines.map((l) => l.label).join("|");
    if (!this.plot || labels !== this.labels) {
      if (this.plot) this.plot.destroy();
      const opts = {
        width: Math.max(this.el.clientWidth - 16, 400), height: 220,
        bands: this.bands(lines),
        scales: this.panel.fromZero ? { y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } } : {},
        hooks: { draw: [(u) => this.reportGeometry(u)] },
        series: [{}].concat(lines.map((l, i) => ({ label: l.label, stroke: COLORS[i % COLORS.length],
                                                    width: 1.5, spanGaps: false }))),
        axes: [{ label: "time, " + zoneLabel(), font: AXIS_FONT, labelFont: AXIS_FONT },
               { label: this.panel.unit, font: AXIS_FONT, labelFont: AXIS_FONT, values: axisValues,
                 size: (u, values) => this.axisSize(u, values) }],
      };
      this.plot = new uPlot(opts, data, this.el.querySelector(".plot"));
      this.labels = labels;
    } else {
      this.plot.setData(data);
    }
    let n = 0, gaps = 0;
    for (let i = 1; i < data.length; i++) for (const v of data[i]) v === null ? gaps++ : n++;
    this.el.dataset.points = String(n);
    this.el.dataset.gaps = String(gaps);
    this.el.dataset.legend = String(lines.length);
    this.el.dataset.axisSize = String(this.plot.axes[1]._size ?? 0);
    this.el.dataset.axisLabelWidth = String(this.labelWidth);
    this.el.dataset.timeAxis = this.plot.axes[0].label;
    this.reportBand(lines, data);
    this.el.querySelector(".note").textContent = n ? "" : "no data in this range yet";
  }
}

async function refreshStatus() {
  const el = document.getElementById("status");
  try {
    const h = await (await fetch("/metrics/health")).json();
    el.textContent = `VM ${h.vm} · up ${Math.round(h.uptime_seconds)} s · store ${h.store} · ` +
                     `${h.series} series, ${(h.store_bytes / 1048576).toFixed(2)} MiB on disk`;
  } catch (e) {
    el.innerHTML = `<span class="bad">VMM not reachable: ${e}</span>`;
  }
}

const charts = [];

async function refresh() {
  const range = document.getElementById("range").value;
  await refreshStatus();
  if (schemas.size === 0) {
    try { await loadSchemas(); } catch (e) { /* the charts say why below */ }
  }
  let withData = 0;
  for (const chart of charts) {
    try {
      chart.update(await fetchPanel(chart.panel, range));
      if (chart.el.dataset.points !== "0") withData++;
    } catch (e) {
      chart.el.querySelector(".note").textContent = String(e);
    }
  }
  document.body.dataset.chartsWithData = String(withData);
  document.body.dataset.zone = zoneLabel();
  document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
}

function main() {
  const parent = document.getElementById("charts");
  for (const p of PANELS) charts.push(new Chart(p, parent));
  document.getElementById("range").addEventListener("change", refresh);
  refresh();
  setInterval(refresh, 2000);
}

main();
