// The monitor's live dashboard: polls /dashboard.json every 2 s and redraws its charts and tables in place (no
// page reload). Plain browser JavaScript; chart.js 4 (window.Chart) is served by the monitor from node_modules.
/* global Chart, document, window, fetch, setTimeout */
"use strict";

const POLL_MS = 2000;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
const charts = {};
const state = { updates: 0, lastError: null };
window.__dashboard = { charts, state };

const el = (id) => document.getElementById(id);
const { fmt, pct, drawSegments, drawVersions, drawWorkers } = window.dashboardTables;
const clock = (t) => new Date(t).toLocaleTimeString([], { hour12: false });
const color = (i) => COLORS[i % COLORS.length];
/** One colour per model version on every chart, in the order versions first appear. */
const versionColors = new Map();
const colorOf = (name) => {
  if (!versionColors.has(name)) versionColors.set(name, color(versionColors.size + 1));
  return versionColors.get(name);
};
const ROUTE_COLORS = {
  primary: "#1f77b4",
  canary: "#ff7f0e",
  fallback_model: "#7f7f7f",
  rules: "#9467bd",
  cache: "#17becf",
};

function chart(id, type, options = {}) {
  if (charts[id]) return charts[id];
  charts[id] = new Chart(el(id), {
    type,
    data: { labels: [], datasets: [] },
    options: {
      animation: false,
      maintainAspectRatio: false,
      spanGaps: true,
      elements: { point: { radius: 0 } },
      plugins: { legend: { labels: { boxWidth: 12 } } },
      ...options,
    },
  });
  return charts[id];
}

/** Replaces a chart's labels and datasets, keeping the dataset objects (so chart.js updates in place). */
function setData(c, labels, datasets) {
  c.data.labels = labels;
  c.data.datasets = datasets.map((d, i) => Object.assign(c.data.datasets[i] ?? {}, d));
  c.update("none");
}

const line = (label, data, c, extra = {}) => ({
  label,
  data,
  borderColor: c,
  backgroundColor: c,
  borderWidth: 1.5,
  ...extra,
});
const versionName = (v) => `${v.model}/${v.version}`;

function drawTimeline(tl) {
  const labels = tl.t.map(clock);
  const versions = tl.versions;
  setData(chart("chart-throughput", "line"), labels, [
    line("all", tl.requests_per_s, "#333333", { borderWidth: 2 }),
    ...versions.map((v) => line(versionName(v), v.decisions_per_s, colorOf(versionName(v)))),
  ]);
  setData(chart("chart-latency", "line"), labels, [line("p50", tl.p50_ms, color(0)), line("p99", tl.p99_ms, color(1))]);
  const yShare = { scales: { y: { min: 0, ticks: { callback: (v) => `${Math.round(100 * v)} %` } } } };
  setData(chart("chart-degraded", "line", yShare), labels, [line("degraded", tl.degraded_rate, color(3))]);
  setData(
    chart("chart-band", "line", yShare),
    labels,
    versions.map((v) => line(versionName(v), v.review_band_share, colorOf(versionName(v)))),
  );
  setData(
    chart("chart-distance", "line", { scales: { y: { min: 0 } } }),
    labels,
    versions.map((v) => line(versionName(v), v.mean_threshold_distance, colorOf(versionName(v)))),
  );
}

function drawRoutes(mix) {
  const decisions = mix.filter((m) => m.role !== "shadow");
  const routes = [...new Set(decisions.flatMap((m) => Object.keys(m.routes)))].sort();
  const stacked = { scales: { x: { stacked: true }, y: { stacked: true } } };
  setData(
    chart("chart-routes", "bar", stacked),
    decisions.map(versionName),
    routes.map((r, i) => ({
      label: r,
      data: decisions.map((m) => m.routes[r] ?? 0),
      backgroundColor: ROUTE_COLORS[r] ?? color(i),
    })),
  );
}

function drawScores(mix, bins) {
  const labels = Array.from({ length: bins }, (_, i) => (i / bins).toFixed(2));
  const shares = (m) => m.score_bins.map((c) => (m.decisions ? c / m.decisions : 0));
  setData(
    chart("chart-scores", "line", { elements: { point: { radius: 2 } } }),
    labels,
    mix.map((m) =>
      line(`${versionName(m)} (${m.role}, ${m.decisions})`, shares(m), colorOf(versionName(m)), {
        borderDash: m.role === "shadow" ? [5, 3] : undefined,
      }),
    ),
  );
}

function drawPsi(drift, t) {
  const labels = drift.map((d) => `${d.model}/${d.version}`);
  const levelColor = { ok: "#2ca02c", warn: "#ff7f0e", alert: "#d62728", insufficient: "#aaaaaa" };
  setData(chart("chart-psi", "bar"), labels, [
    { label: "PSI", data: drift.map((d) => d.psi), backgroundColor: drift.map((d) => levelColor[d.level]) },
    {
      type: "line",
      label: `warn ${t.warn}`,
      data: drift.map(() => t.warn),
      borderColor: "#ff7f0e",
      borderDash: [4, 4],
    },
    {
      type: "line",
      label: `alert ${t.alert}`,
      data: drift.map(() => t.alert),
      borderColor: "#d62728",
      borderDash: [4, 4],
    },
  ]);
}

function drawKpis(snap) {
  const tl = snap.timeline;
  const last = tl.requests_per_s.length - 1;
  el("kpi-decisions").textContent = String(snap.decisions_total);
  el("kpi-rps").textContent = fmt(tl.requests_per_s[last], 1);
  el("kpi-latency").textContent = `${fmt(snap.latency_ms.p50)} · ${fmt(snap.latency_ms.p99)} ms`;
  const deg = snap.versions.reduce((s, v) => s + v.degraded, 0);
  el("kpi-degraded").textContent = snap.decisions_total ? pct(deg / snap.decisions_total) : "–";
  el("kpi-reviews").textContent = String(snap.review_cases.queued);
  const worst = ["alert", "warn", "ok", "insufficient"].find((l) => snap.score_drift.some((d) => d.level === l));
  el("kpi-drift").textContent = worst ?? "no profile";
  el("kpi-drift").className = worst === "alert" || worst === "warn" ? "warn" : "";
  const flagged = snap.segments.flatMap((v) => v.attributes.filter((a) => a.flagged));
  el("kpi-segments").textContent = flagged.length ? `${flagged.length} below ${snap.segment_rule.bound}` : "ok";
  el("kpi-segments").className = flagged.length ? "warn" : "";
}

function draw(snap) {
  drawKpis(snap);
  drawTimeline(snap.timeline);
  drawRoutes(snap.score_mix);
  drawScores(snap.score_mix, snap.score_bins);
  drawPsi(snap.score_drift, snap.drift_thresholds);
  drawSegments(snap);
  drawVersions(snap);
  drawWorkers(snap);
  window.dashboardAlerts.drawAlerts(snap);
  window.dashboardDrift?.draw(snap, { chart, setData, line, colorOf });
}

async function poll() {
  try {
    const res = await fetch("/dashboard.json", { cache: "no-store" });
    if (!res.ok) throw new Error(`/dashboard.json: HTTP ${res.status}`);
    const snap = await res.json();
    draw(snap);
    state.updates++;
    state.lastError = null;
    el("status").textContent = `live · updated ${clock(Date.parse(snap.generated_at))}`;
    el("status").className = "dim";
  } catch (err) {
    state.lastError = String(err);
    el("status").textContent = `monitor unreachable, retrying (${err.message ?? err})`;
    el("status").className = "warn";
  }
  setTimeout(poll, POLL_MS);
}

void poll();
