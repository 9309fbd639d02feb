// The demo page: one uPlot chart per panel, each fed by /metrics/query.
// After every refresh each chart's element carries data-points (how many
// values it drew), and <body> carries data-charts-with-data; the headless
// browser test reads those.
"use strict";

const PANELS = [
  { title: "VM exits per second, by reason", unit: "exits/s",
    queries: [{ series: "vcpu_exits_total", fn: "sum", label: (s) => s.labels.reason }] },
  { title: "Exit handling and KVM_RUN time", unit: "µs", scale: 1e-3,
    queries: [
      { series: "vcpu_exit_duration_ns", fn: "avg", label: () => "exit handling avg" },
      { series: "vcpu_exit_duration_ns", fn: "max", label: () => "exit handling max" },
      { series: "vcpu_run_duration_ns", fn: "avg", label: () => "in KVM_RUN avg" }] },
  { title: "virtio-blk requests per second", unit: "req/s",
    queries: [{ series: "blk_requests_total", fn: "sum", label: (s) => s.labels.op },
              { series: "blk_request_errors_total", fn: "sum", label: (s) => "error " + s.labels.status }] },
  { title: "virtio-blk throughput", unit: "MiB/s", scale: 1 / 1048576,
    queries: [{ series: "blk_bytes_total", fn: "sum", label: (s) => s.labels.direction }] },
  { title: "virtio-blk request time and queue depth", unit: "µs / entries",
    queries: [
      { series: "blk_request_duration_ns", fn: "avg", scale: 1e-3, label: () => "request avg (µs)" },
      { series: "blk_request_duration_ns", fn: "max", scale: 1e-3, label: () => "request max (µs)" },
      { series: "blk_queue_depth", fn: "max", label: () => "queue depth max" }] },
  { title: "VMM process", unit: "MiB / count / ms",
    queries: [
      { series: "vmm_rss_bytes", fn: "avg", scale: 1 / 1048576, label: () => "RSS (MiB)" },
      { series: "vmm_open_fds", fn: "avg", label: () => "open fds" },
      { series: "vcpu_steal_ns", fn: "sum", scale: 1e-6, label: () => "vCPU steal (ms)" }] },
];

const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

function queryUrl(q, range) {
  const p = new URLSearchParams({ series: q.series, range: range, tier: "auto", fn: q.fn });
  return "/metrics/query?" + p.toString();
}

// Several answers -> uPlot's aligned columns [xs, ys...] (seconds, null = gap).
function align(lines) {
  const xs = new Set();
  for (const l of lines) for (const [t] of l.points) xs.add(t);
  const times = [...xs].sort((a, b) => a - b);
  const index = new Map(times.map((t, i) => [t, i]));
  const data = [times.map((t) => t / 1000)];
  for (const l of lines) {
    const ys = new Array(times.length).fill(null);
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
      lines.push({ label: q.label(s), points: s.points, scale: q.scale ?? panel.scale ?? 1 });
    }
  }
  lines.sort((a, b) => a.label.localeCompare(b.label));
  return lines;
}

class Chart {
  constructor(panel, parent) {
    this.panel = panel;
    this.el = document.createElement("div");
    this.el.className = "chart";
    this.el.dataset.points = "0";
    this.el.innerHTML = `<h2></h2><div class="plot"></div><div class="note"></div>`;
    this.el.querySelector("h2").textContent = panel.title + " (" + panel.unit + ")";
    parent.appendChild(this.el);
    this.plot = null;
    this.labels = "";
  }

  update(lines) {
    const data = align(lines);
    const labels = lines.map((l) => l.label).join("|");
    if (!this.plot || labels !== this.labels) {
      if (this.plot) this.plot.destroy();
      const opts = {
        width: Math.max(this.el.clientWidth - 16, 400), height: 220,
        series: [{}].concat(lines.map((l, i) => ({ label: l.label, stroke: COLORS[i % COLORS.length],
                                                    width: 1.5, spanGaps: false }))),
        axes: [{}, { size: 60 }],
      };
      this.plot = new uPlot(opts, data, this.el.querySelector(".plot"));
      this.labels = labels;
    } else {
      this.plot.setData(data);
    }
    let n = 0;
    for (let i = 1; i < data.length; i++) for (const v of data[i]) if (v !== null) n++;
    this.el.dataset.points = String(n);
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
