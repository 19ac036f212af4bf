import { test } from "node:test";
import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { AuditRecordSchema } from "../../../../gen/scoremesh/audit/v1/audit_pb.js";
import { Decision, Route } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { encodeAuditRecord, type AuditFields, encodeNumberMap } from "../../../../services/lib/audit/index.js";

const INPUTS = { LIMIT_BAL: 50000, PAY_0: 0, BILL_AMT1: -1.5e-7, "é-non-ascii": 2, ["k".repeat(120)]: 3 };
const ENTITY = { avg_utilization_6m: 0.0647, missed_payments_5m: 0 };

const full: AuditFields = {
  requestId: "req-1",
  tenantId: "t1",
  traceId: "0af7651916cd43dd8448eb211c80319c",
  decidedAt: { seconds: 1_780_000_000n, nanos: 123_000_000 },
  modelVersion: "3",
  featureSpecHash: "sha256:abc",
  policyRevision: 42n,
  assignment: 1,
  segment: { age_band: "25-34", sex: "female" },
  entityId: "cust-7",
  imputed: ["a", "b"],
  vector: [0.5, -1.25, 3.140000104904175, 0],
  route: Route.FALLBACK_MODEL,
  degraded: true,
  openBreakers: ["127.0.0.1:1|credit-default|3"],
  score: 0.4123,
  thresholds: { review: 0.3, decline: 0.6 },
  decision: Decision.REVIEW,
  reasons: [{ code: "R-PAY_0", feature: "PAY_0", contribution: 0.25 }],
  inputs: encodeNumberMap(12, INPUTS),
  entitySnapshotId: "snapshot-20051001T000000Z",
  entityFeatures: encodeNumberMap(25, ENTITY),
  explain: true,
  reviewBand: 0.02,
};
const link = { writer: "router-x", seq: 7n, prevHash: new Uint8Array(32).fill(9) };

for (const [name, fields] of [
  ["every field set", full],
  [
    "proto3 defaults left out",
    {
      ...full,
      tenantId: "",
      imputed: [],
      vector: [],
      degraded: false,
      score: 0,
      reasons: [],
      segment: {},
      policyRevision: 0n,
      decidedAt: undefined,
      inputs: new Uint8Array(0),
      entitySnapshotId: "",
      entityFeatures: undefined,
      explain: false,
      reviewBand: 0,
    },
  ],
  [
    "a segment rule and routing labels",
    { ...full, assignment: 3, segmentRule: "branch", labels: { channel: "branch", region: "north" } },
  ],
  [
    "the edge's rules: assignment EDGE_RULES and the degraded reason",
    { ...full, assignment: 5, route: Route.RULES, degradedReason: "DEADLINE_EXCEEDED", labels: { channel: "web" } },
  ],
] as const) {
  test(`the hand encoder writes the bytes toBinary writes (${name})`, () => {
    const bytes = encodeAuditRecord("credit-default", fields, link);
    const decoded = fromBinary(AuditRecordSchema, bytes);
    const expected = create(AuditRecordSchema, {
      ...fields,
      imputed: [...fields.imputed],
      vector: Array.from(fields.vector),
      openBreakers: [...fields.openBreakers],
      reasons: [...fields.reasons],
      inputs: fields.inputs?.length ? INPUTS : {},
      entityFeatures: fields.entityFeatures?.length ? ENTITY : {},
      schemaVersion: 1,
      model: "credit-default",
      link,
    });
    assert.deepEqual(decoded, expected);
    assert.deepEqual(Buffer.from(bytes), Buffer.from(toBinary(AuditRecordSchema, expected)));
  });
}
