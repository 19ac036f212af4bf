// The dashboard's tables (segments, versions, shadows, model workers), drawn from /dashboard.json by dashboard.js.
// Plain browser JavaScript, loaded before dashboard.js; everything from the monitor goes in as text, never as HTML.
/* global document, window */
"use strict";

(() => {
  const fmt = (x, digits = 2) => (x === null || x === undefined || Number.isNaN(x) ? "–" : Number(x).toFixed(digits));
  const pct = (x) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(1)} %`);
  const el = (id) => document.getElementById(id);

  /** A text-only cell; every value from the monitor goes in as text, never as HTML. */
  function cell(tag, text, cls) {
    const c = document.createElement(tag);
    c.textContent = text;
    if (cls) c.className = cls;
    return c;
  }

  function fillTable(table, header, rows) {
    table.replaceChildren();
    const head = document.createElement("tr");
    header.forEach((h, i) => head.append(cell("th", h, i === 0 ? "l" : "")));
    table.append(head);
    for (const row of rows) {
      const tr = document.createElement("tr");
      row.forEach((v, i) => tr.append(cell("td", String(v), i === 0 ? "l" : "")));
      table.append(tr);
    }
  }

  function drawSegments(snap) {
    const rule = snap.segment_rule;
    el("segment-rule").textContent =
      `Since the monitor started. Ratio: lowest ÷ highest approval rate across an attribute's groups, read once every ` +
      `group has ${rule.min_sample} decisions; flagged below ${rule.bound} (the four-fifths rule).`;
    const box = el("segments");
    box.replaceChildren();
    for (const v of snap.segments) {
      box.append(cell("h3", `${v.model} version ${v.version}`));
      const wrapBox = document.createElement("div");
      wrapBox.className = "segments";
      for (const a of v.attributes) wrapBox.append(segmentTable(a, rule));
      box.append(wrapBox);
    }
  }

  function segmentTable(a, rule) {
    const table = document.createElement("table");
    table.dataset.attribute = a.attribute;
    const rows = a.groups.map((g) => [
      g.group,
      g.decisions,
      pct(g.approveRate),
      pct(g.reviewRate),
      pct(g.declineRate),
      fmt(g.meanScore, 3),
    ]);
    fillTable(table, [a.attribute, "n", "approve", "review", "decline", "mean score"], rows);
    const foot = document.createElement("tr");
    const ratioText =
      a.approvalRatio === null
        ? `ratio: waiting (${a.waiting.length ? `${a.waiting.join(", ")} under ${rule.min_sample}` : "one group"})`
        : `approval ratio ${fmt(a.approvalRatio, 3)} (${a.lowest} ÷ ${a.highest})${a.flagged ? ` below ${rule.bound}` : ""}`;
    const td = cell("td", ratioText, `l ${a.flagged ? "warn" : a.approvalRatio === null ? "dim" : "ok"}`);
    td.colSpan = 6;
    foot.append(td);
    table.append(foot);
    return table;
  }

  function drawVersions(snap) {
    fillTable(
      el("versions"),
      ["model", "version", "decisions", "approve", "review", "decline", "degraded", "mean score"],
      snap.versions.map((v) => [
        v.model,
        v.version,
        v.decisions,
        v.approve,
        v.review,
        v.decline,
        v.degraded,
        fmt(v.mean_score, 4),
      ]),
    );
    const shadows = el("shadows");
    shadows.replaceChildren();
    if (snap.shadows.length === 0) return;
    const table = document.createElement("table");
    fillTable(
      table,
      ["model", "champion", "shadow", "pairs", "mean |score diff|", "agreement"],
      snap.shadows.map((s) => [
        s.model,
        s.champion_version,
        s.shadow_version,
        s.pairs,
        fmt(s.mean_abs_score_diff, 4),
        pct(s.agreement_rate),
      ]),
    );
    shadows.append(table);
  }

  function drawWorkers(snap) {
    const note = {
      watching: "",
      connecting: " (not connected to NATS yet)",
      retrying: " (worker bucket unreadable: retrying)",
    };
    const n = snap.workers.length;
    el("workers-note").textContent =
      `${n} model worker${n === 1 ? "" : "s"} reporting` +
      (note[snap.worker_registry] ?? ` (NATS is away: these are the last records seen)`);
    fillTable(
      el("workers"),
      ["worker", "providers requested", "providers active", "model versions ready", "started", "last report"],
      snap.workers.map((w) => [
        `${w.address} (${w.instance})`,
        w.providers_requested.join(", "),
        (w.providers_active.join(", ") || "none yet") + (w.cpu_fallback ? ` — CPU fallback: ${w.fallback_reason}` : ""),
        w.ready.join(", ") || "none",
        w.started_at,
        `${w.age_s} s ago`,
      ]),
    );
  }

  window.dashboardTables = { fmt, pct, drawSegments, drawVersions, drawWorkers };
})();
