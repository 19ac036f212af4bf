import { test } from "node:test";
import assert from "node:assert/strict";
import { inCanary } from "../../../../services/router/canary/assignment.js";
import { inShadowSample } from "../../../../services/router/shadow/sampler.js";

const row = (entityId: string, requestId = "") => ({ entityId, requestId });

test("the sample's share over many entities is within ±1 point of the rate asked; 1 takes every row", () => {
  for (const rate of [0.01, 0.1, 0.5, 0.9]) {
    let n = 0;
    for (let i = 0; i < 20_000; i++) if (inShadowSample("credit-default", row(`C-${i}`), rate)) n++;
    const share = n / 20_000;
    assert.ok(Math.abs(share - rate) <= 0.01, `${rate} asked, ${share.toFixed(4)} got`);
  }
  for (let i = 0; i < 1000; i++) assert.equal(inShadowSample("m", row(`C-${i}`), 1), true);
  assert.equal(inShadowSample("m", row("C-1"), 0), false);
});

test("the sample is sticky by entity, by request id without one, and grows without losing entities", () => {
  for (let i = 0; i < 2000; i++) {
    const r = row(`C-${i}`, "r-1");
    assert.equal(inShadowSample("m", row(`C-${i}`, "r-2"), 0.3), inShadowSample("m", r, 0.3));
    if (inShadowSample("m", r, 0.05)) assert.ok(inShadowSample("m", r, 0.25), `C-${i} left the sample when it grew`);
  }
  const byRequest = Array.from({ length: 400 }, (_, i) => inShadowSample("m", row("", `r-${i}`), 0.5));
  assert.ok(byRequest.filter(Boolean).length > 150 && byRequest.filter(Boolean).length < 250);
});

test("the sample is independent of the canary: next to a canary at 50 %, a 20 % sample takes ~20 % of champion rows", () => {
  let champion = 0;
  let sampled = 0;
  for (let i = 0; i < 20_000; i++) {
    const r = row(`C-${i}`);
    if (inCanary("m", r, 50)) continue;
    champion++;
    if (inShadowSample("m", r, 0.2)) sampled++;
  }
  assert.ok(Math.abs(sampled / champion - 0.2) <= 0.015, `${(sampled / champion).toFixed(4)} of champion rows`);
});
