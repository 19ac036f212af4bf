/**
 * Which version of each model the router sends traffic to. A policy change names a new champion; the router
 * adopts it only once the workers report it ready, and keeps sending to the old one until then, so that a
 * switch under load fails no request.
 */
export class ChampionTable {
  private readonly active = new Map<string, string>();
  private readonly pending = new Map<string, string>();

  /** Records the champion a policy names. Returns true when it differs from the active one. */
  want(model: string, version: string): boolean {
    if (this.active.get(model) === version) {
      this.pending.delete(model);
      return false;
    }
    this.pending.set(model, version);
    return true;
  }

  /** Adopts every pending champion for which `isReady` holds; returns what was adopted. */
  async reconcile(
    isReady: (model: string, version: string) => Promise<boolean>,
  ): Promise<{ model: string; from?: string; to: string }[]> {
    const adopted: { model: string; from?: string; to: string }[] = [];
    for (const [model, version] of [...this.pending]) {
      if (await isReady(model, version)) {
        // The policy may have moved on while we were checking.
        if (this.pending.get(model) !== version) continue;
        adopted.push({ model, from: this.active.get(model), to: version });
        this.active.set(model, version);
        this.pending.delete(model);
      }
    }
    return adopted;
  }

  champion(model: string): string | undefined {
    return this.active.get(model);
  }

  pendingFor(model: string): string | undefined {
    return this.pending.get(model);
  }

  models(): string[] {
    return [...this.active.keys()];
  }
}
