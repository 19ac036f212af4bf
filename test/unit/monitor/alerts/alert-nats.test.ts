import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { pino } from "pino";
import { Registry } from "prom-client";
import { AlertSchema, AlertState } from "../../../../gen/scoremesh/alert/v1/alert_pb.js";
import { EnvReader, natsIdentity } from "../../../../services/lib/service/index.js";
import { readAlertsConfig, startAlerts } from "../../../../services/monitor/alerts/index.js";
import { BreakerStore } from "../../../../services/router/breakers/breaker-store.js";
import { startKeyedNats } from "../../../support/nats-keys.js";

/**
 * The alert engine against a real nats-server with the mesh's identities and permissions: a router's breaker
 * transition reaches the monitor's engine through the breaker bucket, the alert fires and is published on
 * scoremesh.alerts.<model>, which control may read and a router may not.
 */
test("a breaker opened by a router fires breaker_open, published on scoremesh.alerts.<model> to control", async () => {
  const dir = mkdtempSync(join(tmpdir(), "alerts-nats-"));
  const nats = await startKeyedNats(dir);
  const router = await nats.connectAs("router");
  const control = await nats.connectAs("control");
  // The router creates the breaker bucket, as a mesh's first router does before the monitor follows it.
  const breakers = await BreakerStore.open(router);
  const registry = new Registry();
  const alerts = startAlerts({
    config: readAlertsConfig(new EnvReader({ MONITOR_ALERTS_INTERVAL_MS: "50", MONITOR_ALERTS_HOLD_MS: "0" })),
    drift: { readings: () => [] },
    segments: { view: () => [] },
    segmentRule: { bound: 0.8, minSample: 100 },
    workers: { list: () => [] },
    registry,
    natsServers: [nats.server.url],
    natsIdentity: natsIdentity(new EnvReader({ NATS_NKEY_SEED_FILE: nats.keys.seedFile.monitor })),
    log: pino({ level: "silent" }),
  });
  try {
    const sub = control.subscribe("scoremesh.alerts.>", { max: 1, timeout: 15_000 });
    await control.flush();
    await breakers.publish({
      origin: "router-1",
      target: "127.0.0.1:9/credit-default/3",
      state: "OPEN",
      epoch: 1,
      at: Date.now(),
    });
    breakers.close();
    let got;
    for await (const m of sub) got = { subject: m.subject, alert: fromBinary(AlertSchema, m.data) };
    assert.equal(got?.subject, "scoremesh.alerts.credit-default");
    const a = got.alert;
    assert.deepEqual(
      [a.rule, a.model, a.modelVersion, a.subject, a.state, a.previous, a.value],
      ["breaker_open", "credit-default", "3", "127.0.0.1:9", AlertState.FIRING, AlertState.OK, 1],
    );
    assert.equal(alerts.engine.list()[0]?.state, "firing");
    const text = await registry.metrics();
    assert.match(
      text,
      /scoremesh_alert_state\{rule="breaker_open",model="credit-default",version="3",subject="127.0.0.1:9"\} 2/,
    );
    // A router may not read the alerts: the server refuses the subscription.
    const denied = router.subscribe("scoremesh.alerts.>", { max: 1, timeout: 2000 });
    await assert.rejects(
      (async () => {
        for await (const m of denied) void m;
      })(),
      /permissions violation/i,
    );
  } finally {
    await alerts.close();
    await router.close().catch(() => undefined);
    await control.close();
    await nats.server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
