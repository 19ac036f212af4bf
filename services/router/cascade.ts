import { Code, ConnectError } from "@connectrpc/connect";
import { Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { systemClock, type Clock } from "../lib/service/index.js";

export interface CascadeOptions {
  /** The champion version. */
  primary: string;
  /** The fallback model version; undefined (or the champion itself): no fallback model step. */
  fallback?: string;
  /** Time left of the caller's deadline, ms. */
  remainingMs: number;
  /** The most one worker call may take, ms. */
  workerTimeoutMs: number;
  /** Time kept back for the rules step (which always answers), ms. */
  rulesReserveMs: number;
  signal?: AbortSignal;
  clock?: Clock;
}

export type CascadeResult =
  | { route: Route.PRIMARY | Route.FALLBACK_MODEL; version: string; scores: Float32Array; errors: ConnectError[] }
  | { route: Route.RULES; errors: ConnectError[] };

/**
 * The router's fallback cascade, without I/O: the champion, then the fallback model, then the rules; each step
 * is taken when the one before failed, timed out or had every breaker open (`score` throws at once then).
 * Deadlines: the rules' reserve is kept back; when there is a fallback step the champion gets at most half of
 * the rest (and at most `workerTimeoutMs`), the fallback model what is left. The rules step is the caller's
 * (it needs the rows); the result only says it is due. A caller that has gone (signal aborted) gets the error.
 *
 * @example
 *   const r = await cascade({ primary: "3", fallback: "1", remainingMs: 1900, workerTimeoutMs: 1000, rulesReserveMs: 25 },
 *     (version, timeoutMs) => batcher.score(model, version, cardOf(version), matrix, rows, { timeoutMs }));
 *   if (r.route === Route.RULES) ...
 */
export async function cascade(
  o: CascadeOptions,
  score: (version: string, timeoutMs: number) => Promise<Float32Array>,
): Promise<CascadeResult> {
  const clock = o.clock ?? systemClock;
  const start = clock.now();
  const budget = o.remainingMs - o.rulesReserveMs;
  const fallback = o.fallback !== undefined && o.fallback !== o.primary ? o.fallback : undefined;
  const errors: ConnectError[] = [];
  const steps: { route: Route.PRIMARY | Route.FALLBACK_MODEL; version: string }[] = [
    { route: Route.PRIMARY, version: o.primary },
  ];
  if (fallback !== undefined) steps.push({ route: Route.FALLBACK_MODEL, version: fallback });
  for (const [i, step] of steps.entries()) {
    const left = budget - (clock.now() - start);
    const share = i === 0 && steps.length > 1 ? Math.floor(left / 2) : Math.floor(left);
    const timeoutMs = Math.min(o.workerTimeoutMs, share);
    if (timeoutMs <= 0) continue;
    try {
      return { ...step, scores: await score(step.version, timeoutMs), errors };
    } catch (err) {
      if (o.signal?.aborted) throw err;
      errors.push(ConnectError.from(err));
    }
  }
  return { route: Route.RULES, errors };
}

/**
 * The error of a call that no model step answered, for a model without a rules baseline: the last step's code
 * (UNAVAILABLE when no worker could take it, DEADLINE_EXCEEDED when time ran out) and a message that says so.
 *
 * @example unanswered("late-payment", result.errors) // UNAVAILABLE: "no model of late-payment could answer ..."
 */
export function unanswered(model: string, errors: readonly ConnectError[]): ConnectError {
  const last = errors.at(-1);
  const why = last ? `${Code[last.code]}: ${last.rawMessage}` : "the deadline left no time for a model worker";
  return new ConnectError(
    `no model of ${model} could answer and it has no rules baseline to fall back on (${why})`,
    last?.code ?? Code.DeadlineExceeded,
    undefined,
    undefined,
    last,
  );
}
