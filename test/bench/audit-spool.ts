import { mkdtempSync, rmSync } from "node:fs";
import { generateKeyPairSync } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { Decision, Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { AuditTrail, type AuditRecordInit, Spool } from "../../services/lib/audit/index.js";

/**
 * What the audit trail costs the router's hot path: AuditTrail.record (build, serialize, hash-chain, frame with
 * CRC, one write(2) into the spool) for Route calls of 1 and of 64 rows, with records as the router makes them
 * (31-feature vector, 4 reasons, 3 segments), a real spool in a temporary folder, fdatasync every 50 ms. Reports
 * CPU (user + system) and wall time per call and per record, and the spool bytes per record.
 * Run: npm run build && node dist/test/bench/audit-spool.js [--calls N] (default 20000).
 */

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

function row(i: number): AuditRecordInit {
  return {
    requestId: `0f6c3a8e-5d2b-4c1e-9a7f-${String(i).padStart(12, "0")}`,
    tenantId: "dev",
    traceId: "0af7651916cd43dd8448eb211c80319c",
    decidedAt: { seconds: BigInt(Math.floor(Date.now() / 1000)), nanos: 0 },
    modelVersion: "3",
    featureSpecHash: "sha256:2533d9690b4cfd4e",
    segment: { age_band: "25-34", sex: "female", marriage: "married" },
    imputed: ["avg_utilization_6m"],
    vector: Array.from({ length: 31 }, (_, j) => Math.sin(i + j)),
    assignment: 1,
    entityId: "",
    degraded: false,
    openBreakers: [],
    route: Route.PRIMARY,
    score: 0.4123,
    thresholds: { review: 0.2853, decline: 0.6006 },
    decision: Decision.REVIEW,
    reasons: ["PAY_0", "worst_delay", "LIMIT_BAL", "months_delinquent"].map((f, k) => ({
      code: `R-${f}`,
      feature: f,
      contribution: 0.3 / (k + 1),
    })),
  };
}

function measure(rowsPerCall: number, calls: number): string {
  const dir = mkdtempSync(join(tmpdir(), "scoremesh-audit-bench-"));
  const log = pino({ level: "silent" });
  const spool = Spool.open({ dir, writer: "router-test", syncMs: 50, maxBytes: Number.MAX_SAFE_INTEGER, log });
  const trail = new AuditTrail(spool, {
    writer: "router-bench",
    key: generateKeyPairSync("ed25519").privateKey,
    checkpointMs: 5000,
    whenFull: "refuse",
    log,
  });
  const batches = Array.from({ length: 64 }, (_, b) =>
    Array.from({ length: rowsPerCall }, (_, i) => row(b * rowsPerCall + i)),
  );
  for (let i = 0; i < 2000; i++) trail.record("credit-default", batches[i % 64]!); // warm-up
  const bytes0 = spool.bytes;
  const cpu0 = cpuUs();
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) trail.record("credit-default", batches[i % 64]!);
  const wallUs = (performance.now() - t0) * 1000;
  const cpu = cpuUs() - cpu0;
  const recs = calls * rowsPerCall;
  const perRecordBytes = (spool.bytes - bytes0) / recs;
  trail.close();
  spool.close();
  rmSync(dir, { recursive: true, force: true });
  return (
    `${rowsPerCall} row(s)/call, ${calls} calls: CPU ${(cpu / calls).toFixed(1)} µs/call ` +
    `(${(cpu / recs).toFixed(2)} µs/record), wall ${(wallUs / calls).toFixed(1)} µs/call, ` +
    `${perRecordBytes.toFixed(0)} spool bytes/record`
  );
}

const at = process.argv.indexOf("--calls");
const calls = at > 0 ? Number(process.argv[at + 1]) : 20_000;
console.log(measure(1, calls));
console.log(measure(64, Math.max(100, Math.floor(calls / 64))));
