import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { create, toBinary } from "@bufbuild/protobuf";
import { connect, type NatsConnection } from "nats";
import { AuditRecordSchema, ChainLinkSchema } from "../../gen/scoremesh/audit/v1/audit_pb.js";
import { identityOptions } from "../../services/lib/nats/index.js";
import { EnvReader, natsIdentity } from "../../services/lib/service/index.js";
import { encodeFrame, FrameKind, recordSubject, type TrailEntry } from "../../services/lib/audit/index.js";
import { fromBinary } from "@bufbuild/protobuf";
import { readTrail } from "../../tools/meshctl/audit-read.js";
import { creditRows } from "../support/credit-data.js";
import { load, loadSummary, sleep, startMeshFixture, type MeshFixture } from "../support/mesh-fixture.js";

const MODEL = "credit-default";

/** A NATS connection as `role` (the launcher's identities in the fixture's state folder). */
async function natsAs(fx: MeshFixture, role: "control" | "router"): Promise<NatsConnection> {
  const identity = natsIdentity(new EnvReader({ NATS_NKEY_SEED_FILE: fx.mesh.keys.seedFile[role] }));
  return connect({ servers: fx.mesh.natsUrl, timeout: 5000, ...identityOptions(identity) });
}

/** The request ids of the records in the stream. */
function requestIds({ entries }: { entries: TrailEntry[] }): Set<string> {
  return new Set(
    entries.filter((e) => e.kind === FrameKind.Record).map((e) => fromBinary(AuditRecordSchema, e.bytes).requestId),
  );
}

/** Waits until every id of `want` is in the stream; returns the ids still missing after `timeoutMs`. */
async function waitInStream(nc: NatsConnection, want: string[], timeoutMs: number): Promise<string[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    // Right after nats-server restarts, JetStream requests may time out until it has recovered its streams.
    const have = await readTrail(nc).then(requestIds, () => new Set<string>());
    const missing = want.filter((id) => !have.has(id));
    if (missing.length === 0 || Date.now() > end) return missing;
    await sleep(500);
  }
}

/** Load whose answered calls' request ids are kept. */
function recordedLoad(fx: MeshFixture, callers = 8) {
  const received: string[] = [];
  const l = load(fx, {
    callers,
    call: async (inputs, timeoutMs) => {
      const res = await fx.scoring.score({ model: MODEL, inputs }, { timeoutMs });
      received.push(res.requestId);
      return res;
    },
  });
  return { received, stop: () => l.stop() };
}

describe("audit trail: every returned decision spooled, shipped to SCOREMESH_AUDIT, chained and verifiable", () => {
  let fx: MeshFixture;
  let control: NatsConnection;

  before(async () => {
    // Two routers: the crash test kills one of them under load (the feature service balances over both).
    fx = await startMeshFixture({ ROUTER_AUDIT_CHECKPOINT_MS: "1000" }, { routers: 2 });
    control = await natsAs(fx, "control");
  });
  after(async () => {
    await control?.close();
    await fx?.close();
  });

  test("decisions land in the stream; audit show prints one; audit verify passes", async () => {
    const ids: string[] = [];
    for (const inputs of creditRows(20)) ids.push((await fx.scoring.score({ model: MODEL, inputs })).requestId);
    assert.deepEqual(await waitInStream(control, ids, 15_000), [], "every decision in the stream");
    // Three independent meshctl runs at once (each is a process of its own).
    const [shown, text, v] = await Promise.all([
      fx.meshctl("audit", "show", ids[3]!, "--json"),
      fx.meshctl("audit", "show", ids[3]!),
      fx.meshctl("audit", "verify", "--json"),
    ]);
    assert.equal(shown.code, 0, shown.stderr);
    const [rec] = JSON.parse(shown.stdout) as { record: Record<string, unknown> }[];
    assert.equal(rec!.record["requestId"], ids[3]);
    assert.equal(rec!.record["model"], MODEL);
    assert.equal(rec!.record["tenantId"], "dev");
    assert.equal((rec!.record["vector"] as number[]).length > 0, true, "the vector is recorded");
    assert.ok(!("AGE" in (rec!.record["inputs"] as object)), "no raw protected attribute");
    assert.match(text.stdout, new RegExp(`request ${ids[3]}`));
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.equal((JSON.parse(v.stdout) as { ok: boolean }).ok, true);
  });

  test("nats-server SIGKILLed: calls keep being answered; the spool ships once NATS is back", async () => {
    await fx.mesh.stopNats("SIGKILL");
    const ids: string[] = [];
    const t0 = performance.now();
    for (const inputs of creditRows(30, 100)) ids.push((await fx.scoring.score({ model: MODEL, inputs })).requestId);
    const ms = performance.now() - t0;
    await fx.mesh.startNats();
    assert.deepEqual(await waitInStream(control, ids, 20_000), [], "every decision shipped after the outage");
    console.log(`30 calls with NATS down took ${ms.toFixed(0)} ms`);
  });

  test("router SIGKILLed under load: every decision a client received is in the stream after it restarts", async () => {
    const l = recordedLoad(fx);
    await sleep(2000);
    const router = fx.mesh.processes.get("router")!;
    router.kill("SIGKILL");
    await once(router, "exit");
    const stats = await l.stop();
    const received = [...l.received];
    console.log(`before the kill: ${loadSummary(stats)}`);
    assert.ok(received.length > 50, `load answered (${received.length})`);
    await fx.mesh.startService("router");
    const missing = await waitInStream(control, received, 30_000);
    assert.deepEqual(missing, [], `${missing.length} of ${received.length} received decisions missing`);
    const v = await fx.meshctl("audit", "verify");
    assert.equal(v.code, 0, v.stdout + v.stderr);
    console.log(`${received.length} decisions received, all in the stream; ${v.stdout.split("\n")[0]}`);
  });

  test("two routers under load: a router, the monitor and nats-server SIGKILLed in turn; every received decision is in the stream", async () => {
    const l = recordedLoad(fx);
    const kill = async (name: "router-2" | "monitor") => {
      const p = fx.mesh.processes.get(name)!;
      p.kill("SIGKILL");
      await once(p, "exit");
    };
    await sleep(1500);
    await kill("router-2");
    await sleep(500);
    await fx.mesh.startService("router-2");
    await sleep(1000);
    await kill("monitor");
    await sleep(500);
    await fx.mesh.startService("monitor");
    await sleep(1000);
    await fx.mesh.stopNats("SIGKILL");
    await sleep(1500);
    await fx.mesh.startNats();
    await sleep(1000);
    const stats = await l.stop();
    const received = [...l.received];
    console.log(`under load through three kills: ${loadSummary(stats)}`);
    assert.ok(received.length > 100, `load answered (${received.length})`);
    const missing = await waitInStream(control, received, 40_000);
    assert.deepEqual(missing, [], `${missing.length} of ${received.length} received decisions missing`);
    const v = await fx.meshctl("audit", "verify");
    assert.equal(v.code, 0, v.stdout + v.stderr);
    console.log(
      `crash counts: ${received.length} decisions received, ${received.length - missing.length} found, ` +
        `${missing.length} missing; ${v.stdout.split("\n")[0]}`,
    );
  });

  test("audit export: the decisions as JSON Lines, by tenant; another tenant gets none", async () => {
    const ids: string[] = [];
    for (const inputs of creditRows(5, 200)) ids.push((await fx.scoring.score({ model: MODEL, inputs })).requestId);
    assert.deepEqual(await waitInStream(control, ids, 15_000), []);
    const [r, none] = await Promise.all([
      fx.meshctl("audit", "export", "--since", "10m", "--tenant", "dev", "--model", MODEL),
      fx.meshctl("audit", "export", "--since", "10m", "--tenant", "someone-else"),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { record: Record<string, unknown> });
    const exported = new Set(lines.map((l) => l.record["requestId"]));
    for (const id of ids) assert.ok(exported.has(id), `${id} exported`);
    assert.ok(lines.every((l) => l.record["tenantId"] === "dev" && l.record["model"] === MODEL));
    assert.match(r.stderr, new RegExp(`exported ${lines.length} records`));
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, "");
  });

  test("audit retain cuts the stream at a checkpoint boundary while routers write; verify still passes", async () => {
    const l = recordedLoad(fx, 2);
    await sleep(1500);
    const r = await fx.meshctl("audit", "retain", "--keep", "1s", "--json");
    const stats = await l.stop();
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const cut = JSON.parse(r.stdout) as { keepFrom: number; firstSeqBefore: number; purged: number };
    assert.ok(cut.purged > 0 && cut.keepFrom > cut.firstSeqBefore, `something was cut: ${r.stdout}`);
    assert.deepEqual(await waitInStream(control, [...l.received].slice(-5), 15_000), [], "the newest decisions kept");
    const v = await fx.meshctl("audit", "verify");
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.match(v.stdout, /from stream seq \d+ \(cut\)/);
    console.log(`retain: ${cut.purged} messages cut below stream seq ${cut.keepFrom}; ${loadSummary(stats)}`);
  });

  test("a record forged with the router's NATS identity is named by verify", async () => {
    const nc = await natsAs(fx, "router");
    try {
      const forged = create(AuditRecordSchema, { requestId: "forged-1", model: MODEL, score: 0.01 });
      forged.link = create(ChainLinkSchema, { writer: "router-forged", seq: 1n, prevHash: new Uint8Array(32) });
      const frame = encodeFrame(FrameKind.Record, toBinary(AuditRecordSchema, forged));
      await nc.jetstream().publish(recordSubject(MODEL, "router-forged"), frame);
    } finally {
      await nc.close();
    }
    const v = await fx.meshctl("audit", "verify", "--json");
    assert.equal(v.code, 1);
    const report = JSON.parse(v.stdout) as { problems: { kind: string; writer?: string }[] };
    assert.deepEqual(
      report.problems.map((p) => [p.kind, p.writer]),
      [["inserted", "router-forged"]],
    );
  });
});
