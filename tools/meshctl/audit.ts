import { fromBinary } from "@bufbuild/protobuf";
import { readFileSync } from "node:fs";
import { AuditRecordSchema, type AuditRecord } from "../../gen/scoremesh/audit/v1/audit_pb.js";
import { Decision, Route } from "../../gen/scoremesh/scoring/v1/scoring_pb.js";
import { ed25519PublicKey, FrameKind, hex, sha256, verifyTrail } from "../../services/lib/audit/index.js";
import { ConfigError } from "../../services/lib/service/index.js";
import { printResolution, resolutionJson, resolutionsOf } from "./audit-annotations.js";
import { auditExport, EXPORT_USAGE } from "./audit-export.js";
import { parseSince, readTrail } from "./audit-read.js";
import { auditRetain, RETAIN_USAGE } from "./audit-retain.js";
import { auditReplay, REPLAY_USAGE } from "./audit-replay.js";
import { withNats } from "./nats.js";
import { CliError, messageJson, printJson, type Output } from "./output.js";
import type { MeshTarget } from "./target.js";

/** The variable that names the public key checkpoints are verified with (PEM, SPKI). */
export const AUDIT_PUBLIC_KEY_FILE = "SCOREMESH_AUDIT_PUBLIC_KEY_FILE";

/** `meshctl audit show|verify ...`. */
export async function auditCommand(
  target: MeshTarget,
  rest: string[],
  values: { since?: string; limit?: string; until?: string; model?: string; tenant?: string; out?: string } & {
    keep?: string;
    "dry-run"?: boolean;
  },
  out: Output,
): Promise<void> {
  const [sub, ...args] = rest;
  if (sub === "export" && args.length === 0) return auditExport(target, values);
  if (sub === "retain" && args.length === 0) return auditRetain(target, publicKey(target), values, out);
  if (sub === "show" && args.length === 1) return show(target, args[0]!, out);
  if (sub === "verify" && args.length === 0) return verify(target, parseSince(values.since), out);
  if (sub === "replay") return auditReplay(target, args, values, out);
  throw new CliError(
    `usage: meshctl audit show <request-id> | meshctl audit verify [--since T]\n${REPLAY_USAGE}\n${EXPORT_USAGE}\n${RETAIN_USAGE}`,
    2,
  );
}

async function show(target: MeshTarget, requestId: string, out: Output): Promise<void> {
  const { entries } = await withNats(target, (nc) => readTrail(nc));
  const found: { at: number; hash: string; record: AuditRecord }[] = [];
  const needle = Buffer.from(requestId, "utf8");
  for (const e of entries) {
    // Decode only the records that hold the id's bytes.
    if (e.kind !== FrameKind.Record || Buffer.from(e.bytes).indexOf(needle) < 0) continue;
    const record = fromBinary(AuditRecordSchema, e.bytes);
    if (record.requestId === requestId) found.push({ at: e.at, hash: hex(sha256(e.bytes)), record });
  }
  if (found.length === 0) throw new CliError(`no audit record of request ${JSON.stringify(requestId)}`);
  const reviews = resolutionsOf(entries, requestId, target.trustedOperators());
  if (out.json)
    return printJson([
      ...found.map((f) => ({ streamSeq: f.at, hash: f.hash, record: messageJson(AuditRecordSchema, f.record) })),
      ...reviews.map(resolutionJson),
    ]);
  for (const f of found) printRecord(f.at, f.hash, f.record);
  for (const r of reviews) printResolution(r);
}

function printRecord(at: number, hash: string, r: AuditRecord): void {
  const when = r.decidedAt ? new Date(Number(r.decidedAt.seconds) * 1000 + r.decidedAt.nanos / 1e6).toISOString() : "?";
  const lines = [
    `request ${r.requestId}  tenant ${r.tenantId || "-"}  trace ${r.traceId}`,
    `  decided ${when}: ${Decision[r.decision]} score ${r.score.toFixed(6)} (review ≥ ${r.thresholds?.review}, decline ≥ ${r.thresholds?.decline})`,
    `  model ${r.model} v${r.modelVersion}  spec ${r.featureSpecHash}  route ${Route[r.route]}${r.degraded ? " degraded" : ""}`,
    `  reasons ${r.reasons.map((x) => x.code).join(",") || "-"}  imputed ${r.imputed.join(",") || "-"}  open breakers ${r.openBreakers.join(",") || "-"}`,
    `  segment ${JSON.stringify(r.segment)}  entity ${r.entityId || "-"}`,
    `  vector [${r.vector.map((v) => +v.toPrecision(6)).join(", ")}]`,
    `  chain ${r.model}/${r.link?.writer} seq ${r.link?.seq}  stream seq ${at}  hash ${hash}`,
  ];
  console.log(lines.join("\n"));
}

async function verify(target: MeshTarget, since: Date | undefined, out: Output): Promise<void> {
  const key = publicKey(target);
  const { entries, damaged, firstSeq = 1 } = await withNats(target, (nc) => readTrail(nc, since));
  // After a retention cut, chains start at their writer's oldest kept checkpoint.
  const report = verifyTrail(entries, key, { partial: since !== undefined, cut: firstSeq > 1 });
  report.problems.unshift(...damaged);
  if (out.json) printJson({ ok: report.problems.length === 0, ...report });
  else {
    console.log(
      `audit trail${since ? ` since ${since.toISOString()}` : firstSeq > 1 ? ` from stream seq ${firstSeq} (cut)` : ""}: ${report.records} records in ${report.chains} chains, ` +
        `${report.checkpoints} signed checkpoints; ${report.unsignedTail} records after their chain's last checkpoint`,
    );
    for (const p of report.problems)
      console.log(
        `  ${p.kind.toUpperCase()}: ${p.model ?? ""}${p.writer ? `/${p.writer}` : ""}${p.seq ? ` seq ${p.seq}` : ""}` +
          `${p.requestId ? ` request ${p.requestId}` : ""}${p.at ? ` (stream seq ${p.at} frame ${p.frame ?? 0})` : ""}: ${p.detail}`,
      );
    console.log(report.problems.length === 0 ? "verified: no record altered, removed or inserted" : "NOT VERIFIED");
  }
  if (report.problems.length > 0) process.exitCode = 1;
}

function publicKey(target: MeshTarget) {
  const file = target.auditPublicKeyFile();
  try {
    return ed25519PublicKey(readFileSync(file, "utf8"));
  } catch (err) {
    throw new CliError(
      new ConfigError(AUDIT_PUBLIC_KEY_FILE, `${file}: not an Ed25519 public key: ${(err as Error).message}`).message,
      2,
    );
  }
}
