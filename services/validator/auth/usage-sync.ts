import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Logger } from "pino";
import { ValidatorReplicaSchema } from "../../../gen/scoremesh/tenant/v1/tenant_pb.js";
import { VALIDATOR_TTL_MS, type UsageStore } from "../../lib/nats/index.js";
import type { QuotaLedger } from "./quota.js";

/** How often a replica writes its changed usage counters and its presence. */
export const USAGE_FLUSH_MS = 1000;

/**
 * Shares a replica's counting with the others through NATS: every `USAGE_FLUSH_MS` it writes its changed usage
 * counters and its presence; it watches the others' counters (into the ledger) and presences (`replicas()`:
 * the replicas seen within the presence TTL, itself included). NATS away: counting goes on locally, each
 * replica with the share it had.
 */
export async function startUsageSync(opts: {
  store: UsageStore;
  ledger: QuotaLedger;
  replica: string;
  log: Logger;
}): Promise<{ replicas(): number; close(): Promise<void> }> {
  const { store, ledger, replica, log } = opts;
  const startedAt = timestampFromMs(Date.now());
  const seen = new Map<string, number>();
  const warn = (err: unknown) => log.warn({ err: String(err) }, "tenant usage: cannot read or write NATS");
  const flush = async () => {
    const now = Date.now();
    await store.putReplica(create(ValidatorReplicaSchema, { replica, startedAt, seenAt: timestampFromMs(now) }));
    for (const u of ledger.takeChanged(now)) await store.put(u);
  };
  await flush();
  const watches = await Promise.all([
    store.watchUsage((u) => ledger.seen(u, Date.now()), warn),
    store.watchReplicas(
      (r) => seen.set(r.replica, Date.now()),
      (r) => seen.delete(r),
      warn,
    ),
  ]);
  let flushing = Promise.resolve();
  const timer = setInterval(() => {
    flushing = flushing.then(flush).catch(warn);
  }, USAGE_FLUSH_MS);
  return {
    replicas: () => {
      const now = Date.now();
      let n = 1;
      for (const [r, at] of seen) if (r !== replica && now - at < VALIDATOR_TTL_MS) n++;
      return n;
    },
    close: async () => {
      clearInterval(timer);
      for (const w of watches) w.close();
      await flushing;
      await flush().catch(warn);
      await store.removeReplica(replica).catch(warn);
    },
  };
}
