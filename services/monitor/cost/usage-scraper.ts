import type { Usage } from "./apportion.js";
import { parsePromText, type PromSample } from "./prom-text.js";

const CPU = "process_cpu_seconds_total";
/** The monitor's own default metrics carry its prefix and no `service` label. */
const MONITOR_CPU = "scoremesh_monitor_process_cpu_seconds_total";
const EXECUTION = "scoremesh_worker_execution_seconds_total";
const DECISIONS = "scoremesh_decisions_total";
const NAMES = new Set([CPU, MONITOR_CPU, EXECUTION, DECISIONS]);

/** Fetches one /metrics page; throws on failure. */
export type FetchText = (url: string) => Promise<string>;

const fetchText: FetchText = async (url) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.text();
};

interface Series {
  target: string;
  sample: PromSample;
  last: number;
  /** Increase since the first scrape of its target (counter resets counted from zero). */
  growth: number;
}

/**
 * The services' cumulative counters (CPU, worker execution time, decisions) scraped from their /metrics pages,
 * turned into increases since the monitor's first scrape of each target: a restarted process (a counter that went
 * down) counts from zero again, and a series that appears after a target's first scrape counts from zero.
 */
export class UsageScraper {
  private readonly series = new Map<string, Series>();
  private readonly seen = new Set<string>();
  readonly unreachable = new Set<string>();
  private firstAt?: number;
  private lastAt?: number;

  constructor(
    readonly targets: readonly string[],
    private readonly fetch: FetchText = fetchText,
    private readonly now: () => number = Date.now,
  ) {}

  private running?: Promise<void>;

  /** Scrapes every target once (a scrape still running is joined, not doubled). */
  scrape(): Promise<void> {
    this.running ??= Promise.all(this.targets.map((t) => this.scrapeOne(t))).then(() => {
      this.firstAt ??= this.now();
      this.lastAt = this.now();
      this.running = undefined;
    });
    return this.running;
  }

  private async scrapeOne(target: string): Promise<void> {
    let samples: PromSample[];
    try {
      samples = parsePromText(await this.fetch(target), NAMES);
    } catch {
      this.unreachable.add(target);
      return;
    }
    this.unreachable.delete(target);
    const known = this.seen.has(target);
    for (const sample of samples) {
      const key = `${target}\u0000${sample.name}\u0000${JSON.stringify(sample.labels)}`;
      const s = this.series.get(key);
      if (!s) this.series.set(key, { target, sample, last: sample.value, growth: known ? sample.value : 0 });
      else {
        s.growth += sample.value >= s.last ? sample.value - s.last : sample.value;
        s.last = sample.value;
      }
    }
    this.seen.add(target);
  }

  /** The increases since the first scrape, summed per service, per version and provider, per version and route. */
  usage(): Usage {
    const cpu = new Map<string, { seconds: number; instances: number }>();
    const targets = new Map<string, Set<string>>();
    const execution = new Map<string, Usage["execution"][number]>();
    const decisions = new Map<string, Usage["decisions"][number]>();
    for (const { target, sample: s, growth } of this.series.values()) {
      if (s.name === CPU || s.name === MONITOR_CPU) {
        const service = s.name === MONITOR_CPU ? "monitor" : (s.labels["service"] ?? "unknown");
        const c = cpu.get(service) ?? { seconds: 0, instances: 0 };
        cpu.set(service, { ...c, seconds: c.seconds + growth });
        targets.set(service, (targets.get(service) ?? new Set()).add(target));
      } else if (s.name === EXECUTION) {
        const e = {
          model: s.labels["model"] ?? "",
          version: s.labels["version"] ?? "",
          provider: s.labels["provider"] ?? "",
        };
        const k = JSON.stringify(e);
        execution.set(k, { ...e, seconds: (execution.get(k)?.seconds ?? 0) + growth });
      } else {
        const d = {
          model: s.labels["model"] ?? "",
          version: s.labels["version"] ?? "",
          route: s.labels["route"] ?? "",
        };
        const k = JSON.stringify(d);
        decisions.set(k, { ...d, count: (decisions.get(k)?.count ?? 0) + growth });
      }
    }
    for (const [service, set] of targets) cpu.get(service)!.instances = set.size;
    const periodSeconds = this.firstAt === undefined ? 0 : (this.lastAt! - this.firstAt) / 1000;
    return { periodSeconds, cpu, execution: [...execution.values()], decisions: [...decisions.values()] };
  }

  /** Scrapes now and every `intervalMs` until closed. */
  start(intervalMs: number): { close(): void } {
    void this.scrape();
    const timer = setInterval(() => void this.scrape(), intervalMs);
    timer.unref();
    return { close: () => clearInterval(timer) };
  }
}
