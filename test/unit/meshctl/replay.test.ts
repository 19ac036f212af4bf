import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { create, fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import {
  Assignment,
  AuditRecordSchema,
  ThresholdsSchema,
  type AuditRecord,
} from "../../../gen/scoremesh/audit/v1/audit_pb.js";
import { Decision, Route } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { replayInputs } from "../../../services/feature/replay-inputs.js";
import {
  buildVector,
  ModelRepository,
  parseSnapshot,
  specHash,
  type FeatureSpec,
} from "../../../services/lib/model/index.js";
import { RulesScorecard } from "../../../services/lib/model/index.js";
import {
  compareReplay,
  f32Hex,
  notReplayable,
  rebuildVector,
  replayDecision,
  type ReplayOutcome,
} from "../../../tools/meshctl/replay/rebuild.js";
import { replayRecords } from "../../../tools/meshctl/replay/replay-run.js";
import { ReplayScorer } from "../../../tools/meshctl/replay/scorer.js";
import { creditRows } from "../../support/credit-data.js";

const concat = (...xs: (Uint8Array | undefined)[]) => Buffer.concat(xs.map((x) => x ?? new Uint8Array(0)));
const SNAPSHOT = "models/credit-default/entities/snapshot-20051001T000000Z.jsonl";
const spec = JSON.parse(readFileSync("models/credit-default/spec.json", "utf8")) as FeatureSpec;
const snapshot = parseSnapshot(readFileSync(SNAPSHOT, "utf8"), { source: SNAPSHOT, spec });
const HASH = specHash(spec);

/** A record as the router writes it for row `i` of the data (entity C0000i), with what the feature service built. */
function recordOf(i: number, more: Omit<MessageInitShape<typeof AuditRecordSchema>, "$typeName"> = {}): AuditRecord {
  const inputs = creditRows(1, i)[0]!;
  const entityId = `C${String(i).padStart(5, "0")}`;
  const entity = snapshot.entities.get(entityId);
  const { vector, imputed } = buildVector(spec, inputs, entity);
  const kept = replayInputs(spec, inputs, entity);
  const asRecord = fromBinary(AuditRecordSchema, concat(kept.inputs, kept.entity));
  return create(AuditRecordSchema, {
    requestId: `r-${i}`,
    model: "credit-default",
    modelVersion: "2",
    featureSpecHash: HASH,
    assignment: Assignment.CHAMPION,
    inputs: asRecord.inputs,
    entityFeatures: asRecord.entityFeatures,
    entityId,
    imputed,
    vector: Array.from(vector),
    thresholds: { review: 0.3, decline: 0.6 },
    score: Math.fround(0.1234),
    decision: Decision.APPROVE,
    route: Route.PRIMARY,
    ...more,
  });
}

const outcome = (r: AuditRecord, more: Partial<ReplayOutcome> = {}): ReplayOutcome => ({
  score: r.score,
  thresholds: { review: 0.3, decline: 0.6 },
  decision: r.decision,
  reasons: r.reasons,
  ...more,
});

describe("replay: the vector rebuilt from the recorded inputs", () => {
  test("is the feature service's vector bit for bit, without SEX, AGE or MARRIAGE in the record", () => {
    for (let i = 0; i < 50; i++) {
      const r = recordOf(i);
      assert.ok(!("AGE" in r.inputs) && !("SEX" in r.inputs) && !("MARRIAGE" in r.inputs));
      const rebuilt = rebuildVector(spec, r);
      assert.deepEqual(compareReplay(spec, r, rebuilt, outcome(r)), [], `row ${i}`);
    }
  });

  test("an unknown entity (no entity features) imputes them as the feature service did", () => {
    const r = recordOf(3);
    const inputs = creditRows(1, 3)[0]!;
    const built = buildVector(spec, inputs, undefined);
    const unknown = create(AuditRecordSchema, {
      ...r,
      entityFeatures: {},
      vector: Array.from(built.vector),
      imputed: built.imputed,
    });
    assert.deepEqual(compareReplay(spec, unknown, rebuildVector(spec, unknown), outcome(unknown)), []);
    assert.ok(built.imputed.includes("avg_utilization_6m"));
  });

  test("a tampered input is named: the vector column differs", () => {
    const r = recordOf(5);
    const tampered = create(AuditRecordSchema, { ...r, inputs: { ...r.inputs, PAY_0: r.inputs["PAY_0"]! + 2 } });
    const m = compareReplay(spec, tampered, rebuildVector(spec, tampered), outcome(tampered));
    assert.equal(m.length, 1);
    assert.equal(m[0]!.field, "vector");
    assert.match(m[0]!.recorded, /PAY_0/);
  });

  test("a dropped entity feature shows in the vector and the imputed list", () => {
    const r = recordOf(6);
    const { avg_utilization_6m: _gone, ...rest } = r.entityFeatures;
    const tampered = create(AuditRecordSchema, { ...r, entityFeatures: rest });
    const fields = compareReplay(spec, tampered, rebuildVector(spec, tampered), outcome(tampered)).map((m) => m.field);
    assert.deepEqual(fields, ["vector", "imputed"]);
  });
});

describe("replay: the comparison", () => {
  const r = recordOf(1, {
    score: Math.fround(0.4),
    decision: Decision.REVIEW,
    reasons: [{ code: "R1", feature: "PAY_0", contribution: 0.25 }],
  });
  const rebuilt = rebuildVector(spec, r);

  test("a score one float32 step away is a mismatch, shown with its bits", () => {
    const next = new Float32Array([r.score]);
    new Uint32Array(next.buffer)[0]! += 1;
    const m = compareReplay(spec, r, rebuilt, outcome(r, { score: next[0]! }));
    assert.deepEqual(
      m.map((x) => x.field),
      ["score"],
    );
    assert.ok(m[0]!.recorded.includes(f32Hex(r.score)) && m[0]!.replayed.includes(f32Hex(next[0]!)));
  });

  test("decision, thresholds and each reason are compared", () => {
    const m = compareReplay(
      spec,
      r,
      rebuilt,
      outcome(r, {
        decision: Decision.DECLINE,
        thresholds: { review: 0.3, decline: 0.35 },
        reasons: [{ code: "R1", feature: "PAY_0", contribution: 0.25000000000000006 }],
      }),
    );
    assert.deepEqual(
      m.map((x) => x.field),
      ["thresholds", "decision", "reasons"],
    );
  });

  test("the decision of a degraded record uses its recorded review band", () => {
    const t = { review: 0.3, decline: 0.6 };
    assert.equal(replayDecision(0.29, t, { degraded: false, reviewBand: 0.02 }), Decision.APPROVE);
    assert.equal(replayDecision(0.29, t, { degraded: true, reviewBand: 0.02 }), Decision.REVIEW);
    assert.equal(replayDecision(0.29, t, { degraded: true, reviewBand: 0 }), Decision.APPROVE);
  });

  test("records that cannot be replayed say why", () => {
    assert.match(notReplayable(create(AuditRecordSchema, { ...r, inputs: {} }), HASH)!, /no recorded inputs/);
    assert.match(notReplayable(r, "sha256:0000")!, /is not the repository's/);
    assert.match(notReplayable(create(AuditRecordSchema, { ...r, assignment: Assignment.SHADOW }), HASH)!, /shadow/);
    assert.equal(notReplayable(r, HASH), undefined);
  });
});

describe("replay: records of the rules baseline replay against the rules", () => {
  const rules = new RulesScorecard(spec);
  const noWorker = {
    modelInfer: () => Promise.reject(new Error("no worker in this test")),
  } as unknown as ConstructorParameters<typeof ReplayScorer>[1];
  const scorer = new ReplayScorer(new ModelRepository("models"), noWorker);

  const rulesRecord = (i: number, degraded = true) => {
    const r = recordOf(i, { modelVersion: "rules", route: Route.RULES, degraded, reviewBand: degraded ? 0.02 : 0 });
    const score = rules.score(r.vector).score;
    const decision = replayDecision(score, RulesScorecard.thresholds, r);
    return create(AuditRecordSchema, {
      ...r,
      score,
      decision,
      thresholds: create(ThresholdsSchema, RulesScorecard.thresholds),
    });
  };

  test("exact: score (float64), decision and no reasons; a model version without a worker fails, named", async () => {
    const items = Array.from({ length: 30 }, (_, i) => ({ at: i + 1, record: rulesRecord(i) }));
    const altered = rulesRecord(30);
    altered.score = altered.score + 1e-12;
    items.push({ at: 31, record: altered }, { at: 32, record: recordOf(31) });
    const results = await replayRecords(items, scorer);
    assert.deepEqual(
      results.map((x) => x.status),
      [...Array<string>(30).fill("match"), "mismatch", "failed"],
    );
    assert.equal(results[30]!.mismatches![0]!.field, "score");
    assert.match(results[31]!.reason!, /credit-default v2 could not be scored: no worker in this test/);
  });
});
