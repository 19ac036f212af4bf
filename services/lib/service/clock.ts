/**
 * Time and timers, injectable: every timed module (batchers, breakers, retry budgets, the cascade, the entity
 * store) takes a `Clock` so that a unit test drives it with a fake one (test/support/fake-clock.ts). Times are
 * milliseconds: on a monotonic clock (`systemClock`) for durations and deadlines, since the epoch (`wallClock`)
 * where they are compared with dates written down.
 */
export interface Clock {
  now(): number;
  /** Calls `fn` once after `ms` (0: after the I/O callbacks already queued); returns a cancel function. */
  schedule(fn: () => void, ms: number): () => void;
}

/** `performance.now()`, `setTimeout`, and `setImmediate` for 0 ms (so that one I/O tick's requests batch together). */
export const systemClock: Clock = {
  now: () => performance.now(),
  schedule(fn, ms) {
    if (ms <= 0) {
      const h = setImmediate(fn);
      return () => clearImmediate(h);
    }
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/** `Date.now()`, milliseconds since the epoch, with `systemClock`'s timers. */
export const wallClock: Clock = { now: () => Date.now(), schedule: (fn, ms) => systemClock.schedule(fn, ms) };
