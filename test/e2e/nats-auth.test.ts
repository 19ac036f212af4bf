/**
 * NATS with identities and permissions, and provable authorship (docs/security-nats.md), on a real mesh: the
 * launcher's nats-server refuses anonymous clients; each role's identity is refused outside its job; a policy
 * written with the control identity but not signed by a trusted operator is ignored by the routers; and
 * `meshctl set-champion` records the verified signer.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { connect, type NatsConnection } from "nats";
import { nkeys } from "../../services/lib/nats/nkeys.js";
import { PROJECT_ROOT } from "../../deploy/local/mesh.js";
import type { NatsRole } from "../../deploy/local/nats-permissions.js";
import { ModelRepository } from "../../services/lib/model/index.js";
import {
  encodePolicy,
  identityOptions,
  operatorSigner,
  POLICY_BUCKET,
  signValue,
  writeSignedPolicy,
} from "../../services/lib/nats/index.js";
import { EnvReader, natsIdentity } from "../../services/lib/service/index.js";
import { BREAKER_BUCKET } from "../../services/router/breakers/breaker-store.js";
import { creditRows } from "../support/credit-data.js";
import { sleep, startMeshFixture, waitFor, type MeshFixture } from "../support/mesh-fixture.js";
import { create } from "@bufbuild/protobuf";
import { ServingPolicySchema } from "../../gen/scoremesh/policy/v1/policy_pb.js";

const MODEL = "credit-default";
const repo = new ModelRepository(join(PROJECT_ROOT, "models"));
const inputs = creditRows(1)[0]!;

/** Another version of the model trained with the same feature spec as `version` (one the skew guard lets in). */
function sameSpecVersion(version: string): string {
  const spec = repo.card(MODEL, version).feature_spec_hash;
  return repo.versions(MODEL).find((v) => v !== version && repo.card(MODEL, v).feature_spec_hash === spec)!;
}

describe("NATS identities, permissions and signed policies", () => {
  let fx: MeshFixture;
  const conns: NatsConnection[] = [];
  const as = async (role: NatsRole) => {
    const id = natsIdentity(new EnvReader({ NATS_NKEY_SEED_FILE: fx.mesh.keys.seedFile[role] }));
    const nc = await connect({ servers: fx.mesh.natsUrl, name: `test-${role}`, ...identityOptions(id) });
    conns.push(nc);
    return nc;
  };
  /** The bucket as `nc` sees it, bound without a look-up (which a role without read access is refused too). */
  const bucket = (nc: NatsConnection, name: string) =>
    nc.jetstream({ timeout: 2000 }).views.kv(name, { bindOnly: true });
  /** nats-server's refusal of a publish to `subject`, as nats.js reports it at once. */
  const refused = (subject: string) => (err: unknown) =>
    (err as { code?: string }).code === "PERMISSIONS_VIOLATION" &&
    (err as Error).message.replace(/^'|'$/g, "") === `Permissions Violation for Publish to "${subject}"`;
  const champion = async () => (await fx.scoring.score({ model: MODEL, inputs }, { timeoutMs: 5000 })).modelVersion;
  const policyJson = async () => {
    const r = await fx.meshctl("policy", MODEL, "--json");
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { championVersion: string; updatedBy: string };
  };

  before(async () => {
    fx = await startMeshFixture();
  });
  after(async () => {
    for (const nc of conns) await nc.close().catch(() => undefined);
    await fx?.close();
  });

  test("an anonymous client is refused", async () => {
    await assert.rejects(
      connect({ servers: fx.mesh.natsUrl, timeout: 3000 }),
      /AUTHORIZATION_VIOLATION|Authorization/i,
    );
    const stranger = nkeys.createUser();
    await assert.rejects(
      connect({
        servers: fx.mesh.natsUrl,
        timeout: 3000,
        ...identityOptions({ seed: stranger.getSeed(), publicKey: stranger.getPublicKey() }),
      }),
      /AUTHORIZATION_VIOLATION|Authorization/i,
      "an nkey the server does not know too",
    );
  });

  test("a router's identity is refused when it tries to change the champion, even with a validly signed value", async () => {
    const before = await policyJson();
    const kv = await bucket(await as("router"), POLICY_BUCKET);
    assert.equal((await kv.get(MODEL))?.operation, "PUT", "a router may read the policy");
    const operator = operatorSigner(readFileSync(fx.mesh.keys.operatorKeyFile, "utf8"));
    const other = repo.versions(MODEL).find((v) => v !== before.championVersion)!;
    const { text } = writeSignedPolicy({ model: MODEL, championVersion: other }, operator, new Map());
    await assert.rejects(kv.put(MODEL, text), refused(`$KV.${POLICY_BUCKET}.${MODEL}`));
    await assert.rejects(kv.delete(MODEL), refused(`$KV.${POLICY_BUCKET}.${MODEL}`));
    assert.deepEqual(await policyJson(), before, "the policy is unchanged");
  });

  test("a worker's identity is refused writing breaker state, and the monitor's writing worker records", async () => {
    const breakers = await bucket(await as("model-worker"), BREAKER_BUCKET);
    await assert.rejects(breakers.put("forged", "{}"), refused(`$KV.${BREAKER_BUCKET}.forged`));
    await assert.rejects(
      (await as("model-worker")).jetstream({ timeout: 2000 }).views.kv(BREAKER_BUCKET),
      refused(`$JS.API.STREAM.INFO.KV_${BREAKER_BUCKET}`),
      "nor may it read them",
    );
    const workers = await bucket(await as("monitor"), "scoremesh_workers");
    assert.ok((await workers.keys()) !== undefined, "the monitor may read worker records");
    await assert.rejects(workers.put("forged", "{}"), refused("$KV.scoremesh_workers.forged"));
  });

  test("a policy written with the control identity but unsigned or signed by an untrusted key is ignored by the routers, and logged once", async () => {
    const current = await champion();
    const other = sameSpecVersion(current);
    const kv = await bucket(await as("control"), POLICY_BUCKET);
    const mallory = operatorSigner(nkeys.createOperator().getSeed());
    const forged = create(ServingPolicySchema, {
      model: MODEL,
      championVersion: other,
      updatedBy: "ana",
      schemaVersion: 1,
    });
    await kv.put(MODEL, signValue(encodePolicy(forged), { bucket: POLICY_BUCKET, key: MODEL }, mallory));
    await waitFor(
      "the router to refuse the untrusted signature",
      () =>
        fx
          .logLines("router")
          .find(
            (l) =>
              l["msg"]?.toString().startsWith("refused a serving policy") &&
              String((l["err"] as { message?: string })?.message).includes(mallory.publicKey),
          ),
      10_000,
    );
    await kv.put(MODEL, encodePolicy(forged)); // unsigned, as an older build wrote
    await waitFor(
      "the router to refuse the unsigned value",
      () =>
        fx
          .logLines("router")
          .find((l) => String((l["err"] as { message?: string })?.message).includes("unsigned value")),
      10_000,
    );
    await sleep(1500); // time a (wrong) switch would take: the workers have every version loaded
    for (let i = 0; i < 20; i++) assert.equal(await champion(), current, "the champion is unchanged");
    const refusals = fx.logLines("router").filter((l) => l["msg"]?.toString().startsWith("refused a serving policy"));
    assert.equal(refusals.length, 2, "once per refused value");
    assert.ok(!fx.logLines("router").some((l) => l["msg"] === "policy names a new champion" && l["version"] === other));
  });

  test("meshctl set-champion signs with the operator's key and updated_by is the verified signer", async () => {
    const current = await champion();
    const other = sameSpecVersion(current);
    const r = await fx.meshctl("set-champion", MODEL, other, "--json");
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { updatedBy: string }).updatedBy, fx.mesh.keys.operatorName);
    assert.deepEqual(
      { ...(await policyJson()), updatedAt: undefined },
      { ...(await policyJson()), championVersion: other, updatedBy: fx.mesh.keys.operatorName, updatedAt: undefined },
    );
    const followed = await waitFor(
      "the router to follow the signed policy",
      () => fx.logLines("router").find((l) => l["msg"] === "policy names a new champion" && l["version"] === other),
      10_000,
    );
    assert.equal(followed["by"], fx.mesh.keys.operatorName, "the router logs the verified signer");
    let answered = "";
    for (let i = 0; i < 100 && answered !== other; i++) {
      if (i > 0) await sleep(100);
      answered = await champion();
    }
    assert.equal(answered, other, "traffic moved to the new champion");
  });
});
