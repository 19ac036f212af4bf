import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SegmentDef } from "../../../services/lib/model/index.js";
import { segmentPerformance } from "../../../tools/trainer/segment-performance.js";

// Eight hand-made rows: four men (two defaults), four women (one default); one row under 30.
const ROWS = [
  { SEX: 1, AGE: 40, EDUCATION: 1 },
  { SEX: 1, AGE: 40, EDUCATION: 1 },
  { SEX: 1, AGE: 40, EDUCATION: 0 },
  { SEX: 1, AGE: 40, EDUCATION: 2 },
  { SEX: 2, AGE: 20, EDUCATION: 2 },
  { SEX: 2, AGE: 40, EDUCATION: 2 },
  { SEX: 2, AGE: 40, EDUCATION: 1 },
  { SEX: 2, AGE: 40, EDUCATION: 2 },
];
const SCORES = [0.1, 0.2, 0.6, 0.9, 0.05, 0.1, 0.3, 0.4];
const LABELS = [0, 1, 0, 1, 0, 0, 1, 0];
const SEGMENTS: SegmentDef[] = [
  { name: "sex", source: "SEX", labels: { "1": "male", "2": "female" } },
  { name: "age_band", source: "AGE", edges: [30] },
  { name: "education", source: "EDUCATION", labels: { "0": "undocumented", "1": "graduate", "2": "university" } },
];

const perf = () =>
  segmentPerformance({
    rows: ROWS,
    scores: SCORES,
    labels: LABELS,
    thresholds: { review: 0.5, decline: 0.8 },
    segments: SEGMENTS,
    protectedInputs: new Set(["SEX", "AGE"]),
    minRows: 2,
  });

describe("segmentPerformance", () => {
  it("measures the rows overall: AUC, default rate and the three decision rates at the thresholds", () => {
    // Positives 0.2, 0.9, 0.3 against negatives 0.1, 0.6, 0.05, 0.1, 0.4: 3 + 5 + 3 of 15 pairs ordered right.
    assert.deepEqual(perf().overall, {
      rows: 8,
      defaults: 3,
      default_rate: 0.375,
      roc_auc: 0.7333,
      approval_rate: 0.75,
      review_rate: 0.125,
      decline_rate: 0.125,
    });
  });

  it("compares the groups' approval rates and flags a ratio below 0.8", () => {
    const sex = perf().segments[0]!;
    assert.deepEqual(
      sex.groups.map((g) => [g.group, g.rows, g.roc_auc, g.approval_rate, g.review_rate, g.approval_ratio]),
      [
        ["male", 4, 0.75, 0.5, 0.25, 0.5],
        ["female", 4, 0.6667, 1, 0, 1],
      ],
    );
    assert.equal(sex.protected, true);
    assert.deepEqual([sex.approval_ratio, sex.lowest, sex.highest, sex.flagged], [0.5, "male", "female", true]);
  });

  it("lists a group below min_rows without comparing it, and gives no AUC for a group of one class", () => {
    const age = perf().segments[1]!;
    assert.deepEqual(
      age.groups.map((g) => [g.group, g.rows, g.roc_auc, g.approval_ratio]),
      [
        ["<30", 1, null, null],
        ["30+", 7, 0.6667, 1], // 2 + 4 + 2 of 3 × 4 pairs
      ],
    );
    assert.deepEqual([age.approval_ratio, age.lowest, age.highest, age.flagged], [null, null, null, false]);
  });

  it("orders coded groups as listed with catch-alls last, and marks a model input as not protected", () => {
    const education = perf().segments[2]!;
    assert.deepEqual(
      education.groups.map((g) => g.group),
      ["graduate", "university", "undocumented"],
    );
    assert.equal(education.protected, false);
  });

  it("refuses scores or labels that do not match the rows one for one", () => {
    assert.throws(
      () =>
        segmentPerformance({
          rows: ROWS,
          scores: SCORES.slice(1),
          labels: LABELS,
          thresholds: { review: 0.5, decline: 0.8 },
          segments: [],
          protectedInputs: new Set(),
        }),
      /8 rows, 7 scores and 8 labels/,
    );
  });
});
