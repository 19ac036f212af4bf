import type { Logger } from "pino";
import { specHash, specSkew, type ModelRepository } from "../lib/model/index.js";

/**
 * The worker's skew guard: a version whose card names another feature spec than the family's spec.json is never
 * loaded; requests for it get FAILED_PRECONDITION naming both hashes (see `ModelRegistry.resolve`).
 */
export class VersionSkewGuard {
  /** Versions refused because their card names another feature spec than the one in use (key -> message). */
  readonly refused = new Map<string, string>();
  private readonly specHashes = new Map<string, string>();

  constructor(
    private readonly repo: ModelRepository,
    private readonly log: Logger,
  ) {}

  /** True when the version is refused (now or before); logs the refusal once. */
  refuses(model: string, version: string): boolean {
    const key = `${model}/${version}`;
    if (this.refused.has(key)) return true;
    const card = this.repo.card(model, version);
    const inUse = this.specInUse(model);
    const problem = specSkew(card, inUse);
    if (!problem) return false;
    this.refused.set(key, problem);
    this.log.error(
      { model, version, cardFeatureSpecHash: card.feature_spec_hash, featureSpecHashInUse: inUse },
      problem,
    );
    return true;
  }

  private specInUse(model: string): string {
    let inUse = this.specHashes.get(model);
    if (inUse === undefined) {
      inUse = specHash(this.repo.spec(model));
      this.specHashes.set(model, inUse);
    }
    return inUse;
  }
}
