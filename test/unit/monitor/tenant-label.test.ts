import { test } from "node:test";
import assert from "node:assert/strict";
import { TenantLabel } from "../../../services/monitor/tenant-label.js";

test("the tenant label keeps the first N tenants, then says other; no tenant is none", () => {
  const l = new TenantLabel(2);
  assert.equal(l.of("a"), "a");
  assert.equal(l.of("b"), "b");
  assert.equal(l.of("c"), "other");
  assert.equal(l.of("a"), "a");
  assert.equal(l.of(""), "none");
});
