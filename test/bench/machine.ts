import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU accounting for benches on a shared machine (Linux /proc; USER_HZ = 100). The same method as
 * rpc-libs.ts: wait until the machine is quiet before a phase, and record how much CPU the rest of the
 * machine used during it ("other cores"), so that a disturbed figure can be told apart.
 */

/** Busy CPU time of the whole machine since boot, in ms; null where /proc/stat cannot be read. */
export function machineBusyMs(): number | null {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return ((f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0)) * 10;
  } catch {
    return null;
  }
}

/** CPU time (user + system, all threads) of one process, in ms; 0 when it is gone. */
export function processCpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}

/**
 * Time the process's main thread (the event loop) spent runnable but waiting for a core, in ms
 * (/proc/<pid>/schedstat, second field); 0 where it cannot be read.
 */
export function runQueueWaitMs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[1]) / 1e6;
  } catch {
    return 0;
  }
}

/** This process and all its descendants. */
export function processTree(root = process.pid): number[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) {
    const pid = out[i]!;
    try {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const kids = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
        if (kids) for (const k of kids.split(/\s+/)) out.push(Number(k));
      }
    } catch {
      // gone
    }
  }
  return out;
}

/** The machine's busy cores over `ms` milliseconds (null where /proc/stat cannot be read). */
export async function sampleLoad(ms: number): Promise<number | null> {
  const a = machineBusyMs();
  await new Promise((r) => setTimeout(r, ms));
  const b = machineBusyMs();
  return a === null || b === null ? null : (b - a) / ms;
}

/**
 * Waits until the rest of the machine is quiet: under `threshold` cores busy over 300 ms besides `ownLoad`
 * (what our own idle processes use), for at most `maxMs`. Returns how long it waited and the last load.
 */
export async function waitForQuiet(
  maxMs = 5000,
  threshold = 0.15,
  ownLoad = 0,
): Promise<{ waitedMs: number; load: number | null }> {
  const t0 = Date.now();
  for (;;) {
    const load = await sampleLoad(300);
    const waitedMs = Date.now() - t0;
    if (load === null || load - ownLoad < threshold || waitedMs >= maxMs) return { waitedMs, load };
  }
}

/** Measures CPU over a phase: ours by process and the rest of the machine's. */
export class CpuWindow {
  private readonly machine0 = machineBusyMs();
  private readonly t0 = performance.now();
  private readonly ours0: Map<number, number>;
  private readonly wait0: Map<number, number>;
  constructor(private readonly pids: Map<string, number>) {
    this.ours0 = new Map([...pids.values(), ...processTree()].map((p) => [p, processCpuMs(p)]));
    this.wait0 = new Map([...pids.values()].map((p) => [p, runQueueWaitMs(p)]));
  }

  /** CPU ms by named process, the ms their event loops waited for a core, and `otherCores`: cores the rest of the machine used on average. */
  close(): {
    byProcess: Record<string, number>;
    runQueueWaitMs: Record<string, number>;
    oursMs: number;
    otherCores: number | null;
    seconds: number;
  } {
    const seconds = (performance.now() - this.t0) / 1000;
    const byProcess: Record<string, number> = {};
    const runQueueWait: Record<string, number> = {};
    for (const [name, pid] of this.pids) {
      byProcess[name] = processCpuMs(pid) - (this.ours0.get(pid) ?? 0);
      runQueueWait[name] = runQueueWaitMs(pid) - (this.wait0.get(pid) ?? 0);
    }
    let oursMs = 0;
    for (const pid of new Set([...this.ours0.keys(), ...processTree()]))
      oursMs += processCpuMs(pid) - (this.ours0.get(pid) ?? 0);
    const m1 = machineBusyMs();
    const otherCores =
      this.machine0 === null || m1 === null ? null : Math.max(0, m1 - this.machine0 - oursMs) / (seconds * 1000);
    return { byProcess, runQueueWaitMs: runQueueWait, oursMs, otherCores, seconds };
  }
}

/** CPU time (user + system) of a process's main thread and of all its other threads together, in ms. */
export function threadCpuMs(pid: number): { main: number; others: number } {
  const out = { main: 0, others: 0 };
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8").split(") ")[1]!.split(" ");
      const ms = (Number(f[11]) + Number(f[12])) * 10;
      if (Number(tid) === pid) out.main += ms;
      else out.others += ms;
    }
  } catch {
    // gone
  }
  return out;
}
