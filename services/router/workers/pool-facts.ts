import type { Logger } from "pino";
import { LABEL_EXTENSION } from "../../lib/nats/index.js";
import type { PoolFacts } from "./pool-routing.js";
import type { WorkerEndpoint } from "./worker-pool.js";

/** What the facts need of the router: its workers now, and the pooled versions. */
export interface PoolFactsSource {
  endpoints: () => readonly WorkerEndpoint[];
  pooled: () => readonly { model: string; version: string; label: string }[];
}

/**
 * The labels of the router's workers (their ServerMetadata extensions "worker_label:…") and whether those
 * carrying a pooled version's label have it ready (ModelReady), asked every `intervalMs` while any pool rule is
 * set (and at once by `refresh()` when the rules change). A worker that does not answer keeps its last labels
 * and counts as not ready. Nothing on the hot path: `fits` reads what the last refresh found.
 */
export class WorkerPoolFacts implements PoolFacts {
  private labels = new Map<string, readonly string[]>();
  private ready = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly source: PoolFactsSource,
    private readonly opts: { intervalMs?: number; timeoutMs?: number; log?: Logger } = {},
  ) {}

  start(): this {
    this.timer = setInterval(() => void this.refresh(), this.opts.intervalMs ?? 2000);
    this.timer.unref();
    return this;
  }

  fits(address: string, label: string, model: string, version: string): boolean {
    return (this.labels.get(address)?.includes(label) ?? false) && this.ready.has(readyKey(address, model, version));
  }

  /** The labels each worker reported last. */
  labelsOf(address: string): readonly string[] {
    return this.labels.get(address) ?? [];
  }

  /** Asks every worker again (once at a time; a call during one waits for it). Never rejects. */
  refresh(): Promise<void> {
    if (this.source.pooled().length === 0) return Promise.resolve();
    this.running ??= this.ask().finally(() => (this.running = undefined));
    return this.running;
  }

  private async ask(): Promise<void> {
    const timeoutMs = this.opts.timeoutMs ?? 1000;
    const pooled = this.source.pooled();
    const labels = new Map(this.labels);
    const ready = new Set<string>();
    await Promise.all(
      this.source.endpoints().map(async (ep) => {
        try {
          const meta = await ep.client.serverMetadata({}, { timeoutMs });
          labels.set(ep.address, labelsIn(meta.extensions));
        } catch (err) {
          this.opts.log?.debug({ err, worker: ep.address }, "worker metadata unavailable: kept its last labels");
        }
        const mine = pooled.filter((p) => labels.get(ep.address)?.includes(p.label));
        for (const p of mine) {
          const ok = await ep.client.modelReady({ name: p.model, version: p.version }, { timeoutMs }).then(
            (r) => r.ready,
            () => false,
          );
          if (ok) ready.add(readyKey(ep.address, p.model, p.version));
        }
      }),
    );
    this.labels = labels;
    this.ready = ready;
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/** The labels in a worker's ServerMetadata extensions. */
export function labelsIn(extensions: readonly string[]): string[] {
  return extensions.filter((e) => e.startsWith(LABEL_EXTENSION)).map((e) => e.slice(LABEL_EXTENSION.length));
}

const readyKey = (address: string, model: string, version: string) => `${address}|${model}/${version}`;
