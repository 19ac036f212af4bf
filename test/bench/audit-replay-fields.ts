import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { RouteRequestSchema, type FeatureRow } from "../../gen/scoremesh/router/v1/router_pb.js";
import { Decision, Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import { replayInputs } from "../../services/feature/replay-inputs.js";
import { sha256, encodeAuditRecord, type AuditFields } from "../../services/lib/audit/index.js";
import { buildVector, parseSnapshot, specHash, type FeatureSpec } from "../../services/lib/model/index.js";
import { creditRows } from "../support/credit-data.js";

/**
 * What the replay fields (FeatureRow.replay and entity_snapshot_id; AuditRecord inputs, entity features, snapshot
 * id, policy revision, explain, review band) cost the router per decision: decoding the RouteRequest rows with and
 * without them (fromBinary, 64-row calls as the feature service's batcher sends them), and encoding + hashing each
 * audit record with and without them (encodeAuditRecord + SHA-256, the per-record work of AuditTrail.record). Real
 * credit rows and entity features. Reports CPU per row and bytes per row/record.
 * Run: npm run build && node dist/test/bench/audit-replay-fields.js [--rounds N] (default 5).
 */
const MODEL = "credit-default";
const spec = JSON.parse(readFileSync(join(PROJECT_ROOT, "models", MODEL, "spec.json"), "utf8")) as FeatureSpec;
const snapFile = join(PROJECT_ROOT, "models", MODEL, "entities", "snapshot-20051001T000000Z.jsonl");
const snapshot = parseSnapshot(readFileSync(snapFile, "utf8"), { source: snapFile, spec });
const ROWS = 64;

function rowsOf(withReplay: boolean) {
  return creditRows(ROWS).map((inputs, i) => {
    const entityId = `C${String(i).padStart(5, "0")}`;
    const entity = snapshot.entities.get(entityId);
    const { vector, imputed } = buildVector(spec, inputs, entity);
    return {
      requestId: `0f6c3a8e-5d2b-4c1e-9a7f-${String(i).padStart(12, "0")}`,
      entityId,
      features: Array.from(vector),
      imputed,
      segment: { age_band: "25-34", sex: "female", marriage: "married" },
      traceId: "0af7651916cd43dd8448eb211c80319c",
      tenantId: "dev",
      ...(withReplay
        ? { replay: replayInputs(spec, inputs, entity), entitySnapshotId: "snapshot-20051001T000000Z" }
        : {}),
    };
  });
}

function fields(row: FeatureRow, withReplay: boolean): AuditFields {
  return {
    requestId: row.requestId,
    tenantId: row.tenantId,
    traceId: row.traceId,
    decidedAt: { seconds: 1_780_000_000n, nanos: 0 },
    modelVersion: "3",
    featureSpecHash: specHash(spec),
    assignment: 1,
    segment: row.segment,
    entityId: row.entityId,
    imputed: row.imputed,
    vector: row.features,
    route: Route.PRIMARY,
    degraded: false,
    openBreakers: [],
    score: 0.4123,
    thresholds: { review: 0.2853, decline: 0.6006 },
    decision: Decision.REVIEW,
    reasons: ["PAY_0", "worst_delay", "LIMIT_BAL", "months_delinquent"].map((f, k) => ({
      code: `R-${f}`,
      feature: f,
      contribution: 0.3 / (k + 1),
    })),
    ...(withReplay
      ? {
          inputs: row.replay?.inputs,
          entitySnapshotId: row.entitySnapshotId,
          entityFeatures: row.replay?.entity,
          policyRevision: 17n,
          explain: false,
          reviewBand: 0,
        }
      : {}),
  };
}

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

function timed(n: number, fn: () => void): number {
  for (let i = 0; i < Math.min(n, 500); i++) fn(); // warm-up
  const c0 = cpuUs();
  for (let i = 0; i < n; i++) fn();
  return (cpuUs() - c0) / n;
}

function round(withReplay: boolean) {
  const bytes = toBinary(
    RouteRequestSchema,
    create(RouteRequestSchema, { model: MODEL, featureSpecHash: "x", rows: rowsOf(withReplay) }),
  );
  const decodeUs = timed(3000, () => fromBinary(RouteRequestSchema, bytes)) / ROWS;
  const rows = fromBinary(RouteRequestSchema, bytes).rows;
  const recs = rows.map((r) => fields(r, withReplay));
  const link = { writer: "router-bench", seq: 1n, prevHash: new Uint8Array(32) };
  let recordBytes = 0;
  let hashes = 0;
  const encodeUs =
    timed(1000, () => {
      recordBytes = 0;
      for (const f of recs) {
        const b = encodeAuditRecord(MODEL, f, link);
        hashes += sha256(b)[0]!;
        recordBytes += b.length;
      }
    }) / ROWS;
  if (hashes < 0) console.log(hashes);
  return { decodeUs, encodeUs, rowBytes: bytes.length / ROWS, recordBytes: recordBytes / ROWS };
}

const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1] || 5);
for (let k = 0; k < rounds; k++) {
  const off = round(false);
  const on = round(true);
  const f = (x: number) => x.toFixed(2);
  console.log(
    `round ${k + 1}: RouteRequest decode ${f(off.decodeUs)} → ${f(on.decodeUs)} µs/row (+${f(on.decodeUs - off.decodeUs)}), ` +
      `record encode+hash ${f(off.encodeUs)} → ${f(on.encodeUs)} µs/record (+${f(on.encodeUs - off.encodeUs)}); ` +
      `row ${off.rowBytes.toFixed(0)} → ${on.rowBytes.toFixed(0)} B, record ${off.recordBytes.toFixed(0)} → ${on.recordBytes.toFixed(0)} B`,
  );
}
