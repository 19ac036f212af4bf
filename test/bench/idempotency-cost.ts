import { create } from "@bufbuild/protobuf";
import { Decision, Route, ScoreRequestSchema } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { systemClock } from "../../services/lib/service/index.js";
import { IdempotencyCache } from "../../services/validator/idempotency/idempotency-cache.js";
import { requestFingerprint, responseBytes } from "../../services/validator/idempotency/fingerprint.js";
import { planRows, reserveFresh } from "../../services/validator/row-plan.js";
import type { ScoreResponseInit } from "../../services/validator/routes.js";
import { creditRows } from "../support/credit-data.js";

/**
 * The edge's idempotency cost per Score, in process (no mesh): what a call adds on the hot path — fingerprint,
 * look-up, reservation, answer stored — for a new request id, for a retry answered from the cache, and without
 * the cache; then the heap per entry with the cache full. Run: npm run build && node dist/test/bench/idempotency-cost.js [N]
 */
const N = Number(process.argv[2] ?? 200_000);
const path = (f: string) => f;
const requests = creditRows(N).map((inputs, i) =>
  create(ScoreRequestSchema, { requestId: `req-${i.toString(36)}-0123456789`, model: "credit-default", inputs }),
);
const answer = (requestId: string): ScoreResponseInit => ({
  requestId,
  model: "credit-default",
  modelVersion: "3",
  score: 0.4242,
  decision: Decision.REVIEW,
  route: Route.PRIMARY,
  reasons: [1, 2, 3].map((k) => ({ code: `R-PAY_${k}`, feature: `PAY_${k}`, contribution: 0.1 * k })),
  traceId: "0af7651916cd43dd8448eb211c80319c",
  imputedFeatures: [],
});

function perCall(label: string, cache: IdempotencyCache<ScoreResponseInit> | undefined): void {
  const t0 = performance.now();
  for (const r of requests) {
    const plan = planRows(cache, "acme", [r], path);
    const res = reserveFresh(cache, plan, [{ requestId: r.requestId }]);
    const a = answer(r.requestId);
    res.get(0)?.resolve(a, responseBytes(a));
  }
  const us = ((performance.now() - t0) * 1000) / requests.length;
  console.log(`${label}: ${us.toFixed(2)} µs per Score`);
}

function fingerprints(): void {
  const t0 = performance.now();
  for (const r of requests) requestFingerprint(r);
  console.log(`fingerprint alone: ${(((performance.now() - t0) * 1000) / requests.length).toFixed(2)} µs per Score`);
}

const limits = { windowMs: 600_000, maxEntries: N, maxBytes: 16 * 2 ** 30 };
perCall("warm-up", new IdempotencyCache(limits, systemClock));
perCall("no cache", undefined);
fingerprints();
global.gc?.();
const heap0 = process.memoryUsage().heapUsed;
const cache = new IdempotencyCache<ScoreResponseInit>(limits, systemClock);
perCall("new request ids (cache filling)", cache);
global.gc?.();
const heap1 = process.memoryUsage().heapUsed;
perCall("retries (answered from the cache)", cache);
const { entries, bytes } = cache.stats();
console.log(
  `${entries} entries: heap +${((heap1 - heap0) / 2 ** 20).toFixed(1)} MiB (${Math.round((heap1 - heap0) / entries)} B/entry; ` +
    `estimated ${Math.round(bytes / entries)} B/entry)`,
);
