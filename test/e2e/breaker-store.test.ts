import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type NatsConnection } from "nats";
import { freePort } from "../../deploy/local/ports.js";
import { startNatsServer, type NatsServer } from "../../deploy/local/nats-server.js";
import type { BreakerTransition } from "../../services/router/breakers/breaker-sync.js";
import { BreakerStore } from "../../services/router/breakers/breaker-store.js";
import { sleep } from "../support/mesh-fixture.js";

const dir = mkdtempSync(join(tmpdir(), "scoremesh-breaker-store-"));
const closers: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of closers.reverse()) await c().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

test(
  "a breaker transition made while NATS is away longer than a put's timeout reaches the bucket once NATS is back",
  { timeout: 60_000 },
  async () => {
    const port = await freePort();
    let server: NatsServer = await startNatsServer({ port, dir });
    closers.push(() => server.stop());
    const url = `nats://127.0.0.1:${port}`;
    const opts = { servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100 };
    const nc: NatsConnection = await connect(opts);
    closers.push(() => nc.close());
    const store = await BreakerStore.open(nc, { timeoutMs: 300 });
    closers.push(async () => store.close());

    const t = (state: BreakerTransition["state"], epoch: number): BreakerTransition => ({
      origin: "router-a",
      target: "127.0.0.1:1/credit-default/3",
      state,
      epoch,
      at: Date.now(),
    });
    await store.publish(t("CLOSED", 1));

    await server.kill("SIGKILL");
    // nats.js drops a JetStream publish whose answer timed out: without the store keeping it, it is lost.
    await assert.rejects(store.publish(t("OPEN", 2)), "the put cannot succeed while NATS is away");
    assert.equal(store.pendingCount(), 1, "the transition is kept to be put again");
    await sleep(500);

    server = await startNatsServer({ port, dir });
    const reader = await connect(opts);
    closers.push(() => reader.close());
    const readerStore = await BreakerStore.open(reader);
    closers.push(async () => readerStore.close());
    let found: BreakerTransition | undefined;
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      found = (await readerStore.all()).find((x) => x.target === "127.0.0.1:1/credit-default/3");
      if (found?.state === "OPEN") break;
      await sleep(100);
    }
    assert.equal(found?.state, "OPEN", "another replica reads the transition made during the outage");
    assert.equal(found?.epoch, 2);
    assert.equal(store.pendingCount(), 0, "nothing left to put");
  },
);
