import type { ChildProcess } from "node:child_process";
import { appendFileSync } from "node:fs";
import { NotServingError } from "./readiness.js";
import { RestartBackoff, type RestartBackoffOptions } from "./restart-backoff.js";

export interface SupervisorOptions {
  /** Where restarts are reported (the launcher prints them); each line also goes to the instance's own log. */
  report(line: string): void;
  backoff?: RestartBackoffOptions;
}

/**
 * Restarts the mesh's service processes that crash, with backoff, and says so. A process that exits 0 (it was
 * stopped with SIGTERM) or 2 (a configuration error, which a restart cannot fix) stays down.
 */
export class Supervisor {
  private readonly backoff = new Map<string, RestartBackoff>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly opts: SupervisorOptions,
    /** Starts the instance again and resolves once it is SERVING. */
    private readonly restart: (instance: string) => Promise<void>,
    private readonly logFileOf: (instance: string) => string,
  ) {}

  /** Watches one started process of `instance`. */
  watch(instance: string, child: ChildProcess): void {
    const startedAt = performance.now();
    child.once("exit", (code, signal) => {
      if (!this.stopped) this.exited(instance, code, signal, performance.now() - startedAt);
    });
  }

  /** No more restarts (the mesh is stopping). */
  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private exited(instance: string, code: number | null, signal: NodeJS.Signals | null, upMs: number): void {
    const how = `${instance} exited (${signal ?? `code ${code}`}) after ${(upMs / 1000).toFixed(1)} s`;
    if (code === 0 || code === 2) {
      this.say(
        instance,
        `${how}; not restarted (${code === 0 ? "it was stopped" : "configuration error"}): see ${this.logFileOf(instance)}`,
      );
      return;
    }
    let backoff = this.backoff.get(instance);
    if (!backoff) this.backoff.set(instance, (backoff = new RestartBackoff(this.opts.backoff)));
    const delayMs = backoff.next(upMs);
    this.say(instance, `${how}; restarting it in ${(delayMs / 1000).toFixed(1)} s`);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.stopped) return;
      const t0 = performance.now();
      this.restart(instance).then(
        () =>
          this.say(instance, `${instance} restarted: SERVING after ${((performance.now() - t0) / 1000).toFixed(1)} s`),
        // An exit is reported (and restarted) by watch; a process that runs on without SERVING is reported here.
        (err: Error) => {
          if (!(err instanceof NotServingError && err.exited))
            this.say(instance, `${instance} restart did not reach SERVING: ${err.message}`);
        },
      );
    }, delayMs);
    this.timers.add(timer);
  }

  private say(instance: string, line: string): void {
    this.opts.report(line);
    try {
      appendFileSync(this.logFileOf(instance), `[launcher] ${new Date().toISOString()} ${line}\n`);
    } catch {
      // The instance's log is best effort; the report above is what counts.
    }
  }
}
