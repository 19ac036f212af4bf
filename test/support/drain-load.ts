import { ConnectError, type Client, type Code } from "@connectrpc/connect";
import type { ScoringService } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";

/** Calls kept going while a test stops a service: how many succeeded and the code of every one that failed. */
export interface DrainLoad {
  readonly codes: Code[];
  ok(): number;
  /** Stops the callers and waits for the calls in flight. */
  stop(): Promise<void>;
}

/** Four callers scoring `rows` in turn, each pausing 20 ms after a failure, until `stop()`. */
export function scoreUntilStopped(
  scoring: Client<typeof ScoringService>,
  model: string,
  rows: readonly Record<string, number>[],
): DrainLoad {
  const codes: Code[] = [];
  let ok = 0;
  let stopped = false;
  const caller = async (k: number) => {
    for (let i = k; !stopped; i += 4) {
      try {
        await scoring.score({ model, inputs: rows[i % rows.length]! }, { timeoutMs: 2000 });
        ok++;
      } catch (err) {
        codes.push(ConnectError.from(err).code);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const callers = [0, 1, 2, 3].map((k) => caller(k));
  return {
    codes,
    ok: () => ok,
    stop: async () => {
      stopped = true;
      await Promise.all(callers);
    },
  };
}
