import type { RolloutStore, SharedWindow } from "../../lib/nats/index.js";
import { ArmSample } from "../../lib/stats/index.js";
import type { StepWindow, WindowKey } from "./windows.js";

/**
 * The rollout windows shared between monitor replicas. Routers send each decision record to one replica, so every
 * replica publishes its own window of each running step (when it has new records), and the lease holder decides
 * on its own records plus every other replica's for the same step: a replica that takes the lease over (the holder
 * stalled, NATS restarted) sees the records the others received, instead of an empty window that never fills.
 */
export class SharedWindows {
  /** Per model: the step and record count last published. */
  private readonly published = new Map<string, string>();

  /** Per model: when this replica last published (ms since the epoch). */
  private readonly publishedAt = new Map<string, number>();

  /** `everyMs`: at most one write per model in this time (new records wait for the next one). */
  constructor(
    private readonly rollouts: RolloutStore,
    private readonly holder: string,
    private readonly everyMs = 0,
  ) {}

  /** Writes this replica's window when it holds records not published yet (or tries again at the next tick). */
  async publish(w: StepWindow, now = Date.now()): Promise<void> {
    const n = w.champion.all.decisions + w.canary.all.decisions;
    const mark = `${JSON.stringify(w.key)} ${n}`;
    if (n === 0 || this.published.get(w.key.model) === mark) return;
    if (now - (this.publishedAt.get(w.key.model) ?? 0) < this.everyMs) return;
    const written = await this.rollouts.putWindow(w.key.model, this.holder, {
      holder: this.holder,
      at: new Date().toISOString(),
      key: w.key,
      champion: w.champion.snapshot(),
      canary: w.canary.snapshot(),
    });
    if (!written) return;
    this.published.set(w.key.model, mark);
    this.publishedAt.set(w.key.model, now);
  }

  /** Removes this replica's window of a model whose rollout ended (if it published one). */
  async drop(model: string): Promise<void> {
    if (this.published.has(model) && (await this.rollouts.putWindow(model, this.holder, undefined)))
      this.published.delete(model);
  }

  /**
   * Whether this replica leaves a free or lapsed lease to another one: for some running step it has no records of
   * its own while another replica published records of that step within `withinMs` (alive, and the routers send
   * their records to it), so that the lease holder is, where possible, a replica that sees the traffic.
   */
  async yieldsTo(own: StepWindow[], withinMs: number, now = Date.now()): Promise<boolean> {
    for (const w of own) {
      if (w.champion.all.decisions + w.canary.all.decisions > 0) continue;
      const shared = await this.rollouts.windows(w.key.model);
      const fresh = (s: SharedWindow) => now - Date.parse(s.at) <= withinMs;
      if (shared.some((s) => s.holder !== this.holder && sameStep(s.key, w.key) && fresh(s))) return true;
    }
    return false;
  }

  /** `own` together with the other replicas' windows of the same step. */
  async merged(own: StepWindow): Promise<StepWindow> {
    return mergeWindows(own, await this.rollouts.windows(own.key.model), this.holder);
  }
}

/** `own` plus the windows of other holders for the same step (others' older steps are left out). Pure. */
export function mergeWindows(own: StepWindow, shared: SharedWindow[], holder: string): StepWindow {
  const others = shared.filter((s) => s.holder !== holder && sameStep(s.key, own.key));
  if (others.length === 0) return own;
  const champion = new ArmSample().merge(own.champion.snapshot(Infinity));
  const canary = new ArmSample().merge(own.canary.snapshot(Infinity));
  for (const s of others) {
    champion.merge(s.champion);
    canary.merge(s.canary);
  }
  return { key: own.key, champion, canary };
}

function sameStep(a: SharedWindow["key"], b: WindowKey): boolean {
  return (
    a.model === b.model &&
    a.champion === b.champion &&
    a.canary === b.canary &&
    a.stepIndex === b.stepIndex &&
    a.since === b.since
  );
}
