import { CpuWindow, waitForQuiet } from "./machine.js";
import { median, openLoop, quantile } from "./open-loop.js";

/** The latency bound of the throughput figure. */
export const P99_TARGET_MS = 50;

/** One open-loop step at a fixed Poisson rate. */
export interface Step {
  rate: number;
  achievedPerSec: number;
  p50Ms: number;
  p99Ms: number;
  failed: number;
  /** Server CPU per answered decision, µs: every server process (nats-server included), and by process. */
  serverCpuUs: number;
  cpuUsByProcess: Record<string, number>;
  otherCores: number | null;
}

/** Within the latency bound: p99 ≤ 50 ms, nothing failed or dropped. */
export const withinBound = (s: Step) => s.p99Ms <= P99_TARGET_MS && s.failed === 0;
/** Kept up with the offered rate: ≥ 95 % answered in time to count, nothing failed, p99 under a second. */
export const sustained = (s: Step) => s.achievedPerSec >= 0.95 * s.rate && s.failed === 0 && s.p99Ms <= 1000;

export interface SearchOptions {
  seconds: number;
  ladder: number[];
  /** Bisection steps between the last rate within the bound and the first one past it. */
  refine: number;
  log: (s: string) => void;
}

/** Measures one step: `rate` Poisson arrivals for `seconds`, CPU of `pids` (name → pid) over it. */
export async function step(
  send: (i: number) => Promise<unknown>,
  pids: Map<string, number>,
  rate: number,
  seconds: number,
): Promise<Step> {
  await waitForQuiet(2000);
  const cpu = new CpuWindow(pids);
  const r = await openLoop(send, rate, seconds, "poisson");
  const c = cpu.close();
  const done = Math.max(1, r.lat.length);
  const cpuUsByProcess = Object.fromEntries(Object.entries(c.byProcess).map(([k, ms]) => [k, (ms * 1000) / done]));
  return {
    rate,
    achievedPerSec: r.lat.length / r.elapsed,
    p50Ms: quantile(r.lat, 0.5),
    p99Ms: quantile(r.lat, 0.99),
    failed: r.errors + r.dropped,
    serverCpuUs: Object.values(cpuUsByProcess).reduce((a, b) => a + b, 0),
    cpuUsByProcess,
    otherCores: c.otherCores,
  };
}

export interface SearchResult {
  steps: Step[];
  /** The highest rate within the bound below the first rate past it (after bisection). */
  withinP99: number;
  /** The highest ladder rate kept up with before the first that was not. */
  sustainedMax: number;
}

/**
 * Climbs the ladder until the system no longer keeps up (so that every sustained ladder rate has its CPU
 * figure), then bisects between the last rate within p99 ≤ 50 ms and the first past it.
 */
export async function search(
  label: string,
  send: (i: number) => Promise<unknown>,
  pids: Map<string, number>,
  o: SearchOptions,
): Promise<SearchResult> {
  const steps: Step[] = [];
  const run = async (rate: number) => {
    const s = await step(send, pids, rate, o.seconds);
    steps.push(s);
    o.log(
      `    ${label} ${rate}/s: ${s.achievedPerSec.toFixed(0)}/s, p50 ${s.p50Ms.toFixed(1)} ms, p99 ${s.p99Ms.toFixed(1)} ms, failed ${s.failed}, server CPU ${s.serverCpuUs.toFixed(0)} µs/decision (other cores ${s.otherCores?.toFixed(2) ?? "?"})`,
    );
    return s;
  };
  let lo = 0;
  let hi = Infinity;
  let sustainedMax = 0;
  for (const rate of o.ladder) {
    const s = await run(rate);
    if (withinBound(s) && hi === Infinity) lo = rate;
    else if (hi === Infinity) hi = rate;
    if (!sustained(s)) break;
    sustainedMax = rate;
  }
  for (let i = 0; i < o.refine && hi !== Infinity && hi - lo > 20; i++) {
    const mid = Math.round((lo + hi) / 20) * 10;
    if (withinBound(await run(mid))) lo = mid;
    else hi = mid;
  }
  return { steps, withinP99: lo, sustainedMax };
}

/** Server CPU per decision at `rate` in each search that measured it: the median. */
export function cpuAt(
  results: SearchResult[],
  rate: number,
): { serverCpuUs: number; byProcess: Record<string, number> } {
  const at = results.flatMap((r) => r.steps.filter((s) => s.rate === rate));
  const names = [...new Set(at.flatMap((s) => Object.keys(s.cpuUsByProcess)))];
  return {
    serverCpuUs: median(at.map((s) => s.serverCpuUs)),
    byProcess: Object.fromEntries(names.map((n) => [n, median(at.map((s) => s.cpuUsByProcess[n] ?? NaN))])),
  };
}
