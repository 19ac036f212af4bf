import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, type NatsConnection } from "nats";
import { ConnectError } from "@connectrpc/connect";
import { identityOptions } from "../../services/lib/nats/index.js";
import { AUDIT_STREAM } from "../../services/lib/audit/index.js";
import { ROLE_GRANTS } from "../../deploy/local/nats-permissions.js";
import { EnvReader, natsIdentity } from "../../services/lib/service/index.js";
import { creditRows } from "../support/credit-data.js";
import { sleep, startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

/**
 * The mesh on a three-node JetStream cluster (what Kubernetes runs): every KV bucket is kept on three nodes, and
 * one node SIGKILLed under load costs no call and no acknowledged write.
 */
const MODEL = "credit-default";
let fx: MeshFixture;
let nc: NatsConnection | undefined;

before(async () => {
  fx = await startMeshFixture({ LOG_LEVEL: "warn" }, { natsNodes: 3 });
});

after(async () => {
  await nc?.close();
  await fx?.close();
});

/** The control identity's connection to the cluster (any node). */
async function control(): Promise<NatsConnection> {
  const id = natsIdentity(new EnvReader({ NATS_NKEY_SEED_FILE: fx.mesh.keys.seedFile.control }));
  return connect({ servers: fx.mesh.natsUrl.split(","), name: "test-control", ...identityOptions(id) });
}

test("every bucket of the mesh and the audit stream are replicated on three nodes", async () => {
  nc = await control();
  // The control identity may read every bucket (stream info included), but not list the account's streams.
  const jsm = await nc.jetstreamManager({ checkAPI: false });
  // Key-value buckets are streams KV_<bucket>; the object store of published versions is OBJ_<bucket>.
  const streams = ROLE_GRANTS.control.map((g) => `${g.kind === "os" ? "OBJ" : "KV"}_${g.bucket}`);
  assert.ok(streams.length >= 5, `streams: ${streams.join(", ")}`);
  for (const stream of streams) {
    const info = await jsm.streams.info(stream);
    assert.equal(info.config.num_replicas, 3, `${stream}: ${info.config.num_replicas} replicas`);
  }
  const audit = await jsm.streams.info(AUDIT_STREAM);
  assert.equal(audit.config.num_replicas, 3, `the audit stream: ${audit.config.num_replicas} replicas`);
});

test("a NATS node SIGKILLed under load: no call fails, and the champion set before it is still there", async () => {
  const set = await fx.meshctl("set-champion", MODEL, "2", "--json");
  assert.equal(set.code, 0, set.stderr);
  const rows = creditRows(100);
  let done = false;
  let ok = 0;
  const failures: string[] = [];
  const caller = async (i: number) => {
    for (let n = i; !done; n += 8) {
      try {
        await fx.scoring.score({ model: MODEL, inputs: rows[n % rows.length]! }, { timeoutMs: 2000 });
        ok++;
      } catch (err) {
        failures.push(ConnectError.from(err).message);
      }
    }
  };
  const load = Promise.all(Array.from({ length: 8 }, (_, i) => caller(i)));
  await sleep(1000);
  await fx.mesh.natsNodes[0]!.kill("SIGKILL");
  await sleep(3000);
  done = true;
  await load;
  assert.ok(ok > 50, `only ${ok} calls answered`);
  assert.deepEqual(failures.slice(0, 3), [], `${failures.length} calls failed`);
  // The killed node may have led the bucket's stream: the other two elect a new leader within seconds, then the
  // acknowledged write reads back.
  const t0 = performance.now();
  let policy = await fx.meshctl("policy", MODEL, "--json");
  while (policy.code !== 0 && performance.now() - t0 < 30_000) policy = await fx.meshctl("policy", MODEL, "--json");
  assert.equal(policy.code, 0, policy.stderr);
  assert.match(policy.stdout, /"championVersion":\s*"2"/, policy.stdout);
  console.log(
    `nats cluster: ${ok} calls, 0 failed with a node SIGKILLed; the policy read back ${Math.round(performance.now() - t0)} ms after`,
  );
});
