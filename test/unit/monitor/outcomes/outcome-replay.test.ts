import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { create } from "@bufbuild/protobuf";
import type { NatsConnection } from "nats";
import pino from "pino";
import {
  DecisionRecordSchema,
  MonitorService,
  RecordOutcomeRequestSchema,
} from "../../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { Decision, Outcome } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { ensureAuditStream } from "../../../../services/lib/audit/index.js";
import { decide, ModelRepository } from "../../../../services/lib/model/index.js";
import { DecisionMetrics } from "../../../../services/monitor/metrics.js";
import { OutcomeDesk } from "../../../../services/monitor/outcomes/outcome-desk.js";
import { OutcomeReporter } from "../../../../services/monitor/outcomes/outcome-report.js";
import { ReviewQueue } from "../../../../services/monitor/review-queue.js";
import { monitorRoutes } from "../../../../services/monitor/routes.js";
import { DecisionStats } from "../../../../services/monitor/stats.js";
import { PROJECT_ROOT } from "../../../../deploy/local/mesh.js";
import { calibration } from "../../../../tools/trainer/profile.js";
import { featureMatrix, labelVector } from "../../../../tools/trainer/feature-matrix.js";
import { loadCsv } from "../../../../tools/trainer/csv.js";
import { rocAuc } from "../../../../tools/trainer/metrics.js";
import { scoreWithOnnx } from "../../../../tools/trainer/onnx-scorer.js";
import { inProcessClient } from "../../../support/in-process.js";
import { CREDIT_CSV } from "../../../support/credit-data.js";
import { startKeyedNats, type KeyedNats } from "../../../support/nats-keys.js";

const MODEL = "credit-default";
const VERSION = "4";
const ROWS = 1000;
const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const dir = mkdtempSync(join(tmpdir(), "scoremesh-outcomes-"));
const log = pino({ level: "silent" });
let nats: KeyedNats;
const conns: NatsConnection[] = [];

before(async () => {
  nats = await startKeyedNats(dir);
  const control = await nats.connectAs("control");
  await ensureAuditStream(await control.jetstreamManager());
  conns.push(control);
});

after(async () => {
  for (const c of conns) await c.close();
  await nats?.server.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A monitor replica: its own NATS connection as the monitor, its own desk, the real routes. */
async function replica() {
  const nc = await nats.connectAs("monitor");
  conns.push(nc);
  const desk = new OutcomeDesk(86_400_000, log, Date.now, 1000);
  await desk.open(nc);
  const report = new OutcomeReporter(desk, { minSample: 50, band: 0.05 }, repo);
  const parts = { stats: new DecisionStats(), metrics: new DecisionMetrics(), reviews: new ReviewQueue() };
  const client = inProcessClient(MonitorService, monitorRoutes({ ...parts, outcomes: desk, outcomeReport: report }));
  return { desk, client };
}

test("outcomes replayed from the data's labels through two monitor replicas match the offline figures", async () => {
  const rows = loadCsv(CREDIT_CSV).rows.slice(0, ROWS);
  const labels = labelVector(rows, "default");
  const scores = await scoreWithOnnx(
    readFileSync(repo.onnxPath(MODEL, VERSION)),
    featureMatrix(repo.spec(MODEL), rows),
  );
  const { thresholds } = repo.card(MODEL, VERSION);
  const tiers = Array.from(scores, (s) => decide(s, thresholds));
  const [a, b] = [await replica(), await replica()];
  const records = tiers.map((decision, i) =>
    create(DecisionRecordSchema, {
      requestId: `r${i}`,
      tenantId: "t1",
      model: MODEL,
      modelVersion: VERSION,
      score: scores[i]!,
      decision,
    }),
  );
  await a.client.record({ source: "test", records });
  // Every outcome through one replica's desk (RecordOutcome's handler) or the other, 10 at a time: the replicas' compare-and-sets interleave.
  for (let i = 0; i < ROWS; i += 10) {
    await Promise.all(
      records.slice(i, i + 10).map((r, k) =>
        ((i + k) % 2 ? b : a).desk.record(
          create(RecordOutcomeRequestSchema, {
            tenantId: "t1",
            requestId: r.requestId,
            outcome: labels[i + k] === 1 ? Outcome.DEFAULTED : Outcome.REPAID,
            observedOn: "2005-10-31",
          }),
        ),
      ),
    );
  }
  const { versions } = await b.client.getOutcomes({ model: MODEL });
  assert.equal(versions.length, 1);
  const v = versions[0]!;
  assert.equal(v.windowOutcomes, BigInt(ROWS));
  assert.ok(
    Math.abs(v.rollingAuc! - rocAuc(scores, labels)) < 1e-12,
    `AUC ${v.rollingAuc} vs ${rocAuc(scores, labels)}`,
  );
  const ece = calibration(scores, labels).error;
  assert.ok(Math.abs(v.calibrationError - ece) < 1e-12, `calibration error ${v.calibrationError} vs ${ece}`);
  assert.equal(v.cardAuc, repo.card(MODEL, VERSION).metrics["roc_auc"]);
  for (const tier of [Decision.APPROVE, Decision.REVIEW, Decision.DECLINE]) {
    const mine = tiers.flatMap((t, i) => (t === tier ? [i] : []));
    const defaults = mine.filter((i) => labels[i] === 1).length;
    const predicted = mine.reduce((s, i) => s + scores[i]!, 0) / mine.length;
    const t = v.tiers.find((x) => x.tier === tier)!;
    assert.ok(mine.length > 40, `tier ${Decision[tier]} has ${mine.length} rows`);
    assert.equal(t.outcomes, BigInt(mine.length), Decision[tier]);
    assert.equal(t.defaults, BigInt(defaults), Decision[tier]);
    assert.equal(t.totalOutcomes, BigInt(mine.length), Decision[tier]);
    assert.ok(Math.abs(t.realisedRate - defaults / mine.length) < 1e-12, Decision[tier]);
    assert.ok(Math.abs(t.predictedRate - predicted) < 1e-12, Decision[tier]);
  }
  const again = await a.client.getOutcomes({ model: "" });
  assert.deepEqual(again.versions, versions, "both replicas read the same durable windows");
});
