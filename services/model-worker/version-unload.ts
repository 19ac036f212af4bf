import { Code, ConnectError } from "@connectrpc/connect";
import type { LoadedVersion } from "./loaded-version.js";

/** How a version is drained before its session is released. Every field has a default. */
export interface DrainOptions {
  /** The version is released only once no call arrived for this long (calls still on their way finish). Default 2000. */
  quietMs?: number;
  /** At most this long waiting for quiet; after it, the version stops taking calls and the ones in flight finish. Default 30000. */
  maxWaitMs?: number;
  /** How often the drain looks. Default 100. */
  pollMs?: number;
  /** Wall-clock ms (the clock of `stats.lastInferenceMs`). */
  now?: () => number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Unloads one version without failing a call: waits until no call is in flight and none arrived for `quietMs`
 * (at most `maxWaitMs`), then `remove()`s it from the table (from then on no call finds it), waits one poll
 * for calls that found it just before and then for every call in flight, closes its batcher and
 * releases its ONNX Runtime session. Resolves with how long it waited.
 */
export async function drainAndRelease(lv: LoadedVersion, remove: () => void, o: DrainOptions = {}): Promise<number> {
  const { quietMs = 2000, maxWaitMs = 30_000, pollMs = 100, now = Date.now } = o;
  const started = now();
  const busy = () => lv.inFlight > 0 || now() - lv.stats.lastInferenceMs < quietMs;
  while (busy() && now() - started < maxWaitMs) await sleep(pollMs);
  remove();
  // A call that resolved the version just before may not have started its inference yet: give it a tick.
  do await sleep(pollMs);
  while (lv.inFlight > 0);
  lv.ready = false;
  lv.batcher?.close(new ConnectError(`model ${lv.model} version ${lv.version} was unloaded`, Code.Unavailable));
  await lv.session.release();
  return now() - started;
}
