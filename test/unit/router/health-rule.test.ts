import { test } from "node:test";
import assert from "node:assert/strict";
import { routerHealth } from "../../../services/router/health-rule.js";

const champions = (table: Record<string, string>) => (model: string) => table[model];

test("NOT_SERVING while a model has no champion, naming it (or the missing workers)", () => {
  assert.deepEqual(routerHealth(["a", "b"], champions({ a: "1" }), true), {
    serving: false,
    why: "no ready champion yet for b",
  });
  assert.deepEqual(routerHealth(["a", "b"], champions({}), false), {
    serving: false,
    why: "no model worker is serving",
  });
});

test("SERVING once every model has a champion, degraded when no worker serves", () => {
  assert.deepEqual(routerHealth(["a"], champions({ a: "1" }), true), {
    serving: true,
    why: "champions ready on the workers",
  });
  const noWorkers = routerHealth(["a"], champions({ a: "1" }), false);
  assert.equal(noWorkers.serving, true, "the cascade's rules answer every call");
  assert.match(noWorkers.why, /degraded/);
});
