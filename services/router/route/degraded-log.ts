import { Code, type ConnectError } from "@connectrpc/connect";
import type { Logger } from "pino";
import { Route } from "../../../gen/scoremesh/scoring/v1/scoring_pb.js";

/**
 * Counts the calls the champion could not answer and says so in the log, at most one line a second: a mesh
 * without workers answers thousands of calls by the rules.
 */
export class DegradedLog {
  private degradedCalls = 0;
  private lastLine = -Infinity;

  constructor(private readonly log?: Logger) {}

  /** Notes one call's route; only a degraded one (not PRIMARY) counts. */
  note(model: string, route: Route, errors: readonly ConnectError[]): void {
    if (route === Route.PRIMARY) return;
    this.degradedCalls++;
    if (performance.now() - this.lastLine < 1000) return;
    this.lastLine = performance.now();
    this.log?.warn(
      {
        model,
        route: Route[route],
        degradedCalls: this.degradedCalls,
        errors: errors.map((e) => `${Code[e.code]}: ${e.rawMessage}`),
      },
      "degraded decisions: the champion could not answer",
    );
  }
}
