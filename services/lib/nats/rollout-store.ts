import type { KV, NatsConnection } from "nats";
import { withReplicas } from "./bucket-replicas.js";
import { kvKeys } from "./kv-keys.js";
import { isWrongRevision } from "./kv-errors.js";
import type { ArmSnapshot } from "../stats/index.js";

/** The JetStream KV bucket of the rollout controller: its lease (`lease`) and the policy history (`history.*`). */
export const ROLLOUT_BUCKET = "scoremesh_rollouts";

/** File storage, one value per key: each history entry has its own key, so nothing is overwritten. */
export const ROLLOUT_BUCKET_OPTIONS = { history: 1 } as const;

/** A check's reading at the time of a change (see services/lib/stats/canary-analysis.ts). */
export interface HistoryCheck {
  name: string;
  segment: string;
  value: number;
  limit: number;
  state: string;
  championSample: number;
  canarySample: number;
}

/** One policy change as history keeps it: who, what, why and the metrics at the time. */
export interface PolicyChange {
  /** ISO time of the change. */
  at: string;
  model: string;
  /** The operator that signed it (e.g. "ana", "rollout-controller"). */
  by: string;
  /** What changed, e.g. "canary 4 at 25 %", "rolled back canary 4". */
  what: string;
  /** Why, e.g. "meshctl canary", "step 1 passed", "breach: approve_rate". */
  why: string;
  /** The checks at the time (a rollout's steps); absent for a hand-made change. */
  checks?: HistoryCheck[];
  /** The policy's revision after the change. */
  revision?: number;
}

/** Who holds the controller's lease, and until when (ms since the epoch). */
export interface Lease {
  holder: string;
  until: number;
}

/** The controller's reading of a running rollout's current step, rewritten at each of its checks. */
export interface RolloutStatus {
  at: string;
  model: string;
  version: string;
  stepIndex: number;
  percent: number;
  canaryDecisions: number;
  championDecisions: number;
  holdDecisions: number;
  holdSeconds: number;
  checks: HistoryCheck[];
  /** The replica that holds the lease. */
  controller: string;
}

/**
 * One monitor replica's records of a running rollout step (routers send each decision record to one replica),
 * shared so that whichever replica holds the lease decides on every replica's records.
 */
export interface SharedWindow {
  holder: string;
  /** ISO time of the write. */
  at: string;
  /** The step: model, champion and canary versions, step index, start (ms since the epoch). */
  key: { model: string; champion: string; canary: string; stepIndex: number; since: number };
  champion: ArmSnapshot;
  canary: ArmSnapshot;
}

const LEASE_KEY = "lease";

/** A history key: `history.<model>.<ms, 15 digits>-<random>` so that keys sort by time. */
function historyKey(model: string, at: number): string {
  const rand = Math.random().toString(36).slice(2, 8);
  return `history.${model}.${String(at).padStart(15, "0")}-${rand}`;
}

/**
 * The rollout controller's lease and the policy history in NATS KV. The lease is held with compare-and-set on
 * its revision: `acquire` takes it when it is free, lapsed or already ours, and fails when another holder wrote
 * it first, so at most one controller acts at a time; a holder that stops renewing loses it after `ttlMs`.
 */
export class RolloutStore {
  private constructor(private readonly kv: KV) {}

  static async open(nc: NatsConnection): Promise<RolloutStore> {
    return new RolloutStore(await nc.jetstream().views.kv(ROLLOUT_BUCKET, withReplicas(ROLLOUT_BUCKET_OPTIONS)));
  }

  /** Takes or renews the lease for `holder` until now + ttlMs; false when another holder has it (or won a race). */
  async acquire(holder: string, ttlMs: number, now = Date.now()): Promise<boolean> {
    const e = await this.kv.get(LEASE_KEY);
    const value = JSON.stringify({ holder, until: now + ttlMs } satisfies Lease);
    try {
      if (!e || e.operation !== "PUT") {
        await (e ? this.kv.update(LEASE_KEY, value, e.revision) : this.kv.create(LEASE_KEY, value));
        return true;
      }
      const lease = JSON.parse(e.string()) as Lease;
      if (lease.holder !== holder && lease.until > now) return false;
      await this.kv.update(LEASE_KEY, value, e.revision);
      return true;
    } catch (err) {
      // Another replica moved the lease first: not ours this tick. Anything else is the caller's to see.
      if (isWrongRevision(err)) return false;
      throw err;
    }
  }

  /** The lease now, if any. */
  async lease(): Promise<Lease | undefined> {
    const e = await this.kv.get(LEASE_KEY);
    return e && e.operation === "PUT" ? (JSON.parse(e.string()) as Lease) : undefined;
  }

  /** Gives the lease up (only if `holder` has it), so that another replica takes over at once. */
  async release(holder: string): Promise<void> {
    const e = await this.kv.get(LEASE_KEY);
    if (!e || e.operation !== "PUT" || (JSON.parse(e.string()) as Lease).holder !== holder) return;
    await this.kv.update(LEASE_KEY, JSON.stringify({ holder, until: 0 }), e.revision).catch(() => undefined);
  }

  /** Writes the controller's reading of a model's rollout (last writer wins). */
  async putStatus(status: RolloutStatus): Promise<void> {
    await this.kv.put(`status.${status.model}`, JSON.stringify(status));
  }

  /** Every replica's last window of the model's rollout (any step): one value, `windows.<model>`, by holder. */
  async windows(model: string): Promise<SharedWindow[]> {
    const e = await this.kv.get(`windows.${model}`);
    return e && e.operation === "PUT" ? Object.values(windowMap(e.string())) : [];
  }

  /**
   * Sets this replica's window of the model's rollout (`undefined`: removes it) with compare-and-set on the
   * value's revision; false when another replica wrote it first (the caller tries again later). One value
   * read with one get, so the lease holder reads every replica's window at each tick without listing keys.
   */
  async putWindow(model: string, holder: string, w: SharedWindow | undefined): Promise<boolean> {
    const key = `windows.${model}`;
    const e = await this.kv.get(key);
    const all = e && e.operation === "PUT" ? windowMap(e.string()) : {};
    if (w) all[holder] = w;
    else if (!all[holder]) return true;
    else delete all[holder];
    try {
      await (e ? this.kv.update(key, JSON.stringify(all), e.revision) : this.kv.create(key, JSON.stringify(all)));
      return true;
    } catch (err) {
      if (isWrongRevision(err)) return false;
      throw err;
    }
  }

  /** The controller's last reading of the model's rollout, if any. */
  async status(model: string): Promise<RolloutStatus | undefined> {
    const e = await this.kv.get(`status.${model}`);
    return e && e.operation === "PUT" ? (JSON.parse(e.string()) as RolloutStatus) : undefined;
  }

  /** Appends a policy change to the model's history. */
  async record(change: PolicyChange): Promise<void> {
    await this.kv.create(historyKey(change.model, Date.parse(change.at)), JSON.stringify(change));
  }

  /** The model's history, oldest first. */
  async history(model: string): Promise<PolicyChange[]> {
    const keys = (await kvKeys(this.kv, `history.${model}.>`)).sort();
    const out: PolicyChange[] = [];
    for (const k of keys) {
      const e = await this.kv.get(k);
      if (e && e.operation === "PUT") out.push(JSON.parse(e.string()) as PolicyChange);
    }
    return out;
  }
}

/** The windows by holder in a `windows.<model>` value; entries of another shape (or no JSON) are left out. */
function windowMap(text: string): Record<string, SharedWindow> {
  const out: Record<string, SharedWindow> = {};
  try {
    for (const [holder, w] of Object.entries(JSON.parse(text) as Record<string, SharedWindow>))
      if (isArmSnapshot(w?.champion) && isArmSnapshot(w.canary) && typeof w.key?.stepIndex === "number")
        out[holder] = w;
  } catch {
    // Not a value this build can read: no windows.
  }
  return out;
}

function isArmSnapshot(a: unknown): a is ArmSnapshot {
  const s = a as Partial<ArmSnapshot> | undefined;
  return typeof s?.all?.decisions === "number" && Array.isArray(s.latencies) && typeof s.segments === "object";
}
