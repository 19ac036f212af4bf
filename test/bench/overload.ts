import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { creditRows } from "../support/credit-data.js";
import { startMeshFixture, sleep } from "../support/mesh-fixture.js";
import { closedLoop, HttpLoad, quantile, round, type CallOutcome } from "./http-load.js";

/**
 * Overload at the edge (issue 10 item 7), measured the way it was found: HTTP JSON calls to the validator of a
 * real mesh on this machine (loopback only), the load generator on the same cores. First the closed-loop
 * capacity, then `factor` × that offered open loop (arrivals on a fixed schedule, whatever the answers) for
 * `seconds`: goodput (calls answered OK within their deadline, per second), the admitted calls' p99 against
 * their deadline, how fast refusals come, hung (no answer in 10 s) and reset connections, the validator's RSS
 * before and after, and a closed loop right after the overload (normal service?). Bounded: at most
 * factor × capacity × seconds calls (capped at 100,000) and ~45 s.
 * Run: npm run build && node dist/test/bench/overload.js [factor=3] [seconds=15]
 */
const DEADLINE_MS = 2000;
const MAX_CALLS = 100_000;
/** Connections the client may open: enough that no call waits in the client for one (as when it was found). */
const SOCKETS = 4096;

function rssMb(pid: number | undefined): number {
  const m = /VmRSS:\s+(\d+)/.exec(pid ? readFileSync(`/proc/${pid}/status`, "utf8") : "");
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** Fires `rate` calls per second for `seconds` (in 10 ms ticks), whatever the answers; every outcome kept. */
async function openLoop(load: HttpLoad, bodies: string[], rate: number, seconds: number) {
  const total = Math.min(MAX_CALLS, Math.round(rate * seconds));
  const calls: Promise<CallOutcome>[] = [];
  const t0 = performance.now();
  while (calls.length < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate));
    while (calls.length < due) calls.push(load.call(bodies[calls.length % bodies.length]!));
    await sleep(10);
  }
  const sent = (performance.now() - t0) / 1000;
  const outcomes = await Promise.all(calls);
  return { total, offeredRps: Math.round(total / sent), outcomes, seconds: sent };
}

function summarize(run: Awaited<ReturnType<typeof openLoop>>) {
  const ok = run.outcomes.filter((o) => o.status === 200);
  const okMs = ok.map((o) => o.ms).sort((a, b) => a - b);
  const refused = run.outcomes.filter((o) => o.status === 429 || o.status === 503);
  const refusedMs = refused.map((o) => o.ms).sort((a, b) => a - b);
  const byStatus = new Map<string, number>();
  for (const o of run.outcomes) {
    const k = o.failure ?? String(o.status);
    byStatus.set(k, (byStatus.get(k) ?? 0) + 1);
  }
  return {
    offered: run.total,
    offeredRps: run.offeredRps,
    goodputRps: Math.round(ok.filter((o) => o.ms <= DEADLINE_MS).length / run.seconds),
    admittedP50Ms: round(quantile(okMs, 0.5)),
    admittedP99Ms: round(quantile(okMs, 0.99)),
    admittedOverDeadline: ok.filter((o) => o.ms > DEADLINE_MS).length,
    refusals: refused.length,
    refusalP50Ms: round(quantile(refusedMs, 0.5)),
    refusalP99Ms: round(quantile(refusedMs, 0.99)),
    refusalMaxMs: round(refusedMs.at(-1) ?? 0),
    // The same from when the request went out on a connection: the client's own wait for a pooled one left out.
    refusalWireP99Ms: round(
      quantile(
        refused.map((o) => o.wireMs).sort((a, b) => a - b),
        0.99,
      ),
    ),
    retryAfter: [...new Set(refused.map((o) => o.retryAfter ?? "none"))].slice(0, 3),
    hung: byStatus.get("hung") ?? 0,
    reset: byStatus.get("reset") ?? 0,
    outcomes: Object.fromEntries(byStatus),
  };
}

async function main(): Promise<void> {
  const factor = Number(process.argv[2] ?? 3);
  const seconds = Number(process.argv[3] ?? 15);
  const bodies = creditRows(500).map((inputs) => JSON.stringify({ model: "credit-default", inputs }));
  const fx = await startMeshFixture({ LOG_LEVEL: "warn" });
  const load = new HttpLoad({
    base: fx.httpBase,
    deadlineMs: DEADLINE_MS,
    giveUpMs: 10_000,
    sockets: SOCKETS,
    apiKey: fx.apiKey,
  });
  const pid = fx.mesh.processes.get("validator")?.pid;
  try {
    await closedLoop(load, bodies, 8, 2); // warm-up
    // Capacity: the better of a moderate and a large closed loop (batching needs concurrency to reach it).
    const loops = [await closedLoop(load, bodies, 32, 5), await closedLoop(load, bodies, 256, 5)];
    const capacity = loops[0]!.rps >= loops[1]!.rps ? loops[0]! : loops[1]!;
    const rssBefore = rssMb(pid);
    const loadBefore = loadavg().map((x) => round(x, 2));
    const overload = summarize(await openLoop(load, bodies, factor * capacity.rps, seconds));
    const rssAfter = rssMb(pid);
    const after = await closedLoop(load, bodies, 32, 3);
    const report = {
      capacity,
      factor,
      overload: { ...overload, goodputOfCapacity: round(overload.goodputRps / capacity.rps, 2) },
      validatorRssMb: { before: rssBefore, after: rssAfter },
      after,
      loadavg: { before: loadBefore, after: loadavg().map((x) => round(x, 2)) },
    };
    console.log(JSON.stringify(report, null, 2));
  } finally {
    load.close();
    await fx.close();
  }
}

await main();
