import { Events, type KV, type NatsConnection, type Status } from "nats";
import type { BreakerTransition } from "./breaker-sync.js";
import { encodeTransition, parseTransition } from "./breaker-transition-codec.js";
import { watchKv, withReplicas } from "../../lib/nats/index.js";
import { kvKeys } from "../../lib/nats/index.js";

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
 * protobuf JSON with a schema version (`nats kv get scoremesh_breakers <key>` is readable); ordering and
 * staleness are the caller's (`BreakerSync`), not the bucket's, so replays and out-of-order deliveries are harmless.
 */
export class BreakerStore {
  /**
   * Transitions whose put failed (NATS away longer than the put's timeout: nats.js drops a JetStream publish that
   * timed out, so it never reaches the bucket), the latest per target; put again on reconnect and every second.
   */
  private readonly pending = new Map<string, BreakerTransition>();
  private readonly retry: NodeJS.Timeout;
  private readonly status: AsyncIterable<Status> & { stop?(): void };

  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
  ) {
    this.retry = setInterval(() => void this.flush(), 1000).unref();
    const status = nc.status() as AsyncIterable<Status> & { stop?(): void };
    this.status = status;
    void (async () => {
      for await (const s of status) if (s.type === Events.Reconnect) void this.flush();
    })();
  }

  /** `timeoutMs`: how long a put waits for JetStream's answer (nats.js default 5000). */
  static async open(nc: NatsConnection, { timeoutMs }: { timeoutMs?: number } = {}): Promise<BreakerStore> {
    return new BreakerStore(
      nc,
      await nc
        .jetstream()
        .views.kv(BREAKER_BUCKET, withReplicas({ history: 1, ...(timeoutMs ? { timeout: timeoutMs } : {}) })),
    );
  }

  /**
   * Puts the transition in the bucket. When that fails it rejects, and the transition is kept and put again once
   * NATS answers (unless a newer local transition of the target replaced it), so a breaker opened while NATS was
   * away still reaches the other replicas when it is back.
   */
  async publish(t: BreakerTransition): Promise<void> {
    this.pending.set(t.target, t);
    await this.put(t);
  }

  /** Transitions waiting to be put again (for logs and tests). */
  pendingCount(): number {
    return this.pending.size;
  }

  close(): void {
    clearInterval(this.retry);
    this.status.stop?.();
  }

  private async put(t: BreakerTransition): Promise<void> {
    await this.kv.put(breakerKey(t.target), encodeTransition(t));
    if (this.pending.get(t.target) === t) this.pending.delete(t.target);
  }

  private flushing = false;

  private async flush(): Promise<void> {
    if (this.flushing || this.pending.size === 0 || this.nc.isClosed()) return;
    this.flushing = true;
    try {
      for (const t of [...this.pending.values()]) await this.put(t).catch(() => undefined);
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Calls `onTransition` with the latest transition of every target, then with every new one, until `close()`;
   * after NATS was away, with the latest of every target again (see `watchKv`). Resolves once the current values
   * have been delivered.
   */
  async watch(
    onTransition: (t: BreakerTransition) => void,
    onError: (err: unknown) => void,
  ): Promise<{ close(): void }> {
    return watchKv({
      nc: this.nc,
      kv: this.kv,
      bucket: BREAKER_BUCKET,
      decode: parseTransition,
      onValue: onTransition,
      onError,
    });
  }

  async all(): Promise<BreakerTransition[]> {
    const out: BreakerTransition[] = [];
    for (const k of await kvKeys(this.kv)) {
      const e = await this.kv.get(k);
      if (e && e.operation === "PUT") out.push(parseTransition(e.string()));
    }
    return out.sort((a, b) => a.target.localeCompare(b.target));
  }
}
