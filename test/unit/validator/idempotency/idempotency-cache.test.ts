import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { ScoreRequestSchema } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { IdempotencyCache } from "../../../../services/validator/idempotency/idempotency-cache.js";
import { idempotencyKey, requestFingerprint } from "../../../../services/validator/idempotency/fingerprint.js";
import { FakeClock } from "../../../support/fake-clock.js";

const limits = { windowMs: 1000, maxEntries: 3, maxBytes: 1 << 20 };

test("an answer is kept for the window, shared by duplicates, then forgotten", async () => {
  const clock = new FakeClock();
  const cache = new IdempotencyCache<string>(limits, clock);
  const r = cache.reserve("t\u0000a", "fp");
  const waiting = cache.get("t\u0000a")!.answer;
  r.resolve("answer", 10);
  assert.equal(await waiting, "answer");
  await clock.advance(999);
  assert.equal(await cache.get("t\u0000a")?.answer, "answer");
  assert.equal(cache.get("t\u0000a")?.fingerprint, "fp");
  await clock.advance(1);
  assert.equal(cache.get("t\u0000a"), undefined);
  assert.deepEqual(cache.stats(), { entries: 0, bytes: 0 });
});

test("a failed call is forgotten (its retry is scored); its waiters get the error", async () => {
  const cache = new IdempotencyCache<string>(limits, new FakeClock());
  const r = cache.reserve("k", "fp");
  const waiting = cache.get("k")!.answer;
  r.reject(new Error("mesh down"));
  await assert.rejects(waiting, /mesh down/);
  assert.equal(cache.get("k"), undefined);
  assert.deepEqual(cache.stats(), { entries: 0, bytes: 0 });
});

test("bounded by entries and by bytes: the oldest go first", () => {
  const cache = new IdempotencyCache<string>({ ...limits, maxBytes: 4000 }, new FakeClock());
  for (const k of ["a", "b", "c", "d"]) cache.reserve(k, "fp").resolve(k, 100);
  assert.equal(cache.get("a"), undefined, "over 3 entries: the oldest dropped");
  assert.deepEqual(
    ["b", "c", "d"].map((k) => cache.get(k) !== undefined),
    [true, true, true],
  );
  cache.reserve("e", "fp").resolve("e", 1500);
  assert.ok(cache.stats().bytes <= 4000, `${cache.stats().bytes} bytes`);
  assert.equal(cache.get("b"), undefined);
  assert.notEqual(cache.get("e"), undefined, "the newest stays");
});

test("keys are scoped by tenant; the fingerprint ignores key order and sees any change of input", () => {
  assert.notEqual(idempotencyKey("acme", "r-1"), idempotencyKey("other", "r-1"));
  const req = (inputs: Record<string, number>, entityId = "") =>
    create(ScoreRequestSchema, { requestId: "r", model: "credit-default", entityId, inputs });
  const fp = requestFingerprint(req({ A: 1, B: 2 }));
  assert.equal(requestFingerprint(req({ B: 2, A: 1 })), fp);
  assert.notEqual(requestFingerprint(req({ A: 1, B: 3 })), fp);
  assert.notEqual(requestFingerprint(req({ A: 1, B: 2 }, "C1")), fp);
  assert.match(fp, /^[0-9a-f]{32}$/);
});
