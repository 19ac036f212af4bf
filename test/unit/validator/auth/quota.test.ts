import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { TenantUsageSchema } from "../../../../gen/scoremesh/tenant/v1/tenant_pb.js";
import { QuotaLedger, untilUtcMidnight } from "../../../../services/validator/auth/quota.js";

const NOON = Date.UTC(2026, 0, 15, 12);

test("the daily quota counts this replica's rows and the others' last written rows", () => {
  const l = new QuotaLedger("r1");
  l.admitted("t", 6, NOON);
  assert.equal(l.quotaWait("t", 10, 4, NOON), undefined);
  l.seen(create(TenantUsageSchema, { tenantId: "t", day: "2026-01-15", replica: "r2", rows: 3n }), NOON);
  l.seen(create(TenantUsageSchema, { tenantId: "t", day: "2026-01-15", replica: "r1", rows: 99n }), NOON);
  l.seen(create(TenantUsageSchema, { tenantId: "t", day: "2026-01-14", replica: "r3", rows: 99n }), NOON);
  assert.equal(l.used("t", NOON), 9, "its own echo and yesterday's values are not counted");
  assert.equal(l.quotaWait("t", 10, 1, NOON), undefined);
  assert.equal(l.quotaWait("t", 10, 2, NOON), 12 * 3600_000);
  assert.equal(l.quotaWait("t", 0, 1_000_000, NOON), undefined, "0: no quota");
  // A new UTC day starts from zero.
  assert.equal(l.used("t", NOON + 12 * 3600_000), 0);
});

test("changed counts come out once as usage values, refusals by reason", () => {
  const l = new QuotaLedger("r1");
  l.admitted("t", 2, NOON);
  l.refused("t", "rate_limited", NOON);
  l.refused("t", "rate_limited", NOON);
  const [u, ...rest] = l.takeChanged(NOON);
  assert.deepEqual(rest, []);
  assert.equal(u!.tenantId, "t");
  assert.equal(u!.day, "2026-01-15");
  assert.equal(u!.replica, "r1");
  assert.equal(u!.calls, 1n);
  assert.equal(u!.rows, 2n);
  assert.deepEqual(u!.refused, { rate_limited: 2n });
  assert.deepEqual(l.takeChanged(NOON), [], "nothing changed since");
});

test("untilUtcMidnight", () => {
  assert.equal(untilUtcMidnight(Date.UTC(2026, 11, 31, 23, 59, 59)), 1000);
});
