import { readFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { DecisionRecordSchema, type DecisionRecord } from "../../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Route } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PROJECT_ROOT } from "../../../../deploy/local/mesh.js";
import { buildVector, ModelRepository, parseSnapshot, segmentsOf } from "../../../../services/lib/model/index.js";
import { replayInputs } from "../../../../services/feature/replay-inputs.js";
import { loadCsv } from "../../../../tools/trainer/csv.js";
import { createRng } from "../../../../tools/trainer/rng.js";
import { CREDIT_CSV } from "../../../support/credit-data.js";

export const MODEL = "credit-default";
/** The linear version: its score is a dot product here, the same as its model.onnx (shipped-models.test.ts). */
export const VERSION = "1";
export const repo = new ModelRepository(join(PROJECT_ROOT, "models"));

/**
 * The credit data's rows as the monitor receives them: each row's non-sensitive inputs (the feature service's
 * replayInputs, the encoded audit map the router copies), its segments (segmentsOf) and version 1's score of its vector (buildVector with the row's
 * entity features from the shipped snapshot), built once per row on first use.
 */
export class CreditStream {
  readonly rows = loadCsv(CREDIT_CSV).rows;
  private readonly spec = repo.spec(MODEL);
  private readonly card = repo.card(MODEL, VERSION);
  private readonly entities = parseSnapshot(
    readFileSync(join(PROJECT_ROOT, "models", MODEL, "entities", "snapshot-20051001T000000Z.jsonl"), "utf8"),
    { source: "snapshot", spec: this.spec },
  ).entities;
  private readonly built = new Map<number, DecisionRecord>();

  /** The indices of the rows for which `keep` holds. */
  where(keep: (row: Record<string, number>) => boolean): number[] {
    return this.rows.flatMap((r, i) => (keep(r) ? [i] : []));
  }

  /** `n` records drawn with replacement from `pool` (row indices), seeded. */
  draw(pool: readonly number[], n: number, seed: number): DecisionRecord[] {
    const rng = createRng(seed);
    return Array.from({ length: n }, () => this.record(pool[rng.int(pool.length)]!));
  }

  record(i: number): DecisionRecord {
    let r = this.built.get(i);
    if (r) return r;
    const { default: _label, ...inputs } = this.rows[i]!;
    const entity = this.entities.get("C" + String(i).padStart(5, "0"));
    const { vector } = buildVector(this.spec, inputs, entity);
    const { intercept, coefficients } = this.card.linear!;
    let eta = intercept;
    for (let j = 0; j < vector.length; j++) eta += coefficients[j]! * vector[j]!;
    r = create(DecisionRecordSchema, {
      model: MODEL,
      modelVersion: VERSION,
      route: Route.PRIMARY,
      score: 1 / (1 + Math.exp(-eta)),
      segment: segmentsOf(this.spec, inputs),
      inputs: replayInputs(this.spec, inputs, entity).inputs,
    });
    this.built.set(i, r);
    return r;
  }
}
