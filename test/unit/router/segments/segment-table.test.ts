import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { pino } from "pino";
import { SegmentRuleSchema, ServingPolicySchema } from "../../../../gen/scoremesh/policy/v1/policy_pb.js";
import { SegmentTable } from "../../../../services/router/segments/segment-table.js";

const MODEL = "credit-default";
const policy = (segments: { name: string; version: string; where: string }[]) =>
  create(ServingPolicySchema, {
    model: MODEL,
    championVersion: "3",
    segments: segments.map((s) => create(SegmentRuleSchema, s)),
  });

/** A logger that keeps its lines. */
function lines() {
  const out: { level: number; msg: string }[] = [];
  const log = pino(
    { level: "info" },
    { write: (s: string) => void out.push(JSON.parse(s) as { level: number; msg: string }) },
  );
  return { out, log };
}

test("a rule is served only once its version can serve, and stops after failing for dropAfterMs; logged once per change", async () => {
  const ready = new Set<string>();
  const { out, log } = lines();
  let t = 0;
  const table = new SegmentTable({
    problem: async (_m, v) => (ready.has(v) ? undefined : "is not ready on any model worker"),
    dropAfterMs: 1000,
    now: () => t,
    log,
  });
  table.follow(policy([{ name: "branch", version: "4", where: "label.channel=branch" }]));
  await table.check();
  assert.equal(table.rulesFor(MODEL)[0]!.ready, false);
  for (let i = 0; i < 5; i++) await table.check();
  const errors = () => out.filter((l) => l.level >= 50);
  assert.equal(errors().length, 1, "logged once, not on every check");
  assert.match(errors()[0]!.msg, /their rows go to the champion/);
  ready.add("4");
  await table.check();
  assert.equal(table.rulesFor(MODEL)[0]!.ready, true);
  ready.delete("4");
  await table.check();
  t = 900;
  await table.check();
  assert.equal(table.rulesFor(MODEL)[0]!.ready, true, "one slow readiness answer does not move the segment");
  assert.equal(errors().length, 1);
  t = 1000;
  await table.check();
  await table.check();
  assert.equal(table.rulesFor(MODEL)[0]!.ready, false, "failing for dropAfterMs: rows go to the champion");
  assert.equal(errors().length, 2, "a new change is logged again, once");
});

test("the same rules again change nothing; new rules replace the old, in order", async () => {
  const table = new SegmentTable({ problem: async () => undefined, log: pino({ level: "silent" }) });
  const p = policy([
    { name: "a", version: "4", where: "tenant=acme" },
    { name: "b", version: "2", where: "LIMIT_BAL>=100" },
  ]);
  table.follow(p);
  await table.check();
  const before = table.rulesFor(MODEL);
  table.follow(p);
  assert.equal(table.rulesFor(MODEL), before, "unchanged");
  table.follow(policy([{ name: "b", version: "2", where: "LIMIT_BAL>=100" }]));
  assert.deepEqual(
    table.rulesFor(MODEL).map((r) => [r.name, r.ready]),
    [["b", true]],
    "a version already serving stays ready",
  );
  table.follow(policy([]));
  assert.deepEqual(table.rulesFor(MODEL), []);
});
