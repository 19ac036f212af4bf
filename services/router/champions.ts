/** A canary as a router serves it: the version and its share of traffic, in percent. */
export interface CanaryArm {
  version: string;
  percent: number;
}

/** A version a router took into service: a champion or a canary. */
export interface Adopted {
  model: string;
  arm: "champion" | "canary";
  from?: string;
  to: string;
}

/**
 * Which versions of each model the router sends traffic to: the champion and, next to it, a canary. A policy
 * change names a new version; the router adopts it only once the workers report it ready, and keeps sending to
 * the old one until then, so that a switch under load fails no request. Removing a canary (a rollback) takes
 * effect at once: it needs nothing to be ready. When the policy's champion cannot serve at all and the router has
 * none, a stand-in (the seed version) serves, degraded, until the policy is fixed (`standIn`).
 */
export class ChampionTable {
  private readonly active = new Map<string, string>();
  private readonly pending = new Map<string, string>();
  private readonly canaries = new Map<string, CanaryArm>();
  private readonly pendingCanaries = new Map<string, CanaryArm>();
  /** Models served by a stand-in, with why the policy's champion is not served. */
  private readonly standIns = new Map<string, string>();

  /** Records the champion a policy names. Returns true when it differs from the active one. */
  want(model: string, version: string): boolean {
    if (this.active.get(model) === version) {
      this.pending.delete(model);
      this.standIns.delete(model);
      return false;
    }
    this.pending.set(model, version);
    return true;
  }

  /**
   * Records the canary a policy names (undefined: none). Removing one, or changing only its percent, takes
   * effect at once; a new version waits to be ready. Returns true when anything changed.
   */
  wantCanary(model: string, canary: CanaryArm | undefined): boolean {
    const current = this.canaries.get(model);
    if (!canary) {
      const had = current !== undefined || this.pendingCanaries.has(model);
      this.canaries.delete(model);
      this.pendingCanaries.delete(model);
      return had;
    }
    if (current?.version === canary.version) {
      this.pendingCanaries.delete(model);
      if (current.percent === canary.percent) return false;
      this.canaries.set(model, { ...canary });
      return true;
    }
    if (this.pendingCanaries.get(model)?.version === canary.version) {
      this.pendingCanaries.set(model, { ...canary });
      return false;
    }
    this.pendingCanaries.set(model, { ...canary });
    return true;
  }

  /** Adopts every pending champion and canary for which `isReady` holds; returns what was adopted. */
  async reconcile(isReady: (model: string, version: string) => Promise<boolean>): Promise<Adopted[]> {
    const adopted: Adopted[] = [];
    for (const [model, version] of [...this.pending]) {
      // The policy may have moved on while we were checking.
      if (!(await isReady(model, version)) || this.pending.get(model) !== version) continue;
      adopted.push({ model, arm: "champion", from: this.active.get(model), to: version });
      this.active.set(model, version);
      this.pending.delete(model);
      this.standIns.delete(model);
    }
    for (const [model, canary] of [...this.pendingCanaries]) {
      if (!(await isReady(model, canary.version))) continue;
      if (this.pendingCanaries.get(model)?.version !== canary.version) continue;
      adopted.push({ model, arm: "canary", from: this.canaries.get(model)?.version, to: canary.version });
      this.canaries.set(model, this.pendingCanaries.get(model)!);
      this.pendingCanaries.delete(model);
    }
    return adopted;
  }

  /** Serves `version` in place of a pending champion that cannot serve, while the model has no champion at all. */
  standIn(model: string, version: string, why: string): boolean {
    if (this.active.has(model)) return false;
    this.active.set(model, version);
    this.standIns.set(model, why);
    return true;
  }

  champion(model: string): string | undefined {
    return this.active.get(model);
  }

  canary(model: string): CanaryArm | undefined {
    return this.canaries.get(model);
  }

  /** Why the model's champion is a stand-in and not the policy's (its decisions are degraded); undefined if not. */
  standInFor(model: string): string | undefined {
    return this.standIns.get(model);
  }

  pendingFor(model: string): string | undefined {
    return this.pending.get(model);
  }

  models(): string[] {
    return [...this.active.keys()];
  }
}
