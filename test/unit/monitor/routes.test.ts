import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import {
  MonitorService,
  type DecisionRecord,
  type DecisionRecordSchema,
} from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision, Route } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { AuditLog } from "../../../services/monitor/audit-log.js";
import { DecisionMetrics } from "../../../services/monitor/metrics.js";
import { ReviewQueue } from "../../../services/monitor/review-queue.js";
import { monitorRoutes } from "../../../services/monitor/routes.js";
import { DecisionStats } from "../../../services/monitor/stats.js";
import { inProcessClient, rejectionOf } from "../../support/in-process.js";

type RecordInit = MessageInitShape<typeof DecisionRecordSchema>;
/** Fields of a record as plain values (not a message). */
type RecordFields = Exclude<RecordInit, DecisionRecord>;

const record = (requestId: string, decision: Decision, extra: RecordFields = {}): RecordInit => ({
  requestId,
  model: "credit-default",
  modelVersion: "3",
  score: 0.5,
  decision,
  route: Route.PRIMARY,
  latencyMs: 2,
  decidedAt: timestampFromMs(1_700_000_000_000),
  ...extra,
});

/** The monitor's real routes in process, with its own stats, metrics and review queue (and an audit log if given). */
function monitor(audit?: AuditLog) {
  const parts = { stats: new DecisionStats(), metrics: new DecisionMetrics(), reviews: new ReviewQueue({ max: 3 }) };
  return {
    client: inProcessClient(MonitorService, monitorRoutes({ ...parts, ...(audit ? { audit } : {}) })),
    ...parts,
  };
}

test("decision records are accepted and counted per version, in GetStats and in the Prometheus metrics", async () => {
  const { client, metrics } = monitor();
  const res = await client.record({
    source: "router-1",
    records: [
      record("a", Decision.APPROVE, { score: 0.1, latencyMs: 1 }),
      record("b", Decision.REVIEW, { score: 0.5, latencyMs: 2, degraded: true, route: Route.FALLBACK_MODEL }),
      record("c", Decision.DECLINE, { score: 0.9, latencyMs: 30, modelVersion: "4" }),
    ],
  });
  assert.equal(res.accepted, 3);

  const stats = await client.getStats({});
  assert.equal(stats.decisionsTotal, 3n);
  const versions = stats.versions.map((v) => [v.modelVersion, v.decisions, v.approve, v.review, v.decline, v.degraded]);
  assert.deepEqual(versions, [
    ["3", 2n, 1n, 1n, 0n, 1n],
    ["4", 1n, 0n, 0n, 1n, 0n],
  ]);
  assert.ok(Math.abs(stats.versions[0]!.meanScore - 0.3) < 1e-12);
  assert.deepEqual([stats.latencyP50Ms, stats.latencyP99Ms], [2, 30]);

  const text = await metrics.registry.metrics();
  assert.match(text, /^scoremesh_monitor_records_received_total 3$/m);
  assert.match(
    text,
    /^scoremesh_decisions_total\{model="credit-default",version="3",decision="review",route="fallback_model",degraded="true",tenant="none"\} 1$/m,
  );
});

test("GetStats before any record is all zeros", async () => {
  const stats = await monitor().client.getStats({});
  assert.deepEqual([stats.decisionsTotal, stats.versions, stats.latencyP50Ms], [0n, [], 0]);
});

test("the review queue holds the REVIEW decisions, newest first, bounded, filtered and counted by model", async () => {
  const { client } = monitor();
  const other = { model: "payment-late" };
  await client.record({
    records: [
      record("r1", Decision.REVIEW),
      record("a1", Decision.APPROVE),
      record("r2", Decision.REVIEW, other),
      record("r3", Decision.REVIEW, { reasons: [{ code: "R-PAY_0", feature: "PAY_0", contribution: 0.4 }] }),
    ],
  });
  const all = await client.listReviews({});
  assert.deepEqual(
    all.cases.map((c) => c.requestId),
    ["r3", "r2", "r1"],
  );
  assert.deepEqual([all.total, all.queued], [3n, 3n]);
  assert.equal(all.cases[0]!.reasons[0]?.code, "R-PAY_0");

  assert.deepEqual(
    (await client.listReviews({ pageSize: 1 })).cases.map((c) => c.requestId),
    ["r3"],
  );
  const mine = await client.listReviews({ model: "credit-default" });
  assert.deepEqual([mine.cases.map((c) => c.requestId), mine.total, mine.queued], [["r3", "r1"], 2n, 2n]);

  // The queue holds 3 cases: a fourth review pushes out the oldest, and is still counted.
  await client.record({ records: [record("r4", Decision.REVIEW)] });
  const after = await client.listReviews({});
  assert.deepEqual([after.cases.map((c) => c.requestId), after.total, after.queued], [["r4", "r3", "r2"], 4n, 3n]);
});

test("with an audit log, every record is a JSON line on disk before Record answers", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "monitor-routes-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const audit = new AuditLog(join(dir, "audit", "decisions.jsonl"));
  t.after(() => audit.close());
  const { client } = monitor(audit);
  await client.record({ records: [record("a", Decision.APPROVE), record("b", Decision.DECLINE)] });
  const lines = readFileSync(join(dir, "audit", "decisions.jsonl"), "utf8")
    .trim()
    .split("\n");
  assert.deepEqual(
    lines.map((l) => (JSON.parse(l) as { requestId: string; decision: string }).decision),
    ["DECISION_APPROVE", "DECISION_DECLINE"],
  );
  assert.equal((JSON.parse(lines[0]!) as { requestId: string }).requestId, "a");
});

test("a failing audit log fails Record with INTERNAL and nothing is counted", async () => {
  const failing = { append: () => Promise.reject(new Error("disk full")) } as unknown as AuditLog;
  const { client, stats, reviews } = monitor(failing);
  const err = await rejectionOf(client.record({ records: [record("r", Decision.REVIEW)] }));
  // INTERNAL on the gRPC listener too (lib/rpc/grpc-server.ts), which also hides the message.
  assert.equal(err.code, Code.Internal);
  assert.deepEqual([stats.total, reviews.total], [0, 0]);
});

test("shadow records count as champion/shadow pairs in GetStats, never as decisions, reviews or audit lines", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "monitor-shadow-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const audit = new AuditLog(join(dir, "audit.jsonl"));
  t.after(() => audit.close());
  const { client, reviews } = monitor(audit);
  const shadowOf = { championVersion: "3", championScore: 0.5, championDecision: Decision.REVIEW };
  const res = await client.record({
    source: "router-1",
    records: [
      record("a", Decision.REVIEW),
      record("a", Decision.REVIEW, { modelVersion: "4", score: 0.6, shadowOf }),
      record("b", Decision.DECLINE, { modelVersion: "4", score: 0.9, shadowOf }),
    ],
  });
  assert.equal(res.accepted, 3);
  const stats = await client.getStats({});
  assert.equal(stats.decisionsTotal, 1n);
  assert.deepEqual(
    stats.versions.map((v) => v.modelVersion),
    ["3"],
  );
  const [s] = stats.shadows;
  assert.deepEqual([s!.model, s!.championVersion, s!.shadowVersion, s!.pairs], ["credit-default", "3", "4", 2n]);
  assert.equal(s!.agreementRate, 0.5);
  assert.ok(Math.abs(s!.meanAbsScoreDiff - 0.25) < 1e-12);
  assert.equal(reviews.total, 1);
  assert.equal(readFileSync(join(dir, "audit.jsonl"), "utf8").trim().split("\n").length, 1);
});
