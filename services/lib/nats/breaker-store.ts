import type { KV, NatsConnection } from "nats";
import { parseTransition, type BreakerTransition } from "../breaker-sync.js";
import { watchKv } from "./kv-watch.js";

/** The JetStream KV bucket that holds the latest breaker transition per target. */
export const BREAKER_BUCKET = "scoremesh_breakers";

/** A KV key for a target: NATS keys allow letters, digits and `-_=./`; anything else becomes `_`. */
export function breakerKey(target: string): string {
  return target.replace(/[^-A-Za-z0-9_=/]/g, "_").replace(/\//g, ".");
}

/**
 * Breaker transitions shared by every router replica, with last-value semantics: a JetStream KV bucket with
 * one key per target (the target is also inside the value). A replica that starts late, or whose watch is
 * re-created after NATS was away, reads the current value of every key first, then every change. Values are
 * JSON (`nats kv get scoremesh_breakers <key>` is readable); ordering and staleness are the caller's
 * (`BreakerSync`), not the bucket's, so replays and out-of-order deliveries are harmless.
 */
export class BreakerStore {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
  ) {}

  static async open(nc: NatsConnection): Promise<BreakerStore> {
    return new BreakerStore(nc, await nc.jetstream().views.kv(BREAKER_BUCKET, { history: 1 }));
  }

  async publish(t: BreakerTransition): Promise<void> {
    await this.kv.put(breakerKey(t.target), JSON.stringify(t));
  }

  /**
   * Calls `onTransition` with the latest transition of every target, then with every new one, until `close()`;
   * after NATS was away, with the latest of every target again (see `watchKv`). Resolves once the current values
   * have been delivered.
   */
  async watch(onTransition: (t: BreakerTransition) => void, onError: (err: unknown) => void): Promise<{ close(): void }> {
    return watchKv({ nc: this.nc, kv: this.kv, bucket: BREAKER_BUCKET, decode: parseTransition, onValue: onTransition, onError });
  }

  async all(): Promise<BreakerTransition[]> {
    const out: BreakerTransition[] = [];
    for await (const k of await this.kv.keys()) {
      const e = await this.kv.get(k);
      if (e && e.operation === "PUT") out.push(parseTransition(e.string()));
    }
    return out.sort((a, b) => a.target.localeCompare(b.target));
  }
}
