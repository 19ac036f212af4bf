import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { pino } from "pino";
import { DecisionRecordSchema } from "../../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { KvCreateMany } from "../../../../services/lib/nats/index.js";
import { OutcomeDesk } from "../../../../services/monitor/outcomes/outcome-desk.js";
import { DECISION_BUCKET } from "../../../../services/monitor/outcomes/outcome-store.js";
import { caseIdOf } from "../../../../services/monitor/reviews/workflow.js";
import { startKeyedNats } from "../../../support/nats-keys.js";

const record = (requestId: string, score: number) =>
  create(DecisionRecordSchema, {
    tenantId: "t1",
    requestId,
    model: "credit-default",
    modelVersion: "3",
    decision: Decision.APPROVE,
    score,
  });

/**
 * The monitor keeps every decision for outcomes with one publish per decision and one subscription for the acks
 * (KvCreateMany), as the monitor's own NATS identity, against a real nats-server with the mesh's permissions.
 */
test("decisions are kept in one go; a kept one is not overwritten; a deleted one is written again; NATS gone: kept in memory", async () => {
  const dir = mkdtempSync(join(tmpdir(), "outcome-index-"));
  const nats = await startKeyedNats(dir);
  const nc = await nats.connectAs("monitor");
  let stopped = false;
  try {
    const desk = new OutcomeDesk(86_400_000, pino({ level: "silent" }));
    await desk.open(nc);
    await desk.index([record("a", 0.1), record("b", 0.2), record("c", 0.3)]);
    const kv = await nc.jetstream().views.kv(DECISION_BUCKET);
    const keys: string[] = [];
    for await (const k of await kv.keys()) keys.push(k);
    assert.deepEqual(keys.sort(), ["a", "b", "c"].map((r) => caseIdOf("t1", r)).sort());

    await desk.index([record("a", 0.9)]);
    assert.equal((await desk.decision("t1", "a")).score, 0.1, "the first decision of a request id is kept");
    await kv.delete(caseIdOf("t1", "b"));
    await desk.index([record("b", 0.7)]);
    assert.equal((await desk.decision("t1", "b")).score, 0.7, "a deleted entry is written again");

    assert.equal((await desk.decision("t1", "c")).score, 0.3, "an outcome finds the decision (GetDecision)");
    assert.equal(desk.dropped, 0);

    const creates = new KvCreateMany(nc, kv);
    const bytes = new Uint8Array([1]);
    const results = await creates.createAll(
      [
        ["fresh", bytes],
        [caseIdOf("t1", "a"), bytes],
        ["not a valid key", bytes],
      ],
      2000,
    );
    assert.deepEqual(results, ["created", "exists", "failed"]);
    creates.close();
    assert.deepEqual(await creates.createAll([["later", bytes]], 100), ["failed"], "a closed writer writes nothing");

    // With nats-server gone, a batch gives up within its wait and reports every entry failed (the desk keeps them).
    const offline = new KvCreateMany(nc, kv);
    await nats.server.stop();
    stopped = true;
    const t0 = performance.now();
    assert.deepEqual(
      await offline.createAll(
        [
          ["x", bytes],
          ["y", bytes],
        ],
        300,
      ),
      ["failed", "failed"],
    );
    assert.ok(performance.now() - t0 < 5000, "bounded by the wait, not by a reconnect");
    await desk.index([record("d", 0.4)]);
    assert.equal(desk.pendingCount(), 1, "a decision not acknowledged waits in memory for the next flush");
  } finally {
    await nc.close().catch(() => {});
    if (!stopped) await nats.server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
