import { test } from "node:test";
import assert from "node:assert/strict";
import { ArmSample, type ArmObservation } from "../../../../services/lib/stats/index.js";

const obs = (score: number, latencyMs: number, segment: Record<string, string> = {}): ArmObservation => ({
  score,
  decision: score < 0.5 ? "approve" : "decline",
  degraded: score > 0.9,
  latencyMs,
  segment,
});

test("an arm sample's snapshot is plain JSON; merging two disjoint samples equals one sample of both", () => {
  const [a, b, both] = [new ArmSample(), new ArmSample(), new ArmSample()];
  for (let i = 0; i < 100; i++) {
    const o = obs((i % 10) / 10 + 0.05, i, { band: i % 2 ? "high" : "low" });
    (i < 60 ? a : b).add(o);
    both.add(o);
  }
  const shared = JSON.parse(JSON.stringify(b.snapshot())) as ReturnType<ArmSample["snapshot"]>;
  const merged = new ArmSample().merge(a.snapshot()).merge(shared);
  assert.deepEqual(merged.all, both.all);
  assert.deepEqual([...merged.segments].sort(), [...both.segments].sort());
  assert.equal(merged.latencyQuantile(0.99), both.latencyQuantile(0.99));
  assert.equal(a.all.decisions, 60, "merging leaves its sources alone");
});

test("a shared snapshot keeps the most recent latencies only, and all the counts", () => {
  const s = new ArmSample();
  for (let i = 0; i < 50; i++) s.add(obs(0.2, i));
  const snap = s.snapshot(10);
  assert.deepEqual(snap.latencies, [40, 41, 42, 43, 44, 45, 46, 47, 48, 49]);
  assert.equal(snap.all.decisions, 50);
});
