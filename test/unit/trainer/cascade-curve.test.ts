import { test } from "node:test";
import assert from "node:assert/strict";
import { cascadeOutcome, fitBand, type CascadeArm } from "../../../tools/trainer/cascade-curve.js";

const thresholds = { review: 0.5, decline: 0.8 };
const rows = (n: number) => Array.from({ length: n }, (_, i) => i);

test("rows inside the band take the heavy score and decision; the others the light ones", () => {
  const light: CascadeArm = { scores: [0.1, 0.45, 0.55, 0.9], thresholds };
  const heavy: CascadeArm = { scores: [0.6, 0.55, 0.3, 0.95], thresholds };
  const p = cascadeOutcome(light, heavy, [0, 1, 0, 1], { low: 0.4, high: 0.6 }, rows(4));
  assert.equal(p.heavyShare, 0.5);
  // Row 0: light approves (0.1), heavy reviews (0.6): disagree. Rows 1, 2: heavy's own. Row 3: both decline.
  assert.equal(p.agreement, 0.75);
  // Cascade scores [0.1, 0.55, 0.3, 0.9] against labels [0, 1, 0, 1] rank perfectly.
  assert.equal(p.auc, 1);
});

test("a band over every score is heavy-only: full agreement, the heavy model's AUC", () => {
  const light: CascadeArm = { scores: [0.9, 0.1, 0.5, 0.3], thresholds };
  const heavy: CascadeArm = { scores: [0.2, 0.7, 0.4, 0.9], thresholds };
  const p = cascadeOutcome(light, heavy, [0, 1, 0, 1], { low: -Infinity, high: Infinity }, rows(4));
  assert.deepEqual([p.heavyShare, p.agreement, p.auc], [1, 1, 1]);
});

test("fitBand puts the band where the models disagree", () => {
  // Light and heavy agree except on rows whose light score is near 0.5.
  const n = 200;
  const lightScores = Array.from({ length: n }, (_, i) => i / n);
  const heavyScores = lightScores.map((s) => (s >= 0.45 && s < 0.55 ? 1 - s : s));
  const labels = lightScores.map((s) => (s > 0.5 ? 1 : 0));
  const band = fitBand({ scores: lightScores, thresholds }, { scores: heavyScores, thresholds }, labels, 0.1, rows(n));
  assert.equal(band.agreement, 1);
  // The rows whose decisions differ: light scores 0.45 ... 0.545.
  assert.ok(band.low <= 0.45 && band.high > 0.545, `band [${band.low}, ${band.high}) covers the disagreement`);
  assert.ok(band.heavyShare <= 0.11, "and not much more");
});
