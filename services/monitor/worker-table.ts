import { WORKER_RECORD_TTL_MS, type WorkerChange, type WorkerRecord } from "../lib/nats/index.js";

/** A worker as the monitor shows it: its record, what it means, and how long ago it was last rewritten. */
export interface WorkerView extends WorkerRecord {
  key: string;
  /** True when the worker asked for an accelerator provider (cuda, tensorrt) that could not load, and runs on CPU. */
  cpuFallback: boolean;
  /** "cuda: <error>; ..." for every provider that could not load; empty when none failed. */
  fallbackReason: string;
  /** Ready model versions, "model/version". */
  ready: string[];
  /** Milliseconds since the monitor last received the record (by its own clock). */
  ageMs: number;
}

/**
 * The model workers seen in the worker bucket. Changes are applied in the order the bucket delivers them: a
 * write replaces the key's record, a delete removes it (a worker that shut down). A record not rewritten for
 * `ttlMs` is dropped too: the bucket expires it, but does not tell watchers (a worker that died). Ages are
 * counted from when the monitor received a record, by the monitor's clock, so clock skew between hosts does
 * not matter; a monitor that starts late may show a dead worker for up to twice the TTL. Pure: the caller
 * passes the time.
 *
 * @example
 *   const table = new WorkerTable({ ttlMs: store.ttlMs });
 *   await store.watch((c) => table.apply(c, Date.now()), onError);
 *   table.list(Date.now());   // live workers, by address
 */
export class WorkerTable {
  ttlMs: number;
  private readonly entries = new Map<string, { record: WorkerRecord; seenAt: number }>();

  constructor(opts: { ttlMs?: number } = {}) {
    this.ttlMs = opts.ttlMs ?? WORKER_RECORD_TTL_MS;
  }

  apply(c: WorkerChange, now: number): void {
    if (c.record) this.entries.set(c.key, { record: c.record, seenAt: now });
    else this.entries.delete(c.key);
  }

  /** The live workers, sorted by address then instance; records older than the TTL are forgotten. */
  list(now: number): WorkerView[] {
    const out: WorkerView[] = [];
    for (const [key, e] of this.entries) {
      if (now - e.seenAt >= this.ttlMs) {
        this.entries.delete(key);
        continue;
      }
      out.push(view(key, e.record, now - e.seenAt));
    }
    return out.sort((a, b) => a.address.localeCompare(b.address) || a.instance.localeCompare(b.instance));
  }
}

function view(key: string, r: WorkerRecord, ageMs: number): WorkerView {
  const failed = r.fallbacks.filter((f) => f.provider !== "cpu");
  return {
    ...r,
    key,
    cpuFallback: failed.length > 0 && r.providersActive.includes("cpu"),
    fallbackReason: r.fallbacks.map((f) => `${f.provider}: ${f.reason}`).join("; "),
    ready: r.models.filter((m) => m.ready).map((m) => `${m.model}/${m.version}`),
    ageMs: Math.max(0, ageMs),
  };
}
