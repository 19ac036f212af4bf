import { readFileSync } from "node:fs";
import { creditRows } from "../support/credit-data.js";
import { startMeshFixture } from "../support/mesh-fixture.js";

/**
 * Server CPU per decision at a low rate, by process (user + system of every thread, /proc/<pid>/stat), net of what
 * each process spends idle: decisions are sent one at a time through the public edge (`ScoringService/Score`),
 * `gapMs` apart, after an idle phase of the same length that measures each process's background CPU (timers,
 * NATS heartbeats, scrapes) per second. The figure to compare before and after a change is "net µs/decision".
 * Run: npm run build && node dist/test/bench/decision-cpu.js [decisions=1000] [gapMs=5]
 */
const n = Number(process.argv[2] ?? 1000);
const gapMs = Number(process.argv[3] ?? 5);
const rows = creditRows(500);
const fx = await startMeshFixture({ LOG_LEVEL: "warn" });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const call = (i: number) =>
  fx.scoring.score({ requestId: `d${Date.now()}-${i}`, model: "credit-default", inputs: rows[i % rows.length]! });

const ticks = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * 10; // ms (USER_HZ = 100)
};
const pids: [string, number][] = [...fx.mesh.processes].map(([name, p]) => [name, p.pid!]);
const natsPid = fx.mesh.natsNodes[0]?.process.pid;
if (natsPid) pids.push(["nats-server", natsPid]);
const sample = () => new Map(pids.map(([name, pid]) => [name, ticks(pid)]));

for (let i = 0; i < 300; i++) await call(i);
await sleep(1000);
const idle0 = sample();
const t0 = performance.now();
let sent = 0;
const wall = async () => {
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    await call(i);
    sent++;
    if (gapMs > 0) await sleep(gapMs);
  }
  return performance.now() - t;
};
// Idle phase: as long as the busy phase will roughly take, measured first.
const idleMs = Math.max(5000, n * (gapMs + 3));
await sleep(idleMs);
const idle1 = sample();
const idleWall = performance.now() - t0;
const busyWall = await wall();
const busy1 = sample();
const la = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
console.log(`${sent} decisions one at a time, ${gapMs} ms apart, in ${busyWall.toFixed(0)} ms; load average ${la}`);
console.log("process        busy µs/decision  idle µs/s  net µs/decision");
let total = 0;
for (const [name] of pids) {
  const idlePerS = ((idle1.get(name)! - idle0.get(name)!) * 1000) / (idleWall / 1000);
  const busy = ((busy1.get(name)! - idle1.get(name)!) * 1000) / sent;
  const net = busy - (idlePerS * busyWall) / 1000 / sent;
  if (name !== "nats-server") total += net;
  console.log(
    `${name.padEnd(14)} ${busy.toFixed(0).padStart(16)} ${idlePerS.toFixed(0).padStart(10)} ${net.toFixed(0).padStart(16)}`,
  );
}
console.log(`services total net ${total.toFixed(0)} µs/decision (nats-server apart)`);
await fx.close();
process.exit(0);
