import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { TenantSchema } from "../../../../gen/scoremesh/tenant/v1/tenant_pb.js";
import {
  decodeTenant,
  encodeTenant,
  KvValueError,
  newApiKey,
  parseApiKey,
  secretMatches,
} from "../../../../services/lib/nats/index.js";

test("API keys: sm_<16 hex>_<43 base64url>, only the secret's hash kept, compared to it", () => {
  const k = newApiKey();
  const parsed = parseApiKey(k.key);
  assert.equal(parsed?.keyId, k.keyId);
  assert.ok(secretMatches(parsed.secret, k.secretSha256));
  assert.ok(!secretMatches(parsed.secret + "x", k.secretSha256));
  assert.ok(!k.key.includes(Buffer.from(k.secretSha256).toString("base64url")));
  assert.notEqual(newApiKey().key, k.key);
  for (const bad of ["", "sm_", `sm_${k.keyId}`, k.key + "=", k.key.replace("sm_", "sk_"), k.key.toUpperCase()])
    assert.equal(parseApiKey(bad), undefined, bad);
});

test("a tenant round-trips as protobuf JSON with its schema version; bad ones are refused naming the field", () => {
  const t = create(TenantSchema, { id: "acme", allowedModels: ["*"], ratePerSecond: 5, burst: 10, dailyQuota: 7n });
  const text = encodeTenant(t);
  assert.equal((JSON.parse(text) as { schemaVersion: number }).schemaVersion, 1);
  assert.equal(decodeTenant(text).dailyQuota, 7n);
  const bad = (change: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(text), ...change });
  assert.throws(() => decodeTenant(bad({ allowedModels: [] })), /allowedModels is empty/);
  assert.throws(() => decodeTenant(bad({ id: "Has.Dot" })), /id "Has.Dot" must match/);
  assert.throws(() => decodeTenant(bad({ ratePerSecond: 0 })), /ratePerSecond/);
  assert.throws(() => decodeTenant(bad({ schemaVersion: 0 })), KvValueError);
  assert.throws(() => decodeTenant(bad({ schemaVersion: 2 })), /schema version 2/);
});
