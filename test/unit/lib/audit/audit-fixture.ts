import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino, type Logger } from "pino";
import { Decision, Route } from "../../../../gen/scoremesh/scoring/v1/scoring_pb.js";
import {
  decodeFrames,
  type TrailEntry,
  AuditTrail,
  type AuditRecordInit,
  Spool,
} from "../../../../services/lib/audit/index.js";

/** A log that keeps its lines (objects with `msg`) for assertions. */
export function memoryLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: "debug" },
    { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  return { log, lines };
}

export function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), "scoremesh-audit-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const keys = generateKeyPairSync("ed25519");

/** A record as the router makes one (request id `r-<n>`). */
export function record(n: number): AuditRecordInit {
  return {
    requestId: `r-${n}`,
    tenantId: "t1",
    traceId: "0af7651916cd43dd8448eb211c80319c",
    modelVersion: "3",
    featureSpecHash: "sha256:abc",
    vector: [0.5, -1.25, n],
    segment: { age_band: "25-34" },
    assignment: 1,
    entityId: "",
    imputed: [],
    route: Route.PRIMARY,
    degraded: false,
    openBreakers: [],
    reasons: [],
    score: 0.1 + n / 1000,
    thresholds: { review: 0.3, decline: 0.6 },
    decision: Decision.APPROVE,
  };
}

/** A spool and a trail in `dir`; checkpoints only when `checkpoint()` is called (the timer is hours away). */
export function openTrail(
  dir: string,
  log: Logger,
  opts: { maxBytes?: number; whenFull?: "refuse" | "serve"; key?: KeyObject } = {},
) {
  const writer = `router-test-${Math.random().toString(36).slice(2, 8)}`;
  const spool = Spool.open({ dir, writer, syncMs: 10, maxBytes: opts.maxBytes ?? 1 << 30, log });
  const trail = new AuditTrail(spool, {
    writer,
    key: opts.key ?? keys.privateKey,
    checkpointMs: 3_600_000,
    whenFull: opts.whenFull ?? "refuse",
    log,
  });
  return { spool, trail };
}

/** Every frame in the spool folder's segments, oldest first, as the stream would hold them. */
export function spooled(dir: string): TrailEntry[] {
  const entries: TrailEntry[] = [];
  for (const f of readdirSync(dir)
    .filter((x) => x.endsWith(".wal"))
    .sort()) {
    for (const fr of decodeFrames(readFileSync(join(dir, f))).frames)
      entries.push({ at: entries.length + 1, kind: fr.kind, bytes: fr.payload });
  }
  return entries;
}
