import type { NatsConnection } from "nats";
import type { Logger } from "pino";
import { RolloutState, type ServingPolicy } from "../../../gen/scoremesh/policy/v1/policy_pb.js";
import {
  closeNats,
  connectNats,
  PolicyConflictError,
  PolicyStore,
  RolloutStore,
  type NatsClientIdentity,
  type Signer,
  type TrustedOperators,
} from "../../lib/nats/index.js";
import { afterAction, describe, historyChecks } from "./apply.js";
import { stepAction } from "./step.js";
import { SharedWindows } from "./shared.js";
import { stepKeyOf, type RolloutWindows, type StepWindow } from "./windows.js";

/** How often (at most) a replica writes its window of a running step for the others. */
const SHARE_EVERY_MS = 1000;

interface Stores {
  store: PolicyStore;
  rollouts: RolloutStore;
  shared: SharedWindows;
}

export interface RolloutControllerOptions {
  natsServers: string[];
  natsIdentity: NatsClientIdentity;
  trusted: TrustedOperators;
  /** The controller's operator key: routers follow the policies it writes only if it is a trusted operator. */
  signer: Signer;
  windows: RolloutWindows;
  log: Logger;
  /** This replica's name in the lease, e.g. "monitor-4711". */
  holder: string;
  /** The lease lapses after this long without renewal (another replica then takes over). */
  leaseMs: number;
  /** How often it renews the lease and checks each running rollout. */
  tickMs: number;
}

export interface RolloutController {
  /** Whether this replica held the lease at its last tick. */
  leader(): boolean;
  close(): Promise<void>;
}

/**
 * The automated canary analysis: one replica at a time (the lease in ROLLOUT_BUCKET) checks every running
 * rollout (ServingPolicy.rollout) at each tick and applies the step's outcome with one compare-and-set policy
 * write: raise the canary's percent, promote, or roll back; then records the change in the history. Everything
 * it needs is in the policy, so another replica, or this one after NATS was away, resumes where it stood.
 */
export function startRolloutController(opts: RolloutControllerOptions): RolloutController {
  const policies = new Map<string, ServingPolicy>();
  let leader = false;
  let closed = false;
  let nc: NatsConnection | undefined;
  let timer: NodeJS.Timeout | undefined;
  let watch: { close(): void } | undefined;
  const run = async () => {
    const conn = (nc = await connectNats(opts.natsServers, opts.holder, opts.natsIdentity, opts.log));
    const open = async () => {
      const store = await PolicyStore.open(conn, { trusted: opts.trusted, signer: opts.signer });
      const rollouts = await RolloutStore.open(conn);
      watch = await store.watch(
        (p) => policies.set(p.model, p),
        (err, model) => opts.log.warn({ err, model }, "rollout controller: ignoring a refused serving policy"),
      );
      return { store, rollouts };
    };
    const { store, rollouts } = await retry(open, opts, () => closed);
    // Each replica writes its window at most once a second (or once a tick, if longer).
    const shared = new SharedWindows(rollouts, opts.holder, Math.max(opts.tickMs, SHARE_EVERY_MS));
    const to: Stores = { store, rollouts, shared };
    const tick = async () => {
      try {
        const was = leader;
        const own = await runningWindows(to);
        // A replica without records of a running step leaves the lease to one that receives them (CAS either way).
        const yields = !was && (await to.shared.yieldsTo(own, opts.leaseMs));
        leader = !yields && (await rollouts.acquire(opts.holder, opts.leaseMs));
        if (leader !== was) opts.log.info({ holder: opts.holder, leader }, "rollout controller lease changed");
        for (const p of policies.values()) await follow(p, to);
      } catch (err) {
        leader = false;
        // Logged once per distinct failure, not on every tick.
        const reason = (err as Error).message;
        if (reason !== lastFailure) opts.log.warn({ err }, "rollout controller tick failed; retrying");
        lastFailure = reason;
        return schedule();
      }
      lastFailure = undefined;
      schedule();
    };
    const schedule = () => {
      if (!closed) timer = setTimeout(() => void tick(), opts.tickMs);
    };
    let lastFailure: string | undefined;
    await tick();
  };
  // The windows of the running steps, each policy with a running rollout read again first: the watch may lag
  // behind (a busy replica), and records of a step count only once the step's window is open.
  const runningWindows = async ({ store }: Stores): Promise<StepWindow[]> => {
    const out: StepWindow[] = [];
    for (const model of [...policies.keys()]) {
      const known = stepKeyOf(policies.get(model)!);
      if (!known) continue;
      opts.windows.open(known); // records count from now on, even if the read below fails
      const at = await store.read(model);
      if (at.policy) policies.set(model, at.policy);
      const key = stepKeyOf(policies.get(model)!);
      if (key) out.push(opts.windows.open(key));
    }
    return out;
  };
  // Every replica keeps and shares its window of each running step; the lease holder acts on all of them.
  const follow = async (p: ServingPolicy, to: Stores) => {
    const key = stepKeyOf(p);
    if (!key) {
      opts.windows.close(p.model);
      return to.shared.drop(p.model);
    }
    const own = opts.windows.open(key);
    await to.shared.publish(own);
    if (leader) await act(p, await to.shared.merged(own), to);
  };
  const act = async (p: ServingPolicy, w: StepWindow, { store, rollouts }: Stores) => {
    const r = p.rollout;
    if (!r) return;
    const action = stepAction(r, w, Date.now());
    await rollouts.putStatus({
      at: new Date().toISOString(),
      model: p.model,
      version: r.version,
      stepIndex: r.stepIndex,
      percent: p.canary?.percent ?? 0,
      canaryDecisions: w.canary.all.decisions,
      championDecisions: w.champion.all.decisions,
      holdDecisions: r.holdDecisions,
      holdSeconds: r.holdSeconds,
      checks: historyChecks(action.verdict.checks),
      controller: opts.holder,
    });
    if (action.kind === "hold") return;
    // Re-read: apply only to the step this reading was about, compare-and-set on that revision.
    const at = await store.read(p.model);
    const now = at.policy?.rollout;
    if (!at.policy || now?.state !== RolloutState.RUNNING || now.stepIndex !== r.stepIndex || now.version !== r.version)
      return;
    try {
      const written = await store.putAt(afterAction(at.policy, action), at.revision);
      policies.set(p.model, written);
      const { what, why } = describe(at.policy, action);
      opts.log.info({ model: p.model, version: r.version, action: action.kind, why }, "rollout step applied");
      await rollouts.record({
        at: new Date().toISOString(),
        model: p.model,
        by: written.updatedBy,
        what,
        why,
        checks: historyChecks(action.verdict.checks),
      });
    } catch (err) {
      if (!(err instanceof PolicyConflictError)) throw err;
    }
  };
  void run().catch((err: unknown) => opts.log.error({ err }, "rollout controller stopped"));
  return {
    leader: () => leader,
    async close() {
      closed = true;
      clearTimeout(timer);
      watch?.close();
      if (nc) await closeNats(nc);
    },
  };
}

/** `fn` until it succeeds (a bucket not created yet, NATS away), every 2 s, logging the first failure only. */
async function retry<T>(fn: () => Promise<T>, opts: { log: Logger }, closed: () => boolean): Promise<T> {
  for (let failures = 0; ; failures++) {
    try {
      return await fn();
    } catch (err) {
      if (closed()) throw err;
      if (failures === 0) opts.log.warn({ err }, "rollout controller cannot open its buckets yet; retrying");
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}
