import type { Logger } from "pino";
import type { ServingPolicy } from "../../../gen/scoremesh/policy/v1/policy_pb.js";

/** A policy's light → heavy cascade as the router serves it. */
export interface LightFirst {
  /** The light version, which scores the champion's rows first. */
  lightVersion: string;
  /** Light scores in [low, high) go on to the champion. */
  low: number;
  high: number;
}

/**
 * The light → heavy cascade of each model, from the serving policies the router follows. No readiness gate:
 * a light version no worker has ready only fails its call, and every row then goes to the champion.
 */
export class CascadeTable {
  private readonly byModel = new Map<string, LightFirst>();

  constructor(private readonly log?: Logger) {}

  /** Takes the cascade of a policy (none: removes the model's); logs once per change. */
  follow(policy: ServingPolicy): void {
    const c = policy.cascade;
    const before = this.byModel.get(policy.model);
    if (!c) {
      if (before) this.log?.info({ model: policy.model }, "light → heavy cascade removed");
      this.byModel.delete(policy.model);
      return;
    }
    const next = { lightVersion: c.lightVersion, low: c.bandLow, high: c.bandHigh };
    if (before && before.lightVersion === next.lightVersion && before.low === next.low && before.high === next.high)
      return;
    this.byModel.set(policy.model, next);
    this.log?.info({ model: policy.model, ...next }, "light → heavy cascade set");
  }

  /** The model's cascade; undefined: the champion scores every row. */
  of(model: string): LightFirst | undefined {
    return this.byModel.get(model);
  }
}
