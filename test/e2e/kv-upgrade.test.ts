import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  bootstrapPolicies,
  isSignedValue,
  KvValueError,
  SignatureError,
  POLICY_BUCKET,
  POLICY_SCHEMA_VERSION,
  PolicyStore,
  TENANT_BUCKET,
  TenantStore,
  WORKER_BUCKET,
  WorkerStore,
  type WorkerChange,
} from "../../services/lib/nats/index.js";
import { BREAKER_BUCKET, BreakerStore } from "../../services/router/breakers/breaker-store.js";
import { DEV_KEY_FILE, DEV_TENANT, ensureDevTenant } from "../../deploy/local/dev-tenant.js";
import { sleep } from "../support/mesh-fixture.js";
import { startKeyedNats } from "../support/nats-keys.js";

const dir = mkdtempSync(join(tmpdir(), "scoremesh-kv-upgrade-"));
const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

// The values as the builds before schema versions wrote them (a mesh's saved state in .scoremesh/).
const LEGACY_POLICY =
  '{"model":"credit-default","championVersion":"2","updatedAt":"2023-11-14T22:13:20Z","updatedBy":"router-4711"}';
const LEGACY_BREAKER =
  '{"origin":"router-4711","target":"127.0.0.1:50081/credit-default/2","state":"OPEN","epoch":3,"at":1700000000123}';
const LEGACY_WORKER =
  '{"address":"127.0.0.1:50081","instance":"node-3/4711","pid":4711,"providersRequested":["cpu"],"providersActive":["cpu"],' +
  '"fallbacks":[],"models":[{"model":"credit-default","version":"2","provider":"cpu","ready":true}],"refused":[],' +
  '"startedAt":"2023-11-14T22:13:20.000Z","updatedAt":"2023-11-14T22:13:25.000Z"}';

test(
  "values written before schema versions are read from the buckets (an unsigned policy once the control side signed it); a malformed one goes to onError and the watch goes on",
  { timeout: 60_000 },
  async () => {
    const nats = await startKeyedNats(dir);
    closers.push(() => nats.server.stop());
    // Each store as the role that uses it; the old values written as an older build's processes did.
    const [control, router, worker] = await Promise.all(
      (["control", "router", "model-worker"] as const).map((r) => nats.connectAs(r)),
    );
    for (const nc of [control, router, worker]) closers.push(() => nc!.close());
    const policies = await PolicyStore.open(control!, { trusted: nats.trusted, signer: nats.launcher });
    const breakers = await BreakerStore.open(router!);
    closers.push(async () => breakers.close());
    const workers = await WorkerStore.open(worker!);
    await (await control!.jetstream().views.kv(POLICY_BUCKET)).put("credit-default", LEGACY_POLICY);
    await (await router!.jetstream().views.kv(BREAKER_BUCKET)).put("127_0_0_1_50081.credit-default.2", LEGACY_BREAKER);
    const workerKv = await worker!.jetstream().views.kv(WORKER_BUCKET);
    await workerKv.put("node-3_127_0_0_1_50081", LEGACY_WORKER);

    await assert.rejects(policies.get("credit-default"), SignatureError, "readers refuse an unsigned policy");
    const done = await bootstrapPolicies(policies, ["credit-default"], () => "1", nats.trusted);
    assert.deepEqual(done, [
      { model: "credit-default", action: "re-signed", championVersion: "2", detail: "router-4711" },
    ]);
    const policy = await policies.get("credit-default");
    assert.equal(policy?.championVersion, "2", "the champion it had, not the seed");
    assert.equal(policy?.schemaVersion, POLICY_SCHEMA_VERSION, "upgraded to the current schema version");
    assert.equal(policy?.updatedBy, "launcher", "signed by the launcher's key");
    assert.deepEqual(await breakers.all(), [
      {
        origin: "router-4711",
        target: "127.0.0.1:50081/credit-default/2",
        state: "OPEN",
        epoch: 3,
        at: 1_700_000_000_123,
      },
    ]);

    const changes: WorkerChange[] = [];
    const errors: unknown[] = [];
    const watch = await workers.watch(
      (c) => changes.push(c),
      (err) => errors.push(err),
    );
    closers.push(async () => watch.close());
    assert.equal(changes[0]?.record?.models[0]?.ready, true, "the saved worker record is read");
    await workerKv.put("broken", '{"address":');
    const record = { ...changes[0].record, address: "127.0.0.1:50082" };
    await workers.put("node-4_127_0_0_1_50082", record);
    const end = Date.now() + 10_000;
    while (changes.length < 2 && Date.now() < end) await sleep(50);
    assert.ok(
      errors[0] instanceof KvValueError && /worker record: not JSON/.test(errors[0].message),
      `the malformed value is reported: ${String(errors[0])}`,
    );
    assert.deepEqual(
      changes[1],
      { key: "node-4_127_0_0_1_50082", record },
      "the watch goes on after a malformed value",
    );
  },
);

test(
  "the development tenant left unsigned by an older build, or forged, is replaced by npm start with a new signed one; a revoked one stays revoked",
  { timeout: 60_000 },
  async () => {
    const stateDir = join(dir, "tenants");
    const nats = await startKeyedNats(stateDir);
    closers.push(() => nats.server.stop());
    const control = await nats.connectAs("control");
    closers.push(() => control.close());
    const store = await TenantStore.open(control, { trusted: nats.trusted });
    const kv = await control.jetstream().views.kv(TENANT_BUCKET, { history: 16 });
    const legacy = (revoked: boolean) =>
      JSON.stringify({
        id: DEV_TENANT,
        allowedModels: ["*"],
        ratePerSecond: 1000,
        burst: 1000,
        keys: [{ keyId: "0123456789abcdef", secretSha256: Buffer.alloc(32).toString("base64") }],
        revoked,
        schemaVersion: 1,
      });
    const devKey = () => readFileSync(join(stateDir, DEV_KEY_FILE), "utf8").trim();

    await kv.put(DEV_TENANT, legacy(false));
    await assert.rejects(store.get(DEV_TENANT), SignatureError, "validators refuse the unsigned value");
    const key = await ensureDevTenant(nats.server.url, stateDir, nats.keys);
    assert.ok(key && key === devKey(), "a new key, kept in the state folder");
    const t = await store.get(DEV_TENANT);
    assert.equal(t?.updatedBy, "launcher", "signed by the launcher's key");
    assert.equal(t?.keys.length, 1);
    assert.ok(key.includes(t.keys[0]!.keyId), "only the new key: the unsigned value's keys are gone");
    assert.equal(await ensureDevTenant(nats.server.url, stateDir, nats.keys), key, "kept while valid");

    // A dev tenant forged with a key of its own: replaced too (the forged value stays in the bucket's history).
    const envelope = JSON.parse((await kv.get(DEV_TENANT))!.string()) as { payload: string };
    await kv.put(DEV_TENANT, JSON.stringify({ ...envelope, payload: legacy(false) }));
    const again = await ensureDevTenant(nats.server.url, stateDir, nats.keys);
    assert.ok(again && again !== key, "a new key");
    assert.ok(isSignedValue((await kv.get(DEV_TENANT))!.string()));
    assert.equal((await store.get(DEV_TENANT))?.keys.length, 1);

    await kv.put(DEV_TENANT, legacy(true));
    assert.equal(
      await ensureDevTenant(nats.server.url, stateDir, nats.keys),
      undefined,
      "npm start does not undo a revocation",
    );
  },
);
