import { lookup } from "node:dns/promises";
import type { Logger } from "pino";

/** A worker to dial: its address, and the name its certificate carries when the address is a resolved IP. */
export interface WorkerTarget {
  address: string;
  serverName?: string;
}

/** Resolves a host name to its addresses (every A and AAAA record). */
export type Resolve = (host: string) => Promise<string[]>;

const systemResolve: Resolve = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

/** ROUTER_WORKER_ADDRS entries as targets now: host:port as is, dns:///host:port as one target per address. */
export async function resolveWorkers(entries: readonly string[], resolve: Resolve = systemResolve) {
  const out: WorkerTarget[] = [];
  for (const entry of entries) {
    const m = /^dns:\/\/\/(.+):(\d+)$/.exec(entry);
    if (!m) {
      out.push({ address: entry });
      continue;
    }
    const [, host, port] = m;
    for (const ip of [...new Set(await resolve(host!))].sort())
      out.push({ address: ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`, serverName: host });
  }
  return out;
}

/**
 * Keeps the router's set of model workers current when ROUTER_WORKER_ADDRS names them by DNS (a Kubernetes
 * headless Service: one address per ready pod): re-resolves every `intervalMs` and reports each change. Every
 * worker gets its own channel, health probe and breakers, as a listed one does, which a single balanced channel
 * would hide. A failed lookup keeps the last set: a DNS hiccup must not empty the pool.
 */
export class WorkerDiscovery {
  private timer?: NodeJS.Timeout;
  private last = "";

  constructor(
    private readonly entries: readonly string[],
    private readonly onChange: (targets: WorkerTarget[]) => void,
    private readonly opts: { intervalMs: number; resolve?: Resolve; log?: Logger },
  ) {}

  /** True when some entry is a DNS name to follow. */
  static needed(entries: readonly string[]): boolean {
    return entries.some((e) => e.startsWith("dns:///"));
  }

  /**
   * Resolves once (the first set; empty when the name does not resolve yet, e.g. no worker pod is ready), then
   * keeps following.
   */
  async start(): Promise<WorkerTarget[]> {
    let first: WorkerTarget[] = [];
    try {
      first = await resolveWorkers(this.entries, this.opts.resolve);
    } catch (err) {
      this.opts.log?.warn({ err }, "the model workers' name does not resolve yet: retrying");
    }
    this.last = JSON.stringify(first);
    this.schedule();
    return first;
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.refresh(), this.opts.intervalMs);
    this.timer.unref();
  }

  private async refresh(): Promise<void> {
    try {
      const targets = await resolveWorkers(this.entries, this.opts.resolve);
      const key = JSON.stringify(targets);
      if (key !== this.last && targets.length > 0) {
        this.last = key;
        this.opts.log?.info({ workers: targets.map((t) => t.address) }, "model workers changed (DNS)");
        this.onChange(targets);
      }
    } catch (err) {
      this.opts.log?.warn({ err }, "resolving the model workers failed: kept the last set");
    } finally {
      if (this.timer) this.schedule();
    }
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
