// The dashboard's outcomes and cost panels: polls /dashboard.json every 5 s and draws its "outcomes" section
// (realised vs predicted default rate per risk tier) and its "cost" section (cost per 1,000 decisions per version
// next to the card's and the rolling AUC, CPU-seconds per 1,000 decisions per service). Plain browser JavaScript;
// every value from the monitor goes in as text, never as HTML.
/* global Chart, document, window, fetch, setTimeout */
"use strict";

(() => {
  const POLL_MS = 5000;
  const el = (id) => document.getElementById(id);
  const num = (x, digits) => (x === null || x === undefined || Number.isNaN(x) ? "–" : Number(x).toFixed(digits));
  const pct = (x) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(1)} %`);
  const panel = { chart: null, updates: 0 };
  window.__outcomesPanel = panel;

  function table(header, rows, flags = []) {
    const t = document.createElement("table");
    const line = (tag, values, cls) => {
      const tr = document.createElement("tr");
      if (cls) tr.className = cls;
      values.forEach((v, i) => {
        const c = document.createElement(tag);
        c.textContent = String(v);
        if (i === 0) c.className = "l";
        tr.append(c);
      });
      t.append(tr);
    };
    line("th", header);
    rows.forEach((r, i) => line("td", r, flags[i]));
    return t;
  }

  function drawOutcomes(versions) {
    const box = el("outcomes");
    box.replaceChildren();
    if (!versions || versions.length === 0) {
      box.textContent = "No outcomes yet (tenants report them with ReportOutcome).";
      return;
    }
    for (const v of versions) {
      const h = document.createElement("h3");
      h.textContent =
        `${v.model} version ${v.version}: ${v.window_outcomes} outcomes · AUC ${num(v.rolling_auc, 3)} ` +
        `(card ${num(v.card_auc, 3)}) · calibration error ${num(v.calibration_error, 3)} (card ${num(v.card_calibration_error, 3)})`;
      const rows = v.tiers.map((t) => [
        t.tier,
        t.outcomes,
        pct(t.realised_rate),
        `${pct(t.predicted_rate)} ± ${pct(t.band)}`,
        t.state,
      ]);
      const flags = v.tiers.map((t) => (t.state === "above" || t.state === "below" ? "warn" : ""));
      box.append(h, table(["tier", "outcomes", "realised", "predicted ± band", "band"], rows, flags));
    }
  }

  function drawCost(cost) {
    const note = el("cost-note");
    const box = el("cost-services");
    if (!cost) {
      note.textContent = "Cost is not measured: MONITOR_COST_TARGETS is not set.";
      box.replaceChildren();
      return;
    }
    note.textContent =
      `Over ${num(cost.period_seconds, 0)} s and ${cost.decisions} decisions; ${cost.price_core_hour} per core-hour, ` +
      `${cost.price_gpu_hour} per GPU-hour.` +
      (cost.unreachable.length ? ` Unreachable: ${cost.unreachable.join(", ")}.` : "");
    const rows = cost.services.map((s) => [s.service, s.instances, num(s.cpu_seconds_per_1000, 3)]);
    box.replaceChildren(table(["service", "instances", "CPU-s per 1,000 decisions"], rows));
    const labels = cost.versions.map((v) => `${v.model} v${v.version}`);
    if (!panel.chart)
      panel.chart = new Chart(el("chart-cost"), {
        type: "bar",
        data: { labels: [], datasets: [] },
        options: {
          animation: false,
          maintainAspectRatio: false,
          scales: {
            y: { beginAtZero: true, title: { display: true, text: "cost per 1,000" } },
            auc: {
              position: "right",
              min: 0.5,
              max: 1,
              title: { display: true, text: "AUC" },
              grid: { drawOnChartArea: false },
            },
          },
        },
      });
    panel.chart.data.labels = labels;
    panel.chart.data.datasets = [
      {
        label: "cost per 1,000 decisions",
        data: cost.versions.map((v) => v.cost_per_1000),
        backgroundColor: "#1f77b4",
      },
      {
        label: "card AUC",
        type: "line",
        yAxisID: "auc",
        data: cost.versions.map((v) => v.card_auc),
        borderColor: "#2ca02c",
        pointRadius: 4,
      },
      {
        label: "rolling AUC",
        type: "line",
        yAxisID: "auc",
        data: cost.versions.map((v) => v.rolling_auc),
        borderColor: "#d62728",
        pointRadius: 4,
      },
    ];
    panel.chart.update();
  }

  async function poll() {
    try {
      const res = await fetch("/dashboard.json", { cache: "no-store" });
      if (res.ok) {
        const snap = await res.json();
        drawOutcomes(snap.outcomes);
        drawCost(snap.cost);
        panel.updates++;
      }
    } catch {
      // dashboard.js reports an unreachable monitor
    }
    setTimeout(poll, POLL_MS);
  }

  void poll();
})();
