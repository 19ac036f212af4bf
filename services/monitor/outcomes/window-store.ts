import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { KV, NatsConnection } from "nats";
import { OutcomeWindowSchema, type OutcomeWindow } from "../../../gen/scoremesh/monitor/v1/monitor_pb.js";
import { kvKeys, withReplicas } from "../../lib/nats/index.js";
import { isWrongRevision } from "../../lib/nats/index.js";
import { appendOutcome, type OutcomePoint } from "./outcome-window.js";

/** The outcome windows: key "<hex of model>.<hex of version>", one OutcomeWindow each. */
export const OUTCOME_WINDOW_BUCKET = "scoremesh_outcome_windows";

const hexOf = (s: string) => Buffer.from(s, "utf8").toString("hex") || "_";

interface AppendQueue {
  model: string;
  modelVersion: string;
  waiting: { p: OutcomePoint; resolve: () => void; reject: (err: unknown) => void }[];
  busy: boolean;
}

/**
 * Each version's last outcomes and per-tier totals in one KV value, appended by compare-and-set, so that any
 * number of monitor replicas recording outcomes keep one window (none lost, none counted twice).
 */
export class OutcomeWindowStore {
  private readonly queues = new Map<string, AppendQueue>();

  private constructor(
    private readonly kv: KV,
    private readonly max: number,
  ) {}

  static async open(nc: NatsConnection, max: number): Promise<OutcomeWindowStore> {
    const kv = await nc.jetstream().views.kv(OUTCOME_WINDOW_BUCKET, withReplicas({ history: 1 }));
    return new OutcomeWindowStore(kv, max);
  }

  /**
   * Appends one outcome of (model, version) to its window. Appends that arrive while one is being written wait
   * and go together in the next compare-and-set (one writer per key per replica; the replicas retry on conflict).
   */
  append(model: string, modelVersion: string, p: OutcomePoint): Promise<void> {
    const key = `${hexOf(model)}.${hexOf(modelVersion)}`;
    let q = this.queues.get(key);
    if (!q) this.queues.set(key, (q = { model, modelVersion, waiting: [], busy: false }));
    const done = new Promise<void>((resolve, reject) => q.waiting.push({ p, resolve, reject }));
    if (!q.busy) void this.drain(key, q);
    return done;
  }

  private async drain(key: string, q: AppendQueue): Promise<void> {
    q.busy = true;
    while (q.waiting.length > 0) {
      const batch = q.waiting.splice(0);
      try {
        await this.write(
          key,
          q,
          batch.map((b) => b.p),
        );
        batch.forEach((b) => b.resolve());
      } catch (err) {
        batch.forEach((b) => b.reject(err));
      }
    }
    q.busy = false;
    this.queues.delete(key);
  }

  private async write(key: string, q: AppendQueue, points: OutcomePoint[]): Promise<void> {
    for (;;) {
      const e = await this.kv.get(key);
      const had = e?.operation === "PUT";
      let w = had
        ? fromBinary(OutcomeWindowSchema, e.value)
        : create(OutcomeWindowSchema, { model: q.model, modelVersion: q.modelVersion });
      for (const p of points) w = appendOutcome(w, p, this.max);
      const bytes = toBinary(OutcomeWindowSchema, w);
      try {
        await (had ? this.kv.update(key, bytes, e.revision) : this.kv.create(key, bytes));
        return;
      } catch (err) {
        if (!isWrongRevision(err)) throw err;
      }
    }
  }

  /** Every version's window (of `model` only, when given). */
  async list(model?: string): Promise<OutcomeWindow[]> {
    const out: OutcomeWindow[] = [];
    for (const k of await kvKeys(this.kv, model === undefined ? undefined : `${hexOf(model)}.*`)) {
      const e = await this.kv.get(k);
      if (e?.operation === "PUT") out.push(fromBinary(OutcomeWindowSchema, e.value));
    }
    return out;
  }
}
