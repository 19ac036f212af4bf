export interface RestartBackoffOptions {
  /** Wait before the first restart, ms. */
  initialMs?: number;
  /** The wait doubles on each crash up to this, ms. */
  maxMs?: number;
  /** A process that ran this long before it crashed is restarted after `initialMs` again, ms. */
  resetAfterMs?: number;
}

/**
 * How long to wait before restarting a crashed process: 0.5 s, doubling up to 10 s while it keeps crashing soon
 * after each start, back to 0.5 s once it has run for a while (30 s). Pure: the caller says how long it ran.
 *
 * @example
 *   const backoff = new RestartBackoff();
 *   setTimeout(restart, backoff.next(upForMs));
 */
export class RestartBackoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly resetAfterMs: number;
  private last = 0;

  constructor({ initialMs = 500, maxMs = 10_000, resetAfterMs = 30_000 }: RestartBackoffOptions = {}) {
    this.initialMs = initialMs;
    this.maxMs = maxMs;
    this.resetAfterMs = resetAfterMs;
  }

  /** The wait before the next restart of a process that ran `upForMs` before it crashed. */
  next(upForMs: number): number {
    this.last = this.last === 0 || upForMs >= this.resetAfterMs ? this.initialMs : Math.min(this.maxMs, this.last * 2);
    return this.last;
  }
}
