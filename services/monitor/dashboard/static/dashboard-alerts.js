// The dashboard's "Alerts" panel (the monitor's alert engine: rule, state, value against threshold, since when),
// drawn from /dashboard.json's `alerts` by dashboard.js. Plain browser JavaScript; everything goes in as text.
/* global document, window */
"use strict";

(() => {
  const el = (id) => document.getElementById(id);
  const ORDER = { firing: 0, pending: 1, ok: 2 };

  function value(a) {
    if (a.rule === "latency_p99") return `${a.value.toFixed(1)} ms`;
    if (a.rule === "breaker_open" || a.rule === "cpu_fallback") return a.value ? "yes" : "no";
    return a.value.toFixed(3);
  }

  function row(a, now) {
    const tr = document.createElement("tr");
    const side = a.direction === "above" ? ">" : "<";
    const sample = a.sample < a.min_sample ? ` (sample ${a.sample} of ${a.min_sample})` : "";
    const since = Math.max(0, Math.round((now - Date.parse(a.since)) / 1000));
    const cells = [
      a.rule,
      `${a.model || "–"}${a.version ? ` v${a.version}` : ""}${a.subject ? ` · ${a.subject}` : ""}`,
      a.state,
      `${value(a)} ${side} ${Number(a.threshold.toFixed(3))}${sample}`,
      `${since} s`,
    ];
    cells.forEach((text, i) => {
      const td = document.createElement("td");
      td.textContent = text;
      if (i === 0) td.className = "l";
      if (i === 2) td.className = a.state === "ok" ? "ok" : "warn";
      tr.append(td);
    });
    return tr;
  }

  function drawAlerts(snap) {
    const alerts = [...(snap.alerts ?? [])].sort((a, b) => ORDER[a.state] - ORDER[b.state]);
    const active = alerts.filter((a) => a.state !== "ok").length;
    el("alerts-note").textContent = alerts.length
      ? `${active} of ${alerts.length} rules pending or firing`
      : "no rule has a reading yet";
    const table = el("alerts");
    table.replaceChildren();
    const head = document.createElement("tr");
    for (const h of ["rule", "model · subject", "state", "value vs threshold", "since"]) {
      const th = document.createElement("th");
      th.textContent = h;
      head.append(th);
    }
    table.append(head);
    const now = Date.parse(snap.generated_at);
    for (const a of alerts) table.append(row(a, now));
  }

  window.dashboardAlerts = { drawAlerts };
})();
