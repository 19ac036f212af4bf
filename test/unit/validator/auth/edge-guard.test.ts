import { test } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { RetryInfoSchema } from "../../../../gen/google/rpc/error_details_pb.js";
import { TenantSchema } from "../../../../gen/scoremesh/tenant/v1/tenant_pb.js";
import { newApiKey } from "../../../../services/lib/nats/index.js";
import { EdgeGuard } from "../../../../services/validator/auth/edge-guard.js";
import { QuotaLedger } from "../../../../services/validator/auth/quota.js";
import { RateLimiter } from "../../../../services/validator/auth/rate-limiter.js";
import { TenantDirectory } from "../../../../services/validator/auth/tenant-directory.js";
import { FakeClock } from "../../../support/fake-clock.js";

function setup(
  settings: Partial<{ allowedModels: string[]; dailyQuota: bigint; maxBatch: number; burst: number }> = {},
) {
  const k = newApiKey();
  const tenant = create(TenantSchema, {
    id: "acme",
    allowedModels: ["credit-default"],
    ratePerSecond: 10,
    burst: 10,
    keys: [{ keyId: k.keyId, secretSha256: k.secretSha256 }],
    ...settings,
  });
  const directory = new TenantDirectory();
  directory.apply(tenant);
  const clock = new FakeClock();
  const ledger = new QuotaLedger("r1");
  const guard = new EdgeGuard({ directory, limiter: new RateLimiter(), ledger, replicas: () => 1, clock });
  return { guard, key: `Bearer ${k.key}`, raw: k.key, directory, tenant, ledger, clock };
}

const codeOf = (fn: () => unknown): Code => {
  try {
    fn();
  } catch (err) {
    return ConnectError.from(err).code;
  }
  return -1 as Code;
};

test("a valid key gives the tenant; a missing, malformed, unknown or forged key is UNAUTHENTICATED", () => {
  const { guard, key, raw } = setup();
  assert.equal(guard.admit(key, "credit-default", 1), "acme");
  assert.equal(guard.admit(`bearer  ${raw} `, "credit-default", 1), "acme");
  for (const bad of [null, "", raw, "Basic abc", "Bearer sm_x_y", `Bearer sm_0123456789abcdef_${"A".repeat(43)}`])
    assert.equal(
      codeOf(() => guard.admit(bad, "credit-default", 1)),
      Code.Unauthenticated,
      String(bad),
    );
  const forged = key.slice(0, -1) + (key.endsWith("A") ? "B" : "A");
  assert.equal(
    codeOf(() => guard.admit(forged, "credit-default", 1)),
    Code.Unauthenticated,
  );
});

test("revoked and expired keys and revoked tenants are refused", () => {
  const s = setup();
  s.tenant.keys[0]!.expiresAt = timestampFromMs(s.clock.now() + 1000);
  s.directory.apply(s.tenant);
  assert.equal(s.guard.admit(s.key, "credit-default", 1), "acme");
  s.clock.t = 1000;
  assert.equal(
    codeOf(() => s.guard.admit(s.key, "credit-default", 1)),
    Code.Unauthenticated,
  );
  s.tenant.keys[0]!.expiresAt = undefined;
  s.tenant.revoked = true;
  s.directory.apply(s.tenant);
  assert.equal(
    codeOf(() => s.guard.admit(s.key, "credit-default", 1)),
    Code.Unauthenticated,
  );
  s.tenant.revoked = false;
  s.tenant.keys[0]!.revokedAt = timestampFromMs(0);
  s.directory.apply(s.tenant);
  assert.equal(
    codeOf(() => s.guard.admit(s.key, "credit-default", 1)),
    Code.Unauthenticated,
  );
});

test("model, batch, rate and quota refusals, each counted by reason", () => {
  const s = setup({ maxBatch: 4, dailyQuota: 12n, burst: 5 });
  assert.equal(
    codeOf(() => s.guard.admit(s.key, "late-payment", 1)),
    Code.PermissionDenied,
  );
  assert.equal(
    codeOf(() => s.guard.admit(s.key, "credit-default", 5)),
    Code.InvalidArgument,
  );
  for (let i = 0; i < 5; i++) s.guard.admit(s.key, "credit-default", 1);
  let err: ConnectError | undefined;
  try {
    s.guard.admit(s.key, "credit-default", 1);
  } catch (e) {
    err = ConnectError.from(e);
  }
  assert.equal(err?.code, Code.ResourceExhausted);
  assert.equal(err.metadata.get("retry-after"), "1");
  assert.equal(err.findDetails(RetryInfoSchema)[0]?.retryDelay?.nanos, 100_000_000);
  s.clock.t = 10_000;
  for (let i = 0; i < 5; i++) s.guard.admit(s.key, "credit-default", 1);
  s.clock.t = 20_000;
  for (let i = 0; i < 2; i++) s.guard.admit(s.key, "credit-default", 1);
  assert.equal(
    codeOf(() => s.guard.admit(s.key, "credit-default", 1)),
    Code.ResourceExhausted,
  );
  const [u] = s.ledger.takeChanged(s.clock.now());
  assert.equal(u!.rows, 12n);
  assert.deepEqual(u!.refused, {
    model_not_allowed: 1n,
    batch_too_large: 1n,
    rate_limited: 1n,
    quota_exhausted: 1n,
  });
});

test('"*" allows every model', () => {
  const s = setup({ allowedModels: ["*"] });
  assert.equal(s.guard.admit(s.key, "anything", 1), "acme");
});
