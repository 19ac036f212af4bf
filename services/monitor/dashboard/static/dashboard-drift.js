// The dashboard's drift panel (/dashboard.json `drift`): PSI per feature of each version over the last N decisions
// (the score, every input, the protected attributes' segments), coloured by state, and the confidence decay per
// minute over the time window with its figures. dashboard.js calls draw() with its chart helpers on every poll.
/* global document, window */
"use strict";

const LEVEL_COLORS = { ok: "#2ca02c", warn: "#ff7f0e", alert: "#d62728", insufficient: "#aaaaaa" };

function drawFeaturePsi(drift, h) {
  const versions = drift.versions;
  const features = [...new Set(versions.flatMap((v) => v.features.map((f) => f.feature)))];
  const psiOf = (v) => {
    const byName = new Map(v.features.filter((f) => f.window === "decisions").map((f) => [f.feature, f]));
    return features.map((name) => byName.get(name));
  };
  const rule = drift.rule;
  h.setData(h.chart("chart-feature-psi", "bar", { scales: { x: { ticks: { autoSkip: false } } } }), features, [
    ...versions.map((v) => {
      const name = `${v.model}/${v.version}`;
      const cells = psiOf(v);
      return {
        label: name,
        data: cells.map((f) => (f ? f.psi : null)),
        backgroundColor: cells.map((f) => LEVEL_COLORS[f ? f.level : "insufficient"]),
        borderColor: h.colorOf(name),
        borderWidth: 1,
      };
    }),
    h.line(
      `warn ${rule.psi_warn}`,
      features.map(() => rule.psi_warn),
      "#ff7f0e",
      { type: "line", borderDash: [4, 4] },
    ),
    h.line(
      `alert ${rule.psi_alert}`,
      features.map(() => rule.psi_alert),
      "#d62728",
      { type: "line", borderDash: [4, 4] },
    ),
  ]);
}

function drawConfidenceHour(drift, h) {
  const minutes = [...new Set(drift.versions.flatMap((v) => v.confidence.series.map((p) => p.start)))].sort();
  const labels = minutes.map((t) =>
    new Date(t).toLocaleTimeString([], { hour12: false, hour: "2-digit", minute: "2-digit" }),
  );
  const yShare = { scales: { y: { min: 0, ticks: { callback: (v) => `${Math.round(100 * v)} %` } } } };
  h.setData(
    h.chart("chart-band-hour", "line", { ...yShare, elements: { point: { radius: 3 } } }),
    labels,
    drift.versions.map((v) => {
      const name = `${v.model}/${v.version}`;
      const at = new Map(v.confidence.series.map((p) => [p.start, p.review_share]));
      return h.line(
        name,
        minutes.map((t) => at.get(t) ?? null),
        h.colorOf(name),
      );
    }),
  );
  const pct = (x) => (x === null || x === undefined ? "–" : `${(100 * x).toFixed(1)} %`);
  const num = (x) => (x === null || x === undefined ? "–" : x.toFixed(3));
  const lines = drift.versions.map((v) => {
    const c = v.confidence;
    return `${v.model}/${v.version}: in the review band ${pct(c.decisions.review_share)} of the last ${c.decisions.scored}, ${pct(c.time.review_share)} of the last ${Math.round(drift.rule.window_seconds / 60)} min (reference ${pct(c.reference_review_share)}); mean distance from the nearest threshold ${num(c.decisions.mean_threshold_distance)} · ${num(c.time.mean_threshold_distance)}`;
  });
  document.getElementById("drift-confidence").textContent = lines.join("\n");
}

window.dashboardDrift = {
  draw(snap, helpers) {
    if (!snap.drift) return;
    drawFeaturePsi(snap.drift, helpers);
    drawConfidenceHour(snap.drift, helpers);
  },
};
